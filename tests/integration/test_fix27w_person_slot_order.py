"""fix27w: the single-host variant of review27w's slot order — `sync --person` run in the wrong order.

AdeleV books, in ROOMS, the slot DiegoS's cancelled booking freed; `sync --person AdeleV` runs before `sync
--person DiegoS`, so the room gets AdeleV's invitation while DiegoS's meeting still holds the slot and declines it.
DiegoS's run, cancelling that meeting, marks AdeleV's booking (`room_asks`); a later run of AdeleV's mailbox asks
the room again and the booking ends linked, the room's last answer to it an accept. Before fix27w it stayed
room-declined for good (the slot was freed by another run, so no pass asked again).

Real parts: the lab over TLS (EWS, rooms answering at once), the SQLite database, the CLI in-process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def sync_column(invoke: Invoke, env: dict[str, str]) -> dict[int, str]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b["sync"] for b in found}


def test_fix27w_a_slot_freed_by_a_later_person_run_gets_the_room_asked_again(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    zurich = addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    for person in ("DiegoS", "AdeleV"):
        ok(invoke("persons", "add", addr(person), "--sync-mode", "O365", env=env))
    add_hour_booking(invoke, env, addr("DiegoS"), zurich, DAY + timedelta(hours=2), "Planning")
    ok(invoke("sync", env=env))
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    fresh_lab.settings(room_answer_delay=0)
    ok(invoke("sync", env=env))
    assert sync_column(invoke, env) == {1: "linked"}
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    add_hour_booking(invoke, env, addr("AdeleV"), zurich, DAY + timedelta(hours=2), "Review")
    first = invoke("sync", "--person", addr("AdeleV"), env=env)  # the slot still held: the room declines
    assert first.code in (0, 1), (first.code, first.out, first.err)
    ok(invoke("sync", "--person", addr("DiegoS"), env=env))  # frees the slot, marks AdeleV's booking
    for _ in range(3):
        run = invoke("sync", env=env)
        assert run.code in (0, 1), (run.code, run.out, run.err)
    answers = fresh_lab.admin("GET", "/lab/room-answers").json()["answered"]
    to_review = [a["response"] for a in answers if a["subject"] == "Review"]
    column = sync_column(invoke, env)
    assert to_review[:1] == ["Decline"], (
        answers
    )  # the order this test is about: AdeleV's invitation came first
    # before fix27w: (['Decline'], {1: 'cancelled', 2: 'room-declined'})
    assert (to_review[-1:], column) == (["Accept"], {1: "cancelled", 2: "linked"}), (answers, column)
