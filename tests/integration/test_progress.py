"""Issue 21.4: progress of multi-mailbox work is on stderr only (plain lines without a terminal, one at most per
period of the clock), never on stdout, and `--quiet` silences it. The clock is the test's: each reading is a
period later, so every finished mailbox is one line — counted, not timed. Issue 21.15: the `--live` table's
columns line up."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from roomsops.cli import progress
from tests.conftest import Invoke, Run, ok

pytestmark = pytest.mark.integration


@pytest.fixture
def ticking(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A clock that moves one period on at every reading."""
    readings = iter(range(0, 10**9, int(progress.PERIOD_SECONDS)))
    monkeypatch.setattr(progress, "clock", lambda: float(next(readings)))
    yield


def progress_lines(run: Run, label: str) -> list[str]:
    return [line for line in run.err.splitlines() if line.startswith(f"{label}: ")]


def test_sync_progress_is_on_stderr_only_and_quiet_silences_it(
    invoke: Invoke, env: dict[str, str], addr: Any, ticking: None
) -> None:
    persons = [addr("DiegoS"), addr("AdeleV"), addr("AlexW")]
    for person in persons:
        ok(invoke("persons", "add", person, env=env))

    shown = ok(invoke("sync", "--dry-run", "--concurrency", "1", env=env))
    quiet = ok(invoke("--quiet", "sync", "--dry-run", "--concurrency", "1", env=env))
    assert shown.out == quiet.out  # byte-identical: progress never reaches stdout
    lines = progress_lines(shown, "sync")
    assert [re.sub(r" \(last: .*\)$", "", line) for line in lines] == [
        f"sync: {n}/3 mailboxes done" for n in (1, 2, 3)
    ]
    assert sorted(line.split("(last: ")[1].rstrip(")") for line in lines) == sorted(persons)
    assert quiet.err == ""


def test_sync_progress_follows_the_period(
    invoke: Invoke, env: dict[str, str], addr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clock that stands still: no line at all (a short run stays silent on stderr)."""
    monkeypatch.setattr(progress, "clock", lambda: 0.0)
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    run = ok(invoke("sync", "--dry-run", env=env))
    assert progress_lines(run, "sync") == []


def test_persons_check_progress(invoke: Invoke, env: dict[str, str], addr: Any, ticking: None) -> None:
    args = ("persons", "check", addr("DiegoS"), addr("AdeleV"))
    shown = invoke(*args, env=env)
    quiet = invoke("-q", *args, env=env)
    assert shown.code == quiet.code == 0, shown.out + shown.err
    assert shown.out == quiet.out
    assert len(progress_lines(shown, "persons check")) == 2
    assert quiet.err == ""


def test_policy_test_live_progress_and_aligned_table(
    invoke: Invoke, env: dict[str, str], addr: Any, ticking: None
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    args = ("policy", "test", addr("DiegoS"), addr("AdeleV"), "--live")
    shown = invoke(*args, env=env)
    quiet = invoke("--quiet", *args, env=env)
    assert shown.code == quiet.code == 0, shown.out + shown.err
    assert shown.out == quiet.out
    assert [line.split(" (last")[0] for line in progress_lines(shown, "policy test --live")] == [
        "policy test --live: 1/2 mailboxes done",
        "policy test --live: 2/2 mailboxes done",
    ]
    assert "policy test --live" not in quiet.err
    header, *rows = shown.out.splitlines()[:3]
    column = header.index("EWS now")
    assert [row[column:].split()[0] for row in rows] == ["Granted", "Denied"]  # under its header
    assert all(row[column - 2 : column] == "  " for row in rows)


def test_a_terminal_gets_a_bar_that_goes_away() -> None:
    stream = io.StringIO()
    with progress.Progress("sync", 2, stream=stream, terminal=True) as bar:
        bar.advance("a@example.com")
        bar.advance("b@example.com")
    assert "sync" in stream.getvalue() and "2/2" in stream.getvalue()
    assert bar.done == 2
