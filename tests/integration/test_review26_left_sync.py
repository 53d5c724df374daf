"""review26: under `roomsops serve`, a person who leaves the sync (sync mode None) was never dealt with. Serve
handed `sync_pass` the list of mailboxes due, all of synced persons, and `_persons_not_synced` looks only at
persons in that list: the meetings of the person's bookings stayed in Exchange holding their rooms, with neither
the report nor the purge (`sync.on_person_removed`) that `roomsops sync` does in its next pass. Now each round adds
the persons who left with something left to do (`persons_left_to_settle`). Against the lab with serve started as a
process; a second person keeps the rounds passing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .helpers import serve_started
from .test_serve_lab import book, meetings, metrics, passes, stopped, wait_for

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


def test_review26_serve_purges_the_meetings_of_a_person_who_left_the_sync(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    diego, adele = addr("DiegoS"), addr("AdeleV")
    purge = {**env, "ROOMSOPS_SYNC_ON_PERSON_REMOVED": "purge"}
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=purge))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=purge))
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=purge))
    booking = book(invoke, purge, addr, "Leaving", 3)
    process, err, url = serve_started(purge, tmp_path, stopped, ews_interval="1")
    wait_for(lambda: meetings(fresh_lab, diego) == {str(booking): "Leaving"}, process)

    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=purge))
    done = passes(metrics(url), adele)
    wait_for(lambda: passes(metrics(url), adele) >= done + 3, process)  # rounds after Diego left
    served = meetings(fresh_lab, diego)
    log = Path(env["ROOMSOPS_LOG_FILE"]).read_text(encoding="utf-8")
    # what `roomsops sync` does with the same database once the service stopped: the purge
    process.terminate()
    assert process.wait(timeout=120) == 0, err.read_text()
    ok(invoke("sync", env=purge))
    assert (served, "left the sync" in log, meetings(fresh_lab, diego)) == ({}, True, {})


def test_review26_a_round_with_no_mailbox_due_still_settles_a_person_who_left(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    """The only synced person leaves: no mailbox is ever due again, yet the next round (at most `ews_interval`
    later) purges their meetings, as the next `roomsops sync` would."""
    diego = addr("DiegoS")
    purge = {**env, "ROOMSOPS_SYNC_ON_PERSON_REMOVED": "purge"}
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=purge))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=purge))
    booking = book(invoke, purge, addr, "Alone", 3)
    process, err, _ = serve_started(purge, tmp_path, stopped, ews_interval="1")
    wait_for(lambda: meetings(fresh_lab, diego) == {str(booking): "Alone"}, process)
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=purge))
    log_file = Path(env["ROOMSOPS_LOG_FILE"])
    # said once the purge's cancellations were sent (the pass logs it after them)
    wait_for(lambda: "left the sync" in log_file.read_text(encoding="utf-8"), process)
    purged = meetings(fresh_lab, diego)
    process.terminate()
    assert process.wait(timeout=120) == 0, err.read_text()
    assert purged == {}, log_file.read_text(encoding="utf-8")[-2000:]
