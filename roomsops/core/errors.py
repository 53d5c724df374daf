"""The one exception tree of roomsops; each class carries its exit code.

Adapters translate third-party errors (msal error dicts, exchangelib, pypsrp) into
these, with the remedy in the message, so the CLI renders every failure the same way.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes: the same meaning for every command (README's table)."""

    OK = 0
    FAILED = 1  # the command ran, but something failed or did not match
    BAD_INPUT = 2  # usage error or invalid input/configuration; nothing was changed
    CONNECT = 3  # could not connect or authenticate before doing any work


class RoomsopsError(Exception):
    """Root of roomsops' errors: a one-line message, an optional remedy, an exit code."""

    exit_code: ExitCode = ExitCode.FAILED
    code: str = "failed"

    def __init__(self, message: str, remedy: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy
        if code is not None:
            self.code = code

    def one_line(self) -> str:
        """The message and the remedy on one line, as shown after ``Error: ``."""
        text = " ".join(self.message.split())
        if self.remedy:
            text = f"{text} — {' '.join(self.remedy.split())}"
        return text

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "remedy": self.remedy}


class InputError(RoomsopsError):
    """Bad input or configuration; nothing was changed (exit 2)."""

    exit_code = ExitCode.BAD_INPUT
    code = "bad_input"


class ConfirmationRequired(InputError):
    """A destructive action needs confirmation, and there is no terminal to ask on (exit 2)."""

    code = "confirmation_required"


class ConnectError(RoomsopsError):
    """Could not connect or authenticate before doing any work (exit 3)."""

    exit_code = ExitCode.CONNECT
    code = "connect_failed"


class AuthError(ConnectError):
    """The identity platform refused to issue a token (exit 3)."""

    code = "auth_failed"


class OperationFailed(RoomsopsError):
    """The command ran but something failed or did not match (exit 1)."""

    exit_code = ExitCode.FAILED
    code = "failed"


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager or scheduler stopping roomsops), raised where the program is, like Ctrl-C: every
    `finally` and Ctrl-C handler on the way runs; the command exits 143 (128 + SIGTERM), not Ctrl-C's 130."""
