"""review25aa: `sync --dry-run` previews another pass than the one that runs when Outlook deleted an occurrence ROOMS
changed (fix19z).

What happens (EWS): a synced weekly series; ROOMS moves the occurrence of 2027-04-05 to 15:00 (unwritten) and the
organizer deletes that occurrence in Outlook. `sync --dry-run` says "1 updated, 1 differences" with "would record a
difference (both_changed) for booking 1" and "would update meeting of booking 1" — nothing about the occurrence.
The pass then records no difference: it cancels the 2027-04-05 occurrence in ROOMS (freeing its slot), drops ROOMS'
move and prints fix19z's `note:`. `_take_outlook_deletions` returns nothing under --dry-run, so the preview falls
back to the old path (a difference and a write that Exchange would refuse).

What should be: the preview names what the pass will do — the occurrence of 2027-04-05 cancelled in ROOMS (a `would`
line or the note), and no difference the pass will not record (README: `--dry-run` shows what a pass would do)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review19x_deleted_occurrence_moved_in_rooms import CHANGES
from tests.integration.test_series_from_exchange import occurrence_id, synced_series
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def test_dry_run_previews_the_occurrence_taken_from_outlook(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, _room, series = synced_series(invoke, env, lab, addr, "O365")
    options, _ = CHANGES["move"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-04-05", *options, env=env))
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-04-05')}")
    assert gone.status_code == 200, gone.text
    answer(lab)
    dry = json.loads(ok(invoke("--json", "sync", "--dry-run", env=env)).out)
    (preview,) = [m for m in dry["mailboxes"] if m["mailbox"].lower() == diego]
    code, found = sync(invoke, env)
    done = found[diego]
    # The pass itself: no difference, the deletion taken and said once (fix19z).
    assert (code, done["failures"], done["differences"], len(done["notices"])) == (0, [], 0, 1), done
    said = preview["planned"] + preview["notices"]
    assert preview["differences"] == done["differences"], preview
    assert any("2027-04-05" in line for line in said), said
