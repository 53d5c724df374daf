"""What a failed cmdlet leaves behind: one record per PowerShell error, and the error that carries them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from roomsops.core.errors import OperationFailed

NOT_FOUND = ("ManagementObjectNotFoundException", "couldn't be found", "Couldn't find")


@dataclass(frozen=True)
class CmdletFailure:
    """One error a cmdlet reported: which cmdlet, its message, and PowerShell's FullyQualifiedErrorId."""

    cmdlet: str
    message: str
    error_id: str
    target: str | None = None
    category: str | None = None

    def matches(self, *fragments: str) -> bool:
        text = f"{self.error_id} {self.message}"
        return any(fragment in text for fragment in fragments)

    @property
    def not_found(self) -> bool:
        return self.matches(*NOT_FOUND)

    @property
    def already_member(self) -> bool:
        return self.matches("MemberAlreadyExists", "already a member")


class CmdletError(OperationFailed):
    """A cmdlet failed (exit 1); `failures` keeps every error record of the pipeline."""

    code = "cmdlet_failed"

    def __init__(self, failures: Sequence[CmdletFailure], remedy: str | None = None) -> None:
        first = failures[0]
        super().__init__(f"{first.cmdlet} failed: {first.message} ({first.error_id})", remedy)
        self.failures = tuple(failures)


def raise_unexpected(failures: Sequence[CmdletFailure], expected: Sequence[str] = NOT_FOUND) -> None:
    """Failures other than the expected kinds (e.g. not found) mean the run cannot go on."""
    unexpected = [f for f in failures if not f.matches(*expected)]
    if unexpected:
        raise CmdletError(unexpected)
