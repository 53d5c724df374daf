"""review20p: a room added to ROOMS after a person's Outlook meeting already holds it: the meeting is not booked
until a full reconciliation (`sync.full_every`, 24 passes), and meanwhile ROOMS gives the slot away.

Steps: DiegoS (`mode`) is synced; Genf is a room mailbox ROOMS does not manage yet. In Outlook Diego invites Genf
to "Own" tomorrow; Genf accepts; a pass (nothing to book: Genf is no ROOMS room). The administrator adds Genf to
ROOMS (`rooms add`). Two passes. Then the administrator books Genf for AdeleV at the same slot in ROOMS (ROOMS shows
it free) and a pass writes it; Genf answers.

Expected (issue 20 Deliver 3, "a new Outlook meeting inviting a ROOMS room ... the booking exists only if the room
accepted"; item 2 of the Why: "Exchange accepted Diego ... ROOMS gave the room to Adele"; fix24i books an Outlook
room meeting made before a *person* joined on the first pass): Diego's accepted meeting becomes a booking once Genf
is a ROOMS room, so ROOMS never offers its slot to Adele.

Before fix20q: the passes after `rooms add` say "nothing to do": the meeting is read again only when it changes or by the
periodic full reconciliation. ROOMS takes Adele's booking for the slot, Genf declines it (conflict with Diego's),
and the full reconciliation later finds Diego's meeting "taken in ROOMS by booking 1" — ROOMS gave the room to Adele
while Exchange gave it to Diego (with Sync-Master, Diego's accepted meeting is stripped of the room).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, answer, bookings, outlook_new

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_review20p_an_outlook_meeting_holding_a_room_added_later_is_booked_before_rooms_gives_its_slot_away(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, adele, genf = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-genf").lower()
    made = lab.admin("POST", "mailboxes", json={"email": genf, "kind": "room"})
    assert made.status_code in (200, 201), made.text
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))  # the mailboxes' positions
    outlook_new(lab, diego, "Own", DAY, resources=[genf])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    invoke("sync", env=env)  # Genf is no ROOMS room yet: nothing to book
    assert bookings(invoke, env) == {}
    ok(invoke("rooms", "add", genf, "--name", "Genf", env=env))
    for _ in range(2):
        invoke("sync", env=env)
    booked = [(b["organizer"], b["title"]) for b in bookings(invoke, env).values() if b["status"] == "active"]
    # The consequence: ROOMS offers the slot Genf gave Diego to Adele, and Genf declines her meeting.
    start = DAY + timedelta(minutes=30)
    adeles = invoke(
        "bookings", "add", "--organizer", adele, "--room", genf, "--title", "Adele in Genf",
        "--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat(), env=env,
    )  # fmt: skip
    if adeles.code == 0:  # ROOMS took it (it would refuse the slot Diego's booking holds)
        invoke("sync", env=env)
    # Over Graph the write that tags Diego's meeting reaches Genf as an update (the lab, docs/sync.md "Invitations"),
    # which it accepts again: that answer is no request for Adele's slot (fix20q).
    answered = [
        (a["subject"], a["response"])
        for a in answer(lab)
        if (a["subject"], a["response"]) != ("Own", "Accept")
    ]
    refused = (
        adeles.code != 0 and "already booked" in adeles.out + adeles.err
    )  # ROOMS knows the slot is Diego's
    assert (booked, refused, answered) == ([(diego, "Own")], True, []), (
        booked,
        adeles.out + adeles.err,
        answered,
    )


def test_fix20q_a_pass_running_while_a_room_is_added_keeps_the_position_forgotten(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    """fix20q: `rooms add` forgets every position; a pass that read the rooms before the add and stores its
    position after it must not store one over that (it never looked for the new room's meetings): it keeps the
    position forgotten, so the next pass books the meeting already holding the room. The pass is held at the lab's
    Graph gate (its delta read) while the room is added: no timing."""
    lab = fresh_lab
    diego, genf = addr("DiegoS").lower(), addr("room-genf").lower()
    made = lab.admin("POST", "mailboxes", json={"email": genf, "kind": "room"})
    assert made.status_code in (200, 201), made.text
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("sync", env=env))  # the mailbox's position
    outlook_new(lab, diego, "Own", DAY, resources=[genf])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("sync", env=env))  # Genf is no ROOMS room yet: nothing to book, the position moves past it
    assert lab.admin("POST", "graph/gate", json={"open": False}).status_code == 200
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "sync"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(1200):  # until the pass's delta read waits at the gate (after it read the rooms)
            if lab.admin("GET", "graph").json()["throttle"]["waiting"] or process.poll() is not None:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the pass ended before the gate held it"
        ok(invoke("rooms", "add", genf, "--name", "Genf", env=env))
    finally:
        lab.admin("POST", "graph/gate", json={"open": True})
    assert process.wait(timeout=120) == 0
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (state,) = db.execute("SELECT sync_state FROM mailbox_sync WHERE mailbox = ?", (diego,)).fetchone()
    assert state is None  # not stored over the add's forgetting
    ok(invoke("sync", env=env))
    booked = [(b["organizer"], b["title"]) for b in bookings(invoke, env).values() if b["status"] == "active"]
    assert booked == [(diego, "Own")]
