"""review20d: a ROOMS change onto the room the meeting already lists, which declined it (issue 20 item 1: "the
room's answer is state"), against the lab."""

from __future__ import annotations

import json
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


def answer(lab: Any) -> list[dict[str, Any]]:
    response = lab.admin("POST", "/lab/room-answers/process")
    assert response.status_code == 200, response.text
    return list(response.json()["answered"])


def sync(invoke: Invoke, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    run = invoke("--json", "sync", env=env)
    assert run.code in (0, 1), run.out + run.err
    return run.code, dict(json.loads(run.out))


def column(invoke: Invoke, env: dict[str, str]) -> dict[int, dict[str, Any]]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b for b in found}


def test_moving_a_booking_in_rooms_onto_the_room_that_declined_its_meeting_is_reported(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS' synced meeting (booking 1, room-zurich, accepted) gets room-bern instead in Outlook;
    Bern allows at most 30 minutes and declines the one-hour meeting. A pass records the room difference.
    The administrator follows Outlook in ROOMS by hand: `bookings update 1 --room room-bern` (the same end
    state as `sync resolve 1 --use exchange`, which review20c2 made report the decline). Two passes.
    Expected (issue 20 item 1, docs/sync.md "The room's answer is the truth": a decline is `room-declined`,
    reported on every pass until settled): booking 1 is `room-declined`, the passes report Bern's decline.
    Actual: the pass's UpdateItem finds nothing to write (the meeting already lists Bern) and `_update` records
    the link `linked` without reading the room's answer on the meeting; nothing changes the meeting again, so
    no pass reads it: booking 1 is `linked` in Bern, passes exit 0 with no word while Bern's calendar does
    not hold the slot."""
    diego, zurich, bern = addr("DiegoS"), addr("room-zurich"), addr("room-bern")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", bern, "--name", "Bern", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_hour_booking(invoke, env, diego, zurich, DAY, "Planning")
    assert sync(invoke, env)[0] == 0
    assert [a["response"] for a in answer(fresh_lab)] == ["Accept"]
    assert sync(invoke, env)[0] == 0
    patch = fresh_lab.admin(
        "PATCH", f"/lab/mailboxes/{bern}/calendar-processing", json={"maximum_duration_in_minutes": 30}
    )
    assert patch.status_code == 200, patch.text
    (item,) = live(fresh_lab, diego)
    edit = fresh_lab.admin(  # Outlook sets the location to the room it adds (Room Finder)
        "PATCH",
        f"/lab/mailboxes/{diego}/calendar/{item['id']}",
        json={"resources": [bern], "location": "Bern"},
    )
    assert edit.status_code == 200, edit.text
    answered = {a["room"].lower(): a["response"] for a in answer(fresh_lab)}
    assert answered == {bern.lower(): "Decline"}, answered
    sync(invoke, env)

    ok(invoke("bookings", "update", "1", "--room", bern, env=env))
    assert live(fresh_lab, bern, organizer=diego) == []  # Bern declined: it holds nothing
    runs = [sync(invoke, env) for _ in range(2)]
    failures = [[f for m in doc["mailboxes"] for f in m["failures"]] for _, doc in runs]
    assert column(invoke, env)[1]["sync"] == "room-declined", failures
    assert all(any("declined" in f for f in found) for found in failures), failures


def test_resolve_use_exchange_of_a_room_moved_to_the_required_attendees_is_not_called_removed(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS' synced meeting (booking 1, room-zurich, accepted) is edited in Outlook: Zürich is moved
    from the Resources line to the To line (a required attendee, as when the room is typed into To); Zürich
    accepts the update and keeps the slot. Two passes; then `sync resolve 1 --use exchange` for whatever
    difference they recorded.
    Expected (docs/sync.md "One synced room per meeting": "Every resource, required and optional attendee is
    examined, on new meetings and on synced ones ... the first ROOMS room ... is the booking's room"; issue 20
    item 4): Zürich is still the meeting's room, so no "room" difference to "no room" is recorded, or
    `--use exchange` keeps Zürich. Actual: the pass compares the first resource only and records "room changed
    — Exchange: (none)" (and the room as an attendee difference); `sync resolve 1 --use exchange` is refused,
    exit 1: "the meeting of booking 1 has no room in Exchange (removed in Outlook)", and advises cancelling
    the booking "to follow Exchange" — which would cancel a meeting whose room accepted it."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_hour_booking(invoke, env, diego, zurich, DAY, "Planning")
    assert sync(invoke, env)[0] == 0
    assert [a["response"] for a in answer(fresh_lab)] == ["Accept"]
    assert sync(invoke, env)[0] == 0
    (item,) = live(fresh_lab, diego)
    edit = fresh_lab.admin(
        "PATCH",
        f"/lab/mailboxes/{diego}/calendar/{item['id']}",
        json={"resources": [], "attendees": [zurich]},
    )
    assert edit.status_code == 200, edit.text
    assert [a["response"] for a in answer(fresh_lab)] == ["Accept"]
    assert len(live(fresh_lab, zurich, organizer=diego)) == 1  # Zürich holds the slot
    for _ in range(2):
        sync(invoke, env)

    diff = json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)
    if not any("room" in d["fields"] for d in diff["differences"]):
        return  # no room difference recorded: Zürich is the meeting's room
    resolved = invoke("sync", "resolve", "1", "--use", "exchange", env=env)
    assert resolved.code == 0 and "removed in Outlook" not in resolved.out + resolved.err, (
        resolved.out + resolved.err
    )
    assert column(invoke, env)[1]["room"].lower() == zurich.lower()
