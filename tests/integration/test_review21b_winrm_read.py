"""review21b: WinRM dropped after connecting, in a command that only reads (issue 21.7): nothing was changed,
so it is not reported as a half-done change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from roomsops.adapters.exo.session import ExchangeSession
from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "args",
    [("policy", "list"), ("policy", "list", "--engine", "rbac"), ("ews", "status")],
    ids=["policy-list", "policy-list-rbac", "ews-status"],
)
def test_a_read_only_command_dropped_after_connecting_says_nothing_was_done(
    invoke: Invoke,
    fresh_lab: Any,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
) -> None:
    """The connection drops at the first pipeline after Connect-ExchangeOnline. `policy list` then said
    "... failed during Get-...; the steps before it were done" with exit 1: a read-only command has no steps,
    and the sentence makes an administrator look for half-made changes. Like a tenant change dropped before any
    change (afa808d): exit 3, and no claim of steps done."""
    original = ExchangeSession.run_batch
    armed = {"done": False}

    def run_batch(self: ExchangeSession, statements: Sequence[tuple[str, Any]]) -> Any:
        if not armed["done"] and statements and statements[0][0].startswith("Get-"):
            armed["done"] = True
            fresh_lab.fault(protocol="wsman", operation="Command", kind="drop_before", count=1)
        return original(self, statements)

    monkeypatch.setattr(ExchangeSession, "run_batch", run_batch)
    fresh_lab.reset_requests()
    run = invoke(*args, env=env)
    assert armed["done"], run.out + run.err
    line = one_line_error(run)
    assert "the steps before it were done" not in line, line
    assert run.code == 3, line
