"""review27: `roomsops db copy --to URL` while a `roomsops sync` runs on the SQLite database it copies. Real parts:
the lab over TLS, the PostgreSQL server of tests/postgres.py, the CLI (the copy a subprocess started at a chosen point
of the sync's pass, never timed)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_pg27b_workers import DAY, meetings, setup_persons

pytestmark = pytest.mark.integration


def test_review27_db_copy_beside_a_running_sync_is_refused_and_never_duplicates_a_meeting(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, postgres_url: str,
) -> None:  # fmt: skip
    [person] = setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path)
    ok(invoke("sync", env=env))  # the person synced once on SQLite: a position stored, Meeting 0 linked
    zurich = addr("room-zurich").lower()
    start = DAY + timedelta(hours=5)
    ok(
        invoke(
            "bookings", "add", "--organizer", person, "--room", zurich, "--title", "Booked during the copy",
            "--start", start.isoformat(), "--end", (start + timedelta(minutes=30)).isoformat(), env=env,
        )
    )  # fmt: skip
    from roomsops.adapters.ews.backend import EwsCalendar

    copies: list[subprocess.CompletedProcess[str]] = []
    original = EwsCalendar.changes

    def changes(self: EwsCalendar, read: str, state: str | None) -> Any:
        if read.lower() == person and not copies:  # the sync's pass under way, its run lock held
            command = [sys.executable, "-m", "roomsops", "--json", "db", "copy", "--to", postgres_url]
            copies.append(
                subprocess.run(command, env=os.environ | env, capture_output=True, text=True, timeout=120)
            )
        return original(self, read, state)

    monkeypatch.setattr(EwsCalendar, "changes", changes)
    run = ok(invoke("--json", "sync", env=env))
    monkeypatch.setattr(EwsCalendar, "changes", original)
    assert copies, run.out
    copy = copies[0]
    assert sorted(meetings(fresh_lab, person)) == ["Booked during the copy", "Meeting 0"], run.out
    moved = env | {"ROOMSOPS_ROOMS_DATABASE": postgres_url}
    worker = invoke("--json", "sync", "--worker", "--until-idle", env=moved)
    after = sorted(meetings(fresh_lab, person))
    # actual: the copy exits 0 beside the running sync, and the worker on PostgreSQL creates the meeting again
    assert after == ["Booked during the copy", "Meeting 0"], (after, copy.returncode, worker.out)
    assert copy.returncode == 1, (copy.returncode, copy.stdout, copy.stderr)
