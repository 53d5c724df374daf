"""review26: while `roomsops sync` holds the run lock, `roomsops serve` does not wait for a next round: the
mailboxes due stay due (no pass was tried), so `seconds_to_next` is 0 and the scheduler runs round after round,
each taking the lock and failing, as fast as it can (CPU, a warning per round in the log). Against the lab with
serve started as a process; ews_interval is an hour, so nothing but the busy lock makes a second round."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roomsops.services.sync.lock import run_lock
from tests.conftest import Invoke

from .test_serve_lab import HUNG, book, seed, start

pytestmark = pytest.mark.integration


def test_review26_a_busy_run_lock_does_not_make_serve_spin(
    invoke: Invoke, env: dict[str, str], addr: Callable[[str], str], fresh_lab: Any, tmp_path: Path
) -> None:
    """While another command holds the run lock, each refused round waits longer before the next: 1, 2, 4 s
    (doubling to 15 s), as the log says; before, the mailboxes stayed due at once and the rounds spun. Counted from
    the log, not timed. Three rounds show the doubling; serve sleeps 1 + 2 s before it stops (the last round's
    wait is logged, not slept)."""
    seed(invoke, env, addr)
    book(invoke, env, addr, "Held back", 4)
    lock = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///") + ".sync.lock")
    with run_lock(lock):  # as `roomsops sync` running beside the service holds it
        process, _ = start(env, tmp_path, "--max-ticks", "3", ews_interval="3600")
        try:
            process.communicate(timeout=HUNG)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=HUNG)
    log = Path(env["ROOMSOPS_LOG_FILE"]).read_text(encoding="utf-8")
    waits = re.findall(r"round (\d+) waits (\d+) s for the next", log)
    assert waits == [("1", "1"), ("2", "2"), ("3", "4")], log[-2000:]
