"""review20d: `persons set --email` onto another mailbox while the sync still has to settle a meeting in the
old one (issue 20 item 5: "never silently orphaned"), against the lab."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def live(lab: Any, mailbox: str, organizer: str | None = None) -> list[dict[str, Any]]:
    who = (organizer or mailbox).lower()
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == who and not i["is_cancelled"]]


def states(env: dict[str, str]) -> dict[int, str]:
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT booking_id, state FROM booking_sync"))


def test_a_rename_onto_another_mailbox_never_orphans_a_meeting_whose_create_answer_was_lost(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS (O365) has booking 1 in room-zurich; the pass's CreateItem lands but its answer is lost and
    the lookup by tag fails (FindItem HTTP 401): the link is `pending-create` without an item id while the
    meeting is live in DiegoS' calendar (docs/sync.md: "Next pass: look it up by its tag"). Then `persons set
    DiegoS --email MeganB` with the Exchange look-up on (MeganB is another mailbox), a pass, `bookings cancel
    1`, a pass.
    Expected (persons.py/README: a person "whose meetings live in the old [mailbox] is not renamed (they would
    stay there, uncancelled, whatever ROOMS did)"; the same rule fix20e gave `persons remove`: a create whose
    answer was lost counts as a meeting the sync still has to settle): the rename is refused (exit 2), or the
    meeting in DiegoS' calendar is cancelled in the end. Actual: `live_links_in_mailbox` counts only links with an
    item id: the rename goes through, the link moves to MeganB, whose pass finds no tagged meeting there and
    creates the meeting a second time in MeganB's calendar; cancelling booking 1 cancels MeganB's meeting only,
    and DiegoS' meeting stays live holding room-zurich for good, reported by nothing."""
    diego, megan, zurich = addr("DiegoS"), addr("MeganB"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_hour_booking(invoke, env, diego, zurich, DAY, "Planning")
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_after", count=1)
    fresh_lab.fault(protocol="ews", operation="FindItem", kind="http_401", count=10)
    assert invoke("sync", env=env).code == 1
    fresh_lab.clear_faults()
    assert states(env) == {1: "pending-create"}
    assert [i["subject"] for i in live(fresh_lab, diego)] == ["Planning"]  # the meeting exists

    checked = {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}
    renamed = invoke("persons", "set", diego, "--email", megan, env=checked)
    if renamed.code == 2:
        return  # refused: the meeting stays reachable under DiegoS
    assert renamed.code == 0, renamed.out + renamed.err
    invoke("sync", env=env)
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    invoke("sync", env=env)
    assert live(fresh_lab, diego) == [], "a meeting of booking 1 is left live in DiegoS' calendar"


def test_a_rename_onto_another_mailbox_does_not_silence_a_room_that_still_holds_the_slot(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS' synced, accepted meeting "Planning" (booking 1, room-zurich) is deleted in Outlook without
    a cancellation while roomsops may not open room-zurich's mailbox: the pass cancels booking 1 and reports
    "room still holds the slot" (`sync diff`: room-holds). Then `persons set DiegoS --email MeganB` with the
    Exchange look-up on (another mailbox); roomsops may open the room again; a pass.
    Expected (docs/sync.md: the room still holding the slot is reported "on every pass ... until the copy is
    gone or the slot is over"; fix20e: such a link is a watch the record must keep — `persons remove` waits
    for it; persons.py refuses a rename onto another mailbox that would leave meetings behind): the rename is
    refused, or the pass removes the room's copy or keeps reporting it. Actual: the rename goes through (only
    links with an item id count); the watch moves to MeganB, and the pass looks in room-zurich for a copy
    organized by MeganB: it finds none, exits 0 and drops the note, while room-zurich keeps DiegoS' slot for
    good."""
    diego, megan, zurich = addr("DiegoS"), addr("MeganB"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_hour_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    ok(invoke("sync", env=env))
    (item,) = live(fresh_lab, diego)

    def room(state: Any) -> Any:
        return next(m for m in state.mailboxes if m.primary_smtp.lower() == zurich.lower())

    with fresh_lab.lab.tenant.change() as state:  # roomsops may not open the room's mailbox now
        room(state).ews_enabled = False
    response = fresh_lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}?cancel=false")
    assert response.status_code == 200, response.text
    held = invoke("sync", env=env)
    assert held.code == 1 and "still holds the slot" in held.out, held.out

    checked = {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}
    renamed = invoke("persons", "set", diego, "--email", megan, env=checked)
    if renamed.code == 2:
        return  # refused: the watch stays with DiegoS' mailbox
    assert renamed.code == 0, renamed.out + renamed.err
    with fresh_lab.lab.tenant.change() as state:
        room(state).ews_enabled = None
    run = invoke("sync", env=env)
    assert live(fresh_lab, zurich, organizer=diego) == [] or "still holds the slot" in run.out, run.out
