"""review25ac: the stored note of an occurrence deleted in Outlook is never said once its person leaves the sync.

What happens (EWS): a synced weekly series; ROOMS moves the occurrence of 2027-04-05 to 15:00 and retitles the series
(unwritten); the organizer deletes that occurrence in Outlook. The pass takes the deletion and stores its note
(`sync_notices`, fix25ab) — and is killed before its summary (as in review25aa's kill test). The administrator then
sets the person's sync mode to None (ROOMS only). The next pass reports the person as having left the sync, but
notes are read only by a synced mailbox's own pass (`MailboxSync._begin`): the note stays in `sync_notices` for good
and no pass ever says that ROOMS' move to 15:00 was dropped and the slot freed.

What should be (docs/series.md: "a pass killed after taking the deletion leaves it to the next pass"; issue 19 I2:
never silently dropped): the pass that reports the person's leaving says the notes stored for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review19x_deleted_occurrence_moved_in_rooms import CHANGES
from tests.integration.test_review25aa_deletion_kill import sync_killed_at_update
from tests.integration.test_series_from_exchange import occurrence_id, series_of, synced_series
from tests.integration.test_sync_rooms20_a import answer

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def test_the_pass_reporting_a_person_leaving_says_their_stored_note(
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
    assert [o["status"] for o in rows if o["original_start"].startswith("2027-04-05")] == ["cancelled"], rows
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    run = invoke("sync", env=env)
    assert run.code == 0 and "left the sync" in run.out, (run.code, run.out)
    said = [line for line in run.out.splitlines() if "note:" in line and "2027-04-05 09:00" in line]
    assert len(said) == 1 and f"ROOMS' {dropped} was not written" in said[0], run.out
    # Said: forgotten (fix25ad) — the next pass says it no more.
    again = invoke("sync", env=env)
    assert again.code == 0 and "2027-04-05 09:00" not in again.out, (again.code, again.out)
