"""fix20g: a booking's room moved in Outlook to the required attendees is still the meeting's room (docs/sync.md
"One synced room per meeting"), and a rename onto another mailbox waits for what `persons remove` waits for,
against the lab."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def live(lab: Any, mailbox: str, organizer: str | None = None) -> list[dict[str, Any]]:
    who = (organizer or mailbox).lower()
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == who and not i["is_cancelled"]]


def answer(lab: Any) -> list[str]:
    response = lab.admin("POST", "/lab/room-answers/process")
    assert response.status_code == 200, response.text
    return [a["response"] for a in response.json()["answered"]]


def synced_meeting(invoke: Invoke, lab: Any, env: dict[str, str], diego: str, zurich: str) -> dict[str, Any]:
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    times = ["--start", DAY.isoformat(), "--end", (DAY + timedelta(hours=1)).isoformat()]
    ok(
        invoke(
            "bookings", "add", "--organizer", diego, "--room", zurich, *times, "--title", "Planning", env=env
        )
    )
    ok(invoke("sync", env=env))
    assert answer(lab) == ["Accept"]
    ok(invoke("sync", env=env))
    (item,) = live(lab, diego)
    return item


def test_a_room_moved_to_the_to_line_with_a_new_attendee_gives_the_attendee_only(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS' synced meeting (booking 1, room-zurich, accepted); in Outlook Zürich is moved from Resources
    to the To line and AdeleV is invited; Zürich accepts. A pass, then `sync resolve 1 --use exchange`.
    Expected: the pass records an attendees difference only (AdeleV), never "room changed" nor Zürich as an
    attendee; resolving takes AdeleV into the booking, keeps Zürich as its room, and Zürich still holds the
    slot (the rewrite puts the room back on the Resources line)."""
    diego, adele, zurich = addr("DiegoS"), addr("AdeleV"), addr("room-zurich")
    item = synced_meeting(invoke, fresh_lab, env, diego, zurich)
    edit = fresh_lab.admin(
        "PATCH",
        f"/lab/mailboxes/{diego}/calendar/{item['id']}",
        json={"resources": [], "attendees": [zurich, adele]},
    )
    assert edit.status_code == 200, edit.text
    assert answer(fresh_lab) == ["Accept"]
    run = invoke("sync", env=env)
    assert "room changed" not in run.out.lower(), run.out

    diff = json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"]
    assert [d["fields"] for d in diff] == [["attendees"]], diff
    ok(invoke("sync", "resolve", "1", "--use", "exchange", env=env))
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["room"].lower() == zurich.lower()
    assert [a.lower() for a in booking["attendees"]] == [adele.lower()]
    answer(fresh_lab)
    ok(invoke("sync", env=env))
    assert len(live(fresh_lab, zurich, organizer=diego)) == 1  # Zürich holds the slot


def test_a_refused_rename_names_the_room_still_holding_a_slot(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS' synced meeting is deleted in Outlook without a cancellation while roomsops may not open
    room-zurich; a pass reports the room still holding the slot. `persons set DiegoS --email MeganB` (another
    mailbox, the Exchange look-up on).
    Expected: refused (exit 2, nothing changed), naming booking 1's room holding the slot, not a meeting in
    DiegoS' calendar; DiegoS is still the person."""
    diego, megan, zurich = addr("DiegoS"), addr("MeganB"), addr("room-zurich")
    item = synced_meeting(invoke, fresh_lab, env, diego, zurich)
    with fresh_lab.lab.tenant.change() as state:
        next(m for m in state.mailboxes if m.primary_smtp.lower() == zurich.lower()).ews_enabled = False
    response = fresh_lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}?cancel=false")
    assert response.status_code == 200, response.text
    assert invoke("sync", env=env).code == 1

    checked = {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}
    renamed = invoke("persons", "set", diego, "--email", megan, env=checked)
    assert renamed.code == 2, renamed.out + renamed.err
    assert "booking(s) 1 were deleted in Outlook without a cancellation" in renamed.err, renamed.err
    assert "calendar holds the meetings" not in renamed.err, renamed.err
    persons = json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"]
    assert [p["email"].lower() for p in persons] == [diego.lower()]
