"""fix20i: a meeting whose booking's room is not its first resource (review20f finding 1, the paths of the same
cause), against the lab.

The link's snapshot records the room the booking holds, wherever the meeting lists it, and a room write replaces only
that room (`core.calendar.replaced_room`): every other resource stays on the meeting, in its place.
- A ROOMS room change (Zürich → Basel) of a meeting listing Bern (no ROOMS room) first: Bern stays, Basel takes
  Zürich's place (EWS and Graph).
- A ROOMS room that declined, listed first (not Sync-Master: reported, never removed), stays through a title change.
- A Rollback reset of an Outlook move (the room taken in ROOMS at the new time) writes the time back, not the
  resources: Bern stays.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def organized(lab: Any, mailbox: str, organizer: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == organizer.lower() and not i["is_cancelled"]]


def answers(lab: Any) -> dict[str, str]:
    response = lab.admin("POST", "/lab/room-answers/process")
    assert response.status_code == 200, response.text
    return {a["room"].lower(): a["response"] for a in response.json()["answered"]}


def resources(item: dict[str, Any]) -> list[str]:
    return [r["email"].lower() for r in item["resources"]]


def outlook_meeting(lab: Any, organizer: str, subject: str, start: datetime, rooms: list[str]) -> None:
    meeting = {
        "subject": subject,
        "start": stamp(start),
        "end": stamp(start + timedelta(hours=1)),
        "resources": rooms,
    }
    assert lab.admin("POST", f"/lab/mailboxes/{organizer}/calendar", json=meeting).status_code == 201


def booked(invoke: Invoke, env: dict[str, str]) -> list[tuple[int, str, str]]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return [(b["id"], b["room"].lower(), b["sync"]) for b in found]


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_a_rooms_room_change_replaces_only_the_bookings_room(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: Zürich and Basel are ROOMS rooms, Bern is not. DiegoS (`mode`) makes "Two rooms" with Bern, then
    Zürich; both accept; booked in Zürich. The administrator moves booking 1 to Basel; a pass.
    Expected: the meeting's resources are Bern, then Basel (Bern kept in its place, Zürich replaced); Bern's calendar
    still holds the meeting, Zürich's no longer. Before: the resources became Basel alone (Bern cancelled)."""
    diego, zurich, bern, basel = addr("DiegoS"), addr("room-zurich"), addr("room-bern"), addr("room-basel")
    made = fresh_lab.admin("POST", "mailboxes", json={"email": basel, "kind": "room"})
    assert made.status_code == 201, made.text
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", basel, "--name", "Basel", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(invoke("sync", env=env))  # the mailbox's first pass: its position
    outlook_meeting(fresh_lab, diego, "Two rooms", DAY + timedelta(hours=2), [bern, zurich])
    assert answers(fresh_lab) == {bern.lower(): "Accept", zurich.lower(): "Accept"}
    ok(invoke("sync", env=env))
    assert booked(invoke, env) == [(1, zurich.lower(), "linked")]

    ok(invoke("bookings", "update", "1", "--room", basel, env=env))
    ok(invoke("sync", env=env))
    assert answers(fresh_lab).get(basel.lower()) == "Accept"
    (item,) = organized(fresh_lab, diego, diego)
    assert resources(item) == [bern.lower(), basel.lower()]
    assert organized(fresh_lab, bern, diego) != []
    assert organized(fresh_lab, zurich, diego) == []
    # Basel's answer not read by a pass yet: room-pending (review20i).
    assert booked(invoke, env) == [(1, basel.lower(), "room-pending")]


def test_a_declined_rooms_room_listed_first_stays_through_a_title_change(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: Zürich and Bern are ROOMS rooms (not Sync-Master). AdeleV (no person of ROOMS) holds Bern at 10:00.
    DiegoS makes "Two rooms" at 10:00 with Bern, then Zürich: Bern declines, Zürich accepts; booked in Zürich, Bern
    reported. The administrator renames booking 1; a pass.
    Expected: the meeting is renamed and still lists Bern, then Zürich (a room that is not Sync-Master is never
    removed). Before: the title write rewrote the resources to Zürich alone."""
    diego, adele, zurich, bern = addr("DiegoS"), addr("AdeleV"), addr("room-zurich"), addr("room-bern")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", bern, "--name", "Bern", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))
    start = DAY + timedelta(hours=2)
    outlook_meeting(fresh_lab, adele, "Bern taken", start, [bern])
    assert answers(fresh_lab) == {bern.lower(): "Accept"}
    outlook_meeting(fresh_lab, diego, "Two rooms", start, [bern, zurich])
    assert answers(fresh_lab) == {bern.lower(): "Decline", zurich.lower(): "Accept"}
    run = invoke("--json", "sync", env=env)
    said = [f for m in json.loads(run.out)["mailboxes"] for f in m["failures"]]
    assert [f for f in said if bern.lower() in f.lower() and "second ROOMS room" in f], said
    assert booked(invoke, env) == [(1, zurich.lower(), "linked")]

    ok(invoke("bookings", "update", "1", "--title", "Renamed", env=env))
    invoke("sync", env=env)  # Bern is reported again (a second ROOMS room): exit 1 or 0, not what is asserted
    (item,) = organized(fresh_lab, diego, diego)
    assert item["subject"] == "Renamed"
    assert resources(item) == [bern.lower(), zurich.lower()]


def test_a_rollback_reset_keeps_the_room_listed_before_the_bookings_room(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: Zürich is a ROOMS room, Bern is not. DiegoS (O365, Rollback) makes "Two rooms" at 10:00 with Bern,
    then Zürich; booked in Zürich. AdeleV's booking holds Zürich at 13:00. DiegoS moves his meeting to 13:00 in
    Outlook; a pass: the room is taken in ROOMS, the meeting is reset to 10:00.
    Expected: the reset writes the time back and leaves the resources alone: Bern, then Zürich. Before: the reset
    rewrote the resources to Zürich alone (Bern cancelled)."""
    diego, adele, zurich, bern = addr("DiegoS"), addr("AdeleV"), addr("room-zurich"), addr("room-bern")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "None", env=env))
    ok(invoke("sync", env=env))
    start = DAY + timedelta(hours=2)
    outlook_meeting(fresh_lab, diego, "Two rooms", start, [bern, zurich])
    answers(fresh_lab)
    ok(invoke("sync", env=env))
    taken = DAY + timedelta(hours=5)
    add = ["bookings", "add", "--organizer", adele, "--room", zurich, "--title", "Taken"]
    ok(invoke(*add, "--start", taken.isoformat(), "--end", (taken + timedelta(hours=1)).isoformat(), env=env))
    (item,) = organized(fresh_lab, diego, diego)
    moved = {"start": stamp(taken), "end": stamp(taken + timedelta(hours=1))}
    path = f"/lab/mailboxes/{diego}/calendar/{item['id']}"
    assert fresh_lab.admin("PATCH", path, json=moved).status_code == 200

    run = invoke("--json", "sync", env=env)
    assert json.loads(run.out)["mailboxes"][0]["rolled_back"] == 1, run.out
    (item,) = organized(fresh_lab, diego, diego)
    assert item["start"].startswith(stamp(start)[:16]), item["start"]
    assert resources(item) == [bern.lower(), zurich.lower()]
