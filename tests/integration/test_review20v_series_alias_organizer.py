"""review20v: a person recorded by an alias of their mailbox gets every occurrence of a series the room accepted
whole reported as declined, "taken by" the person's own primary address.

Steps: AdeleV is recorded as a person by her alias adele@ (`persons add --no-check`; as after an administrator made
another address her primary one: README's `persons check` finds such persons). Zürich, free, is booked for her in
ROOMS weekly on four Tuesdays; a pass writes the series (the meeting is made in her mailbox), Zürich accepts it
whole; two more passes.

Expected: the room accepted every occurrence and its calendar holds them all (the lab's calendar shows Adele's
series): the booking is `linked`, the passes report nothing (exit 0), as for the same steps with her primary address.
At most a note that the person's address is an alias — never a decline the room did not make.

Fixed (fix20w): the room's copy is the booking's when it names any address the organizer is known by, the primary
address as Exchange reports it on the organizer's meeting included (`_organizers`).

Was: `_occurrences_declined` takes a room copy for the booking's own only when its organizer equals the booking's
organizer as recorded (the alias); the room's copy names her primary address, so each occurrence is taken for
"another meeting" holding the slot: every pass says "accepted the series but declined 4 occurrence(s) ... (conflict:
taken by adelev@...)", exit 1, and `bookings list` shows `room-declined`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_sync import ZURICH

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import answer, bookings

pytestmark = pytest.mark.integration


def test_review20v_a_series_accepted_whole_is_not_reported_declined_for_an_alias_organizer(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    alias, zurich = addr("AdeleV").replace("AdeleV@", "adele@"), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", alias, "--sync-mode", "O365", "--no-check", env=env))
    ok(invoke("sync", env=env))
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=14 + (1 - today.weekday()) % 7)
    window = ["--start", f"{first}T09:00", "--end", f"{first}T10:00", "--weekly", "tue", "--count", "4"]
    made = ok(
        invoke(
            "--json",
            "bookings",
            "add",
            "--organizer",
            alias,
            "--room",
            zurich,
            "--title",
            "Adele weekly",
            *window,
            env=env,
        )
    )
    booking = int(json.loads(made.out)["booking"]["id"])
    invoke("sync", env=env)
    assert [(a["subject"], a["response"], a["reason"]) for a in answer(lab)] == [
        ("Adele weekly", "Accept", "")
    ]
    after = [invoke("sync", env=env) for _ in range(2)]
    state = bookings(invoke, env)[booking]["sync"]
    assert (state, [run.code for run in after]) == ("linked", [0, 0]), [run.out for run in after]
