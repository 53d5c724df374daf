"""review25ac: a sync worker never forgets the note of an occurrence deleted in Outlook — every later pass of the
mailbox says it again, and the worker counts the mailbox's lease as lost.

What happens (PostgreSQL, `roomsops sync --worker`): a synced weekly series; ROOMS moves the occurrence of 2027-04-05
to 15:00 and retitles the series (unwritten), the organizer deletes that occurrence in Outlook. The worker's pass
takes the deletion and stores its note (`sync_notices`, fix25ab) — then `sync_pass.one` gives the mailbox's lease
back (`Fence.release`) *before* `_said` drops the note in a write fenced by that lease (`fenced_write`): the lease's
token is gone, the fence refuses the write (`LeaseLost`), `_said` logs "its notices will be said again by the next
pass", and the stored note stays. Every later pass of that mailbox (every worker round, every `roomsops sync`)
prints the same "note: … was deleted in Outlook …" again, for good; and the refused write marks the lease lost
after it was given back, so that worker pass — and, the note never dropped, every later worker pass of the mailbox
(seen: two more rounds) — ends with the mailbox in `lease_lost` and exit 1 although its pass went through.

What should be (docs/series.md: "forgotten only once a pass has said it"): said by the pass that took the deletion,
then forgotten — nothing left in `sync_notices`, and the next pass says nothing."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review19x_deleted_occurrence_moved_in_rooms import CHANGES
from tests.integration.test_series_from_exchange import occurrence_id
from tests.integration.test_series_sync import book_series, setup
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, sql

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_a_workers_pass_says_the_deletion_note_once(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, room = setup(invoke, env, lab, addr, "O365")  # as `synced_series`, on PostgreSQL
    series = book_series(
        invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--until", "2027-04-12"
    )
    assert sync(invoke, env)[0] == 0
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    assert sync(invoke, env)[0] == 0
    assert sql(env, "SELECT booking_id, state FROM booking_sync") == [(series, "linked")]
    options, dropped = CHANGES["move"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-04-05", *options, env=env))
    ok(invoke("bookings", "update", str(series), "--title", "Weekly sync", env=env))
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-04-05')}")
    assert gone.status_code == 200, gone.text
    answer(lab)
    sql(env, "UPDATE mailbox_sync SET next_run_utc = NULL")  # due now: the worker claims it
    run = invoke("--json", "sync", "--worker", "--batch", "1", env=env)
    answer(lab)
    doc = json.loads(run.out)
    (report,) = doc["mailboxes"]
    assert len(report["notices"]) == 1 and f"ROOMS' {dropped} was not written" in report["notices"][0], report
    assert (run.code, doc["lease_lost"]) == (0, []), (run.code, doc, run.err)
    # Said by that pass: forgotten, and the next pass (a plain sync here) says nothing.
    assert sql(env, "SELECT count(*) FROM sync_notices") == [(0,)]
    code, found = sync(invoke, env)
    assert (code, found[diego]["notices"]) == (0, []), found[diego]
