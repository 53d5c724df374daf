"""review25aa: the note fix19z gives for an occurrence deleted in Outlook is lost for good when the pass that took the
deletion dies before its summary (SIGKILL, OOM killer, a reboot) — ROOMS' change of that occurrence is then
dropped without any pass ever saying so.

What happens (EWS): a synced weekly series; ROOMS moves the occurrence of 2027-04-05 to 15:00 and retitles the
series (both unwritten), and the organizer deletes that occurrence in Outlook. The pass commits Outlook's deletion to ROOMS (occurrence cancelled,
ROOMS' move dropped: `_take_outlook_deletions`) and keeps the note only in memory until its summary; it is killed
while it writes the rest of the series to Exchange. The next passes find nothing to take (ROOMS already holds the
occurrence cancelled), so no pass ever prints the note or `notices` entry: the room manager who moved the meeting
to 15:00 is never told that the move was dropped and the slot freed (issue 19, I2: a change is applied, recorded as
a difference or reported — never silently dropped; I6: after a crash the next pass repairs what is pending).

What should be: the note is said by a later pass (kept with the link until a summary carrying it is written), as
fix19z's note is said once when nothing dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review19x_deleted_occurrence_moved_in_rooms import CHANGES
from tests.integration.test_series_from_exchange import occurrence_id, series_of, synced_series
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def sync_killed_at_update(lab: LabHelper, env: dict[str, str], cwd: Path) -> None:
    """`roomsops sync` SIGKILLed once the lab has counted its first UpdateItem (the lab adds 30 ms to each request,
    so the kill lands while that request is in flight), as `test_sync_v2_pending.sync_killed_at_create`."""
    lab.settings(latency_ms=30)
    lab.reset_requests()
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "sync", "--concurrency", "1"],
        env=os.environ | env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while process.poll() is None and lab.requests().get("ews:UpdateItem", 0) < 1:
            time.sleep(0.002)
        assert process.poll() is None, "the sync ended before its UpdateItem was counted"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        lab.settings(latency_ms=0)


def test_the_deletion_note_survives_a_pass_killed_after_taking_the_deletion(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    lab = fresh_lab
    diego, _room, series = synced_series(invoke, env, lab, addr, "O365")
    options, dropped = CHANGES["move"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-04-05", *options, env=env))
    ok(invoke("bookings", "update", str(series), "--title", "Weekly sync", env=env))  # a write is left to do
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-04-05')}")
    assert gone.status_code == 200, gone.text
    answer(lab)
    sync_killed_at_update(lab, env, tmp_path)
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    # The killed pass had taken the deletion: ROOMS' move is dropped, the occurrence cancelled.
    assert [o["status"] for o in rows if o["original_start"].startswith("2027-04-05")] == ["cancelled"], rows
    notices = []
    for _ in range(2):
        code, found = sync(invoke, env)
        answer(lab)
        assert (code, found[diego]["failures"]) == (0, []), found[diego]
        notices += found[diego]["notices"]
    assert len(notices) == 1 and f"ROOMS' {dropped} was not written" in notices[0], notices
