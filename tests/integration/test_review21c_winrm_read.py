"""review21c: read-only commands that reach Exchange over WinRM, dropped after connecting (issue 21.7): they
change nothing, so a drop is "could not connect" (exit 3), never "the steps before it were done" (exit 1).
Round 2 (0f07298) fixed `policy list`, `policy list --engine rbac` and `ews status`; `rooms check` (without
--fix, or with --fix --dry-run) and `doctor` were left: they say "the steps before it were done ... (it keeps what
is already in place)" and exit 1. README: 3 = could not connect, "`sync test` and `doctor` too when a check could
not connect"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from roomsops.adapters.exo.session import ExchangeSession
from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "args",
    [
        ("rooms", "check", "ROOM"),
        ("rooms", "check", "ROOM", "--fix", "--dry-run"),
        ("rooms", "check", "--all-room-mailboxes"),
        ("doctor",),
    ],
    ids=["rooms-check", "rooms-check-fix-dry-run", "rooms-check-all", "doctor"],
)
def test_a_read_only_command_dropped_after_connecting_is_exit_3(
    invoke: Invoke,
    fresh_lab: Any,
    env: dict[str, str],
    addr: Any,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
) -> None:
    """The connection drops at the first pipeline after Connect-ExchangeOnline. These commands only read the
    tenant; the drop must be exit 3 (could not connect: README's table) with no claim that steps were done."""
    original = ExchangeSession.run_batch
    armed = {"done": False}

    def run_batch(self: ExchangeSession, statements: Sequence[tuple[str, Any]]) -> Any:
        if not armed["done"] and statements and statements[0][0].startswith(("Get-", "Test-")):
            armed["done"] = True
            fresh_lab.fault(protocol="wsman", operation="Command", kind="drop_before", count=1)
        return original(self, statements)

    monkeypatch.setattr(ExchangeSession, "run_batch", run_batch)
    room, member = addr("room-zurich"), addr("DiegoS")
    real = tuple(room if a == "ROOM" else member if a == "MEMBER" else a for a in args)
    run = invoke(*real, env=env)
    assert armed["done"], run.out + run.err
    text = run.out + run.err
    assert "the steps before it were done" not in text, text
    assert run.code == 3, (run.code, text)
    if args[0] != "doctor":  # doctor reports in its table
        one_line_error(run)
