"""review20e: `sync resume --person` after a person was held back from the sync (issue 20 items 5 and 7), against
the lab.

A held-back link is `unlinked` (docs/sync.md: "the booking (still active) is held back from the sync ... No pass
writes it ... until `roomsops sync resume --person`"), and `resume` makes it `linked` again with the item id,
ChangeKey and snapshot it had when it was held. But the passes that ran meanwhile read the changes of those
meetings as foreign ones ("restored or unlinked", or "not synced" in a purged mailbox) and moved the stored
position past them; nothing reads them again after the resume, and the tagging that had not landed on an Outlook
meeting is taken for done. Invariants broken: I2 (no lost change: "Nothing is dropped silently"), I5 (after two
quiet passes both sides agree or the difference is reported) and the rule that "a link leaves `pending-update`
only once its meeting carries the tag" (I1: the full reconciliation finds a booking's meeting by its tag).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def live(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]


def answer(lab: Any) -> None:
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200


def bookings(invoke: Invoke, env: dict[str, str]) -> dict[int, dict[str, Any]]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b for b in found}


def link_states(env: dict[str, str]) -> dict[int, str]:
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT booking_id, state FROM booking_sync"))


def failures(runs: list[Any]) -> list[str]:
    return [f for run in runs for m in json.loads(run.out)["mailboxes"] for f in m["failures"]]


def own_meeting(lab: Any, organizer: str, room: str, start: datetime) -> None:
    """`organizer` makes "Own workshop" (one hour) in Outlook with `room`; the room accepts."""
    body = {
        "subject": "Own workshop",
        "start": stamp(start),
        "end": stamp(start + timedelta(hours=1)),
        "resources": [room],
    }
    assert lab.admin("POST", f"/lab/mailboxes/{organizer}/calendar", json=body).status_code == 201
    answer(lab)


def test_an_outlook_move_made_while_the_person_was_out_of_the_sync_is_applied_after_resume(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS (O365) has booking 1 "Planning" 10:00-11:00 in Zürich, synced, accepted. The administrator
    switches DiegoS to sync mode None (a pass reports the meeting with the purge command, as it should); DiegoS
    moves the meeting in Outlook to 14:00 (Zürich accepts the move). The administrator switches him back to O365;
    the scheduled pass runs; then `sync resume --person` (as the report and `bookings list`'s "not synced" ask);
    two more passes.
    Expected (docs/sync.md: an Outlook edit of a synced meeting is applied to the booking; `sync resume`: "a
    meeting left in Exchange is linked again"; I2, I5): booking 1 at 14:00, or the difference reported.
    Actual: the pass before the resume reads the move as an unknown tagged meeting ("restored or unlinked") and
    moves its position past it; `resume` relinks the old ChangeKey and snapshot; every later incremental pass says
    "unchanged", exit 0: ROOMS holds Zürich 10:00-11:00, Exchange's Zürich holds 14:00-15:00, nothing reported."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    start = DAY + timedelta(hours=2)
    add_hour_booking(invoke, env, diego, zurich, start, "Planning")
    ok(invoke("sync", env=env))
    answer(fresh_lab)
    ok(invoke("sync", env=env))
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    left = json.loads(ok(invoke("--json", "sync", env=env)).out)["left_sync"]
    assert left[diego]["bookings"] == [1]
    (item,) = live(fresh_lab, diego)
    later = start + timedelta(hours=4)
    moved = {"start": stamp(later), "end": stamp(later + timedelta(hours=1))}
    assert (
        fresh_lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{item['id']}", json=moved).status_code
        == 200
    )
    answer(fresh_lab)
    ok(invoke("persons", "set", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))  # the scheduled pass, before the administrator's resume
    ok(invoke("sync", "resume", "--person", diego, env=env))
    runs = [invoke("--json", "sync", env=env) for _ in range(2)]
    found = bookings(invoke, env)[1]
    (meeting,) = live(fresh_lab, diego)
    assert meeting["start"] == stamp(later)  # Exchange holds the move
    assert found["start"].startswith(later.isoformat()[:16]) or failures(runs), (found, failures(runs))


def test_an_own_meeting_deleted_in_outlook_while_purged_cancels_its_booking_after_resume(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS makes "Own workshop" in Outlook with Zürich; Zürich accepts; the pass books it (booking 1,
    from Exchange). `sync purge --person DiegoS` cancels nothing (his own meeting stays, as docs/sync.md says) and
    holds booking 1 back. A pass runs. DiegoS deletes the meeting in Outlook (with the cancellation: Zürich frees
    the slot). A pass runs; `sync resume --person`; two more passes.
    Expected (docs/sync.md: "Deleting the meeting ... cancels the booking"; I2, I5): booking 1 cancelled, or its
    missing meeting reported. Actual: the held pass reads the deletion of an `unlinked` link as nothing of its
    own; `resume` makes the link `linked` to the deleted item; later passes say "1 unchanged", exit 0. ROOMS keeps
    Zürich booked for a meeting that no longer exists (Exchange's Zürich is free), `bookings list` says linked."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))  # the mailbox's first pass: its position
    own_meeting(fresh_lab, diego, zurich, DAY + timedelta(hours=2))
    ok(invoke("sync", env=env))
    assert bookings(invoke, env)[1]["sync"] == "linked"
    ok(invoke("sync", "purge", "--person", diego, "--yes", env=env))
    assert len(live(fresh_lab, diego)) == 1  # his own meeting stays
    ok(invoke("sync", env=env))
    (item,) = live(fresh_lab, diego)
    assert fresh_lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}").status_code == 200
    answer(fresh_lab)
    ok(invoke("sync", env=env))
    ok(invoke("sync", "resume", "--person", diego, env=env))
    runs = [invoke("--json", "sync", env=env) for _ in range(2)]
    assert live(fresh_lab, diego) == [] and live(fresh_lab, zurich) == []
    found = bookings(invoke, env)[1]
    assert found["status"] == "cancelled" or failures(runs), (found, failures(runs))


def test_resume_of_an_outlook_meeting_whose_tagging_had_not_landed_keeps_its_booking(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS makes "Own workshop" in Outlook with Zürich; Zürich accepts; the pass books it (booking 1,
    `pending-update`) but the write that tags the meeting fails (and its retry in the same pass): the meeting
    carries no tag. `sync purge --person DiegoS` holds booking 1 back (his own meeting stays); `sync resume`;
    then `sync --full` twice (as every `sync.full_every` passes do).
    Expected (docs/sync.md: "a link leaves `pending-update` only once its meeting carries the tag (the full
    reconciliation finds meetings by it)"; I1, I2): booking 1 stays active and its meeting gets the tag; nothing
    cancelled, no second booking. Actual: `resume` makes the untagged link `linked`; the full reconciliation
    does not find booking 1's meeting by its tag, takes it as deleted in Outlook and cancels booking 1 (it then
    watches Zürich for a "deleted" meeting's copy), and books the same meeting again as booking 2 — exit 0, no
    failure. ROOMS' booking 1 (and whatever hangs on its id) is gone for a meeting nobody deleted."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))  # the mailbox's first pass: its position
    own_meeting(fresh_lab, diego, zurich, DAY + timedelta(hours=2))
    fresh_lab.fault(protocol="ews", operation="UpdateItem", kind="drop_before", count=2)
    assert invoke("sync", env=env).code == 1  # booked, the tagging write failed
    fresh_lab.clear_faults()
    assert link_states(env) == {1: "pending-update"}
    ok(invoke("sync", "purge", "--person", diego, "--yes", env=env))
    ok(invoke("sync", "resume", "--person", diego, env=env))
    runs = [invoke("--json", "sync", "--full", env=env) for _ in range(2)]
    found = bookings(invoke, env)
    assert len(live(fresh_lab, diego)) == 1
    assert [(b["id"], b["status"]) for b in found.values()] == [(1, "active")], (found, failures(runs))
