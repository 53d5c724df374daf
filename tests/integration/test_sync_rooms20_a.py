"""Issue 20, items 1, 3, 4 and 6: the room's own answer is the truth. Regression tests against the lab (real
exchangelib, TLS); the rooms answer only when a test asks (POST /lab/room-answers/process), so every step is
deterministic."""

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


def items(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return list(lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"])


def live(lab: Any, mailbox: str, organizer: str | None = None) -> list[dict[str, Any]]:
    """Live items of the mailbox's calendar (organized by `organizer`, by default the mailbox itself)."""
    who = (organizer or mailbox).lower()
    return [i for i in items(lab, mailbox) if i["organizer"].lower() == who and not i["is_cancelled"]]


def outlook_new(lab: Any, mailbox: str, subject: str, start: datetime, **fields: Any) -> dict[str, Any]:
    body = {"subject": subject, "start": stamp(start), "end": stamp(start + timedelta(hours=1)), **fields}
    response = lab.admin("POST", f"/lab/mailboxes/{mailbox}/calendar", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def answer(lab: Any) -> list[dict[str, Any]]:
    """The rooms answer every request waiting; their answers (room, subject, response, reason)."""
    response = lab.admin("POST", "/lab/room-answers/process")
    assert response.status_code == 200, response.text
    return list(response.json()["answered"])


def sync(invoke: Invoke, env: dict[str, str]) -> tuple[int, dict[str, dict[str, Any]]]:
    run = invoke("--json", "sync", env=env)
    assert run.code in (0, 1), run.out + run.err
    return run.code, {m["mailbox"].lower(): m for m in json.loads(run.out)["mailboxes"]}


def bookings(invoke: Invoke, env: dict[str, str]) -> dict[int, dict[str, Any]]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b for b in found}


def links(env: dict[str, str]) -> dict[int, tuple[str, str | None]]:
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return {
            b: (s, e) for b, s, e in conn.execute("SELECT booking_id, state, last_error FROM booking_sync")
        }


def room_problems(invoke: Invoke, env: dict[str, str]) -> dict[int, dict[str, Any]]:
    doc = json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)
    return {p["booking_id"]: p for p in doc["rooms"]}


def add_booking(
    invoke: Invoke, env: dict[str, str], organizer: str, room: str, start: datetime, title: str
) -> None:
    add_hour_booking(invoke, env, organizer, room, start, title)


def addresses(people: list[dict[str, Any]]) -> list[str]:
    return sorted(p["email"].lower() for p in people)


def test_item1_a_declined_booking_is_a_state_with_its_reason_until_the_room_accepts(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """The room declines booking 1 (its calendar holds Adele's Outlook meeting: a conflict) and booking 2 (200
    days ahead: beyond its booking window). Each pass reports both with the reason, `sync diff` lists them with
    it, the link keeps it; moving booking 1 to a free hour, accepted by the room, settles it."""
    diego, adele, zurich = addr("DiegoS"), addr("AdeleV"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    outlook_new(fresh_lab, adele, "Adele's own", DAY, resources=[zurich])  # Adele is no ROOMS person
    assert [a["response"] for a in answer(fresh_lab)] == ["Accept"]
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    add_booking(invoke, env, diego, zurich, DAY + timedelta(days=200), "Far away")
    assert sync(invoke, env)[0] == 0
    assert [a["response"] for a in answer(fresh_lab)] == ["Decline", "Decline"]
    for _ in range(2):  # the pass that reads the answers, and a pass with nothing changed
        code, found = sync(invoke, env)
        assert code == 1
        failures = found[diego.lower()]["failures"]
        (conflict,) = [f for f in failures if f.startswith("booking 1 (Planning)")]
        (window,) = [f for f in failures if f.startswith("booking 2 (Far away)")]
        assert "declined" in conflict and "conflict" in conflict and adele.lower() in conflict
        assert "declined" in window and "booking policy" in window and "booking window" in window
        state = links(env)
        assert state[1][0] == state[2][0] == "room-declined"
        assert "conflict" in (state[1][1] or "") and "booking policy" in (state[2][1] or "")
        problems = room_problems(invoke, env)
        assert sorted(problems) == [1, 2]
        assert problems[1]["kind"] == "room-declined" and "conflict" in problems[1]["reason"]
    # Moved in ROOMS to a free hour: the room accepts, the booking is confirmed, nothing more is reported.
    later = DAY + timedelta(hours=3)
    ok(
        invoke(
            "bookings",
            "update",
            "1",
            "--start",
            later.isoformat(),
            "--end",
            stamp(later + timedelta(hours=1)),
            env=env,
        )
    )
    sync(invoke, env)
    assert [a["response"] for a in answer(fresh_lab)] == ["Accept"]
    code, found = sync(invoke, env)
    assert links(env)[1] == ("linked", None)
    assert sorted(room_problems(invoke, env)) == [2]
    assert not [f for f in found[diego.lower()]["failures"] if f.startswith("booking 1 ")]


def test_item3_a_new_outlook_meeting_becomes_a_booking_only_once_the_room_accepted(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Diego and Adele each invite the Sync-Master room to the same slot in Outlook. Before the room answers,
    nothing is booked; the room accepts Diego (first) and declines Adele: Diego gets the booking, Adele's decline
    is reported and the room is taken off her meeting only (Diego's keeps it)."""
    diego, adele, zurich = addr("DiegoS"), addr("AdeleV"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", "--sync-master", env=env))
    for person in (diego, adele):
        ok(invoke("persons", "add", person, "--sync-mode", "O365", env=env))
    assert sync(invoke, env)[0] == 0  # the positions the next passes read from
    outlook_new(fresh_lab, diego, "Diego's", DAY, resources=[zurich], location="Zürich")
    outlook_new(fresh_lab, adele, "Adele's", DAY, resources=[zurich], location="Zürich")
    code, found = sync(invoke, env)
    assert code == 0 and bookings(invoke, env) == {}  # the room has not answered: nothing booked yet
    assert found[diego.lower()]["skipped"] == {"awaiting the room's answer": 1}
    answers = {a["subject"]: a["response"] for a in answer(fresh_lab)}
    assert answers == {"Diego's": "Accept", "Adele's": "Decline"}
    code, found = sync(invoke, env)
    assert code == 1
    assert [b["title"] for b in bookings(invoke, env).values()] == ["Diego's"]
    (failure,) = found[adele.lower()]["failures"]
    assert "Adele's" in failure and "declined" in failure and "removed" in failure and "conflict" in failure
    assert found[adele.lower()]["bookings_created"] == 0
    (adeles,) = live(fresh_lab, adele)
    assert addresses(adeles["resources"]) == []  # the room is off the meeting that does not hold it
    (diegos,) = live(fresh_lab, diego)
    assert addresses(diegos["resources"]) == [zurich.lower()]
    assert [i["uid"] for i in live(fresh_lab, zurich, organizer=diego)] == [diegos["uid"]]
    assert sync(invoke, env)[0] == 0  # settled: nothing more to do or report
    assert len(bookings(invoke, env)) == 1


def test_item4_one_synced_room_per_meeting_every_resource_and_attendee_examined(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """A ROOMS room listed as the second resource is booked (the first, Bern, is no ROOMS room then); a second
    ROOMS room (Bern, now Sync-Master, listed as a required attendee) is reported and removed from that meeting
    exactly: the other resource and the other attendee stay, and the write was read back."""
    diego, adele, zurich, bern = addr("DiegoS"), addr("AdeleV"), addr("room-zurich"), addr("room-bern")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    assert sync(invoke, env)[0] == 0
    outlook_new(fresh_lab, diego, "Zürich second", DAY, resources=[bern, zurich])
    answer(fresh_lab)
    assert sync(invoke, env)[0] == 0
    (first,) = bookings(invoke, env).values()
    assert (first["title"], first["room"].lower()) == ("Zürich second", zurich.lower())

    ok(invoke("rooms", "add", bern, "--name", "Bern", "--sync-master", env=env))
    outlook_new(
        fresh_lab, diego, "Two rooms", DAY + timedelta(hours=2), resources=[zurich], attendees=[adele, bern]
    )
    answer(fresh_lab)
    code, found = sync(invoke, env)
    assert code == 1
    (failure,) = found[diego.lower()]["failures"]
    assert "'Two rooms'" in failure and "second ROOMS room" in failure and bern.lower() in failure.lower()
    assert "removed" in failure
    # The update that removed Bern may ask Zürich again (the lab re-sends it to every attendee): the booking is
    # made once Zürich has answered it.
    answer(fresh_lab)
    assert sync(invoke, env)[0] == 0
    second = [b for b in bookings(invoke, env).values() if b["title"] == "Two rooms"]
    assert [b["room"].lower() for b in second] == [zurich.lower()]
    (meeting,) = [i for i in live(fresh_lab, diego) if i["subject"] == "Two rooms"]
    assert addresses(meeting["resources"]) == [zurich.lower()]
    assert addresses(meeting["required_attendees"]) == [adele.lower()]
    assert meeting["uid"] not in [i["uid"] for i in live(fresh_lab, bern, organizer=diego)]  # Bern holds none
    assert sync(invoke, env)[0] == 0  # settled: no difference recorded for the removal
    assert json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"] == []

    # Bern, listed as a required attendee only, accepts a slot ROOMS gave to Lee (not synced: the room's calendar
    # is free): Sync-Master takes exactly Bern off the meeting (it used to write room="" and leave it there).
    lee = addr("LeeG")
    ok(invoke("persons", "add", lee, "--sync-mode", "None", env=env))
    taken = DAY + timedelta(hours=5)
    add_booking(invoke, env, lee, bern, taken, "Lee's")
    outlook_new(fresh_lab, diego, "Taken", taken, attendees=[adele, bern])
    assert [a["response"] for a in answer(fresh_lab)] == ["Accept"]
    code, found = sync(invoke, env)
    assert code == 1
    (failure,) = found[diego.lower()]["failures"]
    assert "'Taken'" in failure and "taken in ROOMS" in failure and "removed" in failure
    (meeting,) = [i for i in live(fresh_lab, diego) if i["subject"] == "Taken"]
    assert (addresses(meeting["resources"]), addresses(meeting["required_attendees"])) == (
        [],
        [adele.lower()],
    )


def test_item6_delete_without_cancellation_frees_the_rooms_copy_or_reports_it(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Outlook's "delete without sending a cancellation": the booking is cancelled and roomsops removes the
    room's copy. When the room's mailbox cannot be opened, the room is reported as still holding the slot on
    every pass (and in `sync diff`) until it can, then freed."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    add_booking(invoke, env, diego, zurich, DAY + timedelta(hours=2), "Review")
    assert sync(invoke, env)[0] == 0
    assert [a["response"] for a in answer(fresh_lab)] == ["Accept", "Accept"]
    assert sync(invoke, env)[0] == 0

    uids = {i["subject"]: i["uid"] for i in live(fresh_lab, diego)}

    def delete_silently(subject: str) -> None:
        (item,) = [i for i in live(fresh_lab, diego) if i["subject"] == subject]
        response = fresh_lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}?cancel=false")
        assert response.status_code == 200, response.text

    delete_silently("Planning")
    code, found = sync(invoke, env)
    assert code == 0, found
    assert bookings(invoke, env)[1]["status"] == "cancelled"
    assert [i["uid"] for i in live(fresh_lab, zurich, organizer=diego)] == [uids["Review"]]
    assert found[diego.lower()]["rooms_released"] == 1

    with fresh_lab.lab.tenant.change() as state:  # roomsops may not open the room's mailbox now
        next(m for m in state.mailboxes if m.primary_smtp.lower() == zurich.lower()).ews_enabled = False
    delete_silently("Review")
    for _ in range(2):
        code, found = sync(invoke, env)
        assert code == 1
        (failure,) = found[diego.lower()]["failures"]
        assert failure.startswith("booking 2 (Review)") and "still holds the slot" in failure
        assert bookings(invoke, env)[2]["status"] == "cancelled"
        assert room_problems(invoke, env)[2]["kind"] == "room-holds"
    assert len(live(fresh_lab, zurich, organizer=diego)) == 1
    with fresh_lab.lab.tenant.change() as state:
        next(m for m in state.mailboxes if m.primary_smtp.lower() == zurich.lower()).ews_enabled = None
    code, found = sync(invoke, env)
    assert code == 0, found
    assert found[diego.lower()]["rooms_released"] == 1
    assert live(fresh_lab, zurich, organizer=diego) == []
    assert room_problems(invoke, env) == {}
    assert sync(invoke, env)[0] == 0
