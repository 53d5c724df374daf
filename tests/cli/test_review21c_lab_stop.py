"""review21c: `roomsops lab stop --dir DIR` (issue 21.13) where no lab runs: the remedy (issue 21.6) must fit."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Invoke, one_line_error


def test_stop_where_no_lab_ever_ran_does_not_send_the_user_to_a_terminal(
    invoke: Invoke, tmp_path: Path
) -> None:
    """A mistyped --dir (or a lab already stopped, whose lab.pid it removed) answers "no running lab in DIR (no
    lab.pid) — a lab started before 'lab stop' existed: stop it with Ctrl-C in its terminal": there is no such
    lab and no such terminal. Only a folder with a lab.json but no lab.pid can be that older lab."""
    for folder in (tmp_path / "typo", tmp_path):
        run = invoke("lab", "stop", "--dir", str(folder))
        assert run.code == 2, run.out + run.err
        line = one_line_error(run)
        assert "Ctrl-C" not in line, line
