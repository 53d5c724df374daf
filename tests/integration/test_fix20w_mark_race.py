"""fix20w (review20v's note on concurrent workers): the mark to ask a room again (`room_asks`) is written before the
write that frees the slot; the pass of another worker may read it in between, ask the room again while the slot is
still held (the room declines again) and clear the mark. The freeing write now marks again after it, with a new
token, so the room is asked again once the slot is free.

Steps as test_fix27w_person_slot_order.py: DiegoS's booking 1 (linked, accepted; Zürich answering at once) is
cancelled and the slot booked for AdeleV (booking 2); `sync --person AdeleV` runs first: the room declines Adele's
meeting. `sync --person DiegoS` then cancels Diego's meeting; between its mark and the cancellation the other
worker's pass is played by a hook (deterministic: the same call, no timing): it takes the mark and clears it by its
token, as a pass re-sending the meeting does (`_save_link(asked=...)`); its re-send, made while Diego's meeting held
the slot, would be declined: the booking stays `room-declined`. Then plain passes.

Expected: booking 2 ends linked, the room's last answer to it an accept. Was: the mark was gone after the
cancellation, no pass asked the room again: booking 2 `room-declined` for good.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from roomsops.adapters import store as db
from roomsops.adapters.store import queries as q
from roomsops.services.sync import engine
from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

from .conftest import Addr, LabHelper
from .test_fix27w_person_slot_order import DAY, sync_column

pytestmark = pytest.mark.integration


def test_fix20w_a_mark_taken_by_another_worker_before_the_slot_is_freed_is_made_again(
    invoke: Invoke,
    env: dict[str, str],
    fresh_lab: LabHelper,
    addr: Addr,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zurich, adele = addr("room-zurich"), addr("AdeleV")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    for person in ("DiegoS", "AdeleV"):
        ok(invoke("persons", "add", addr(person), "--sync-mode", "O365", env=env))
    add_hour_booking(invoke, env, addr("DiegoS"), zurich, DAY + timedelta(hours=2), "Planning")
    ok(invoke("sync", env=env))
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    fresh_lab.settings(room_answer_delay=0)
    ok(invoke("sync", env=env))
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    add_hour_booking(invoke, env, adele, zurich, DAY + timedelta(hours=2), "Review")
    for _ in range(
        2
    ):  # the room declines Adele's invitation (Diego's meeting holds the slot); the decline read
        invoke("sync", "--person", adele, env=env)
    assert sync_column(invoke, env) == {1: "pending", 2: "room-declined"}

    taken: list[q.RoomAsk] = []
    mark = engine.MailboxSync._mark_slot_asks

    def other_worker(self: engine.MailboxSync, *args: Any) -> set[int]:
        marked = mark(self, *args)
        store = db.open_store(env["ROOMSOPS_ROOMS_DATABASE"])
        try:
            with store.write() as conn:
                found = list(q.room_asks_of(conn, adele).values())
                q.clear_room_asks(conn, found)  # Adele's pass, asking again while the slot is held
        finally:
            store.close()
        taken.extend(found)
        return marked

    monkeypatch.setattr(engine.MailboxSync, "_mark_slot_asks", other_worker)
    ok(invoke("sync", "--person", addr("DiegoS"), env=env))  # marks booking 2, cancels Diego's meeting
    monkeypatch.undo()
    assert [t.booking_id for t in taken] == [2]
    for _ in range(2):
        invoke("sync", env=env)
    answers = fresh_lab.admin("GET", "/lab/room-answers").json()["answered"]
    to_review = [a["response"] for a in answers if a["subject"] == "Review"]
    assert (to_review[-1:], sync_column(invoke, env)) == (["Accept"], {1: "cancelled", 2: "linked"}), answers
