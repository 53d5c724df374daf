"""fix20j (issue 20): a room listed both as a resource and on the To line answers on one of its entries; a new
meeting awaiting a room's answer is reported on every pass, against the lab, over EWS and over Microsoft Graph."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
AWAITING = "awaiting the room's answer"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def answers(lab: Any) -> dict[str, str]:
    response = lab.admin("POST", "/lab/room-answers/process")
    assert response.status_code == 200, response.text
    return {a["room"].lower(): a["response"] for a in response.json()["answered"]}


def skipped(run: Any) -> list[int]:
    return [m["skipped"].get(AWAITING, 0) for m in json.loads(run.out)["mailboxes"]]


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_a_room_listed_as_resource_and_required_attendee_is_booked_on_its_accept(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: Zürich is a ROOMS room. DiegoS (`mode`) makes "Twice listed" in Outlook with Zürich as a resource and
    on the To line (with AdeleV); Zürich accepts (Exchange records the answer on one entry, the other says
    Unknown); one pass. Expected: booking 1 in Zürich, linked, nothing awaiting. Before: only the resource entry's
    Unknown was read: "awaiting the room's answer" on every pass, never booked."""
    diego, adele, zurich = addr("DiegoS"), addr("AdeleV"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(invoke("sync", env=env))  # the mailbox's first pass: its position
    start = DAY + timedelta(hours=3)
    meeting = {
        "subject": "Twice listed",
        "start": stamp(start),
        "end": stamp(start + timedelta(hours=1)),
        "resources": [zurich],
        "attendees": [adele, zurich],
    }
    assert fresh_lab.admin("POST", f"/lab/mailboxes/{diego}/calendar", json=meeting).status_code == 201
    assert answers(fresh_lab) == {zurich.lower(): "Accept"}
    run = invoke("--json", "sync", env=env)
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert ([(b["id"], b["room"].lower(), b["sync"]) for b in found], skipped(run)) == (
        [(1, zurich.lower(), "linked")],
        [0],
    ), (found, run.out)


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_a_new_meeting_awaiting_the_rooms_answer_is_reported_on_every_pass(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: Zürich is a ROOMS room. DiegoS (`mode`) makes "Unanswered" in Outlook with Zürich; the room does not
    answer yet; three passes; then the room accepts; one pass.
    Expected: each of the three passes counts the meeting as "awaiting the room's answer" (summary and --json) and
    books nothing; the pass after the accept books it and awaits nothing. Before: only the first pass said it."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(invoke("sync", env=env))  # the mailbox's first pass: its position
    start = DAY + timedelta(hours=4)
    meeting = {
        "subject": "Unanswered",
        "start": stamp(start),
        "end": stamp(start + timedelta(hours=1)),
        "resources": [zurich],
    }
    assert fresh_lab.admin("POST", f"/lab/mailboxes/{diego}/calendar", json=meeting).status_code == 201
    runs = [invoke("--json", "sync", env=env) for _ in range(2)]
    human = invoke("sync", env=env)
    listed = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert ([skipped(r) for r in runs], f"1 {AWAITING}" in human.out, listed) == ([[1], [1]], True, []), (
        [r.out for r in runs],
        human.out,
        listed,
    )
    assert answers(fresh_lab) == {zurich.lower(): "Accept"}
    after = invoke("--json", "sync", env=env)
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert ([(b["room"].lower(), b["sync"]) for b in found], skipped(after)) == (
        [(zurich.lower(), "linked")],
        [0],
    ), (found, after.out)
