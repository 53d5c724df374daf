"""Issue 21.7: README's exit-code table is what the code uses, and Ctrl-C is exit 130 with one line that says
what to do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roomsops.cli import INTERRUPTED
from roomsops.cli.tenant_change import SIGINT_EXIT, SIGTERM_EXIT
from roomsops.core.errors import ExitCode
from tests.conftest import Invoke

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def table_codes() -> list[int]:
    section = README.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    return [int(m) for m in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)]


def test_the_table_lists_every_exit_code_the_code_uses() -> None:
    assert table_codes() == [*(int(c) for c in ExitCode), INTERRUPTED, SIGTERM_EXIT]
    assert INTERRUPTED == SIGINT_EXIT == 130


def test_ctrl_c_is_130_with_a_remedy_line(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    from roomsops.services.rooms import rooms

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    assert invoke("rooms", "add", "room-zurich@contoso.com", "--name", "Zürich", "--no-check").code == 0
    monkeypatch.setattr(rooms, "list_rooms", interrupted)
    run = invoke("rooms", "list")
    assert (run.code, run.out) == (130, "")
    # click ends the terminal's "^C" line first; then the one error line.
    assert run.err.startswith("\nError: ") and run.err.count("\n") == 2
    assert run.err.strip() == (
        "Error: interrupted (Ctrl-C) — nothing more was done after it and what was open was closed; run the "
        "same command again to finish (a command that changes the tenant has listed what it had done)"
    )
