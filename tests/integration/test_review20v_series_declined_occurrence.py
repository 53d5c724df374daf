"""review20v: a series its room accepted without an occurrence (review20s) is shown `room-declined` by `bookings
list` and reported by every pass, but `sync diff` — the administrator's list of what is not as ROOMS says — lists
nothing.

Steps as test_review20s_series_occurrence_declined.py: Zürich allows one conflicting occurrence per series
(MaximumConflictInstances 1, ConflictPercentageAllowed 50); DiegoS (no roomsops person) holds Zürich in Outlook on
the second of AdeleV's four weekly Tuesdays; Zürich accepts Adele's ROOMS series without that occurrence; the pass
after reports "accepted the series but declined 1 occurrence(s)" and `bookings list` shows `room-declined`.

Expected (issue 20 Deliver 1: "`declined` is a persistent state shown in `bookings list` ..., in `sync diff`, in the
summary and the log on every pass until resolved, with the reason"): `sync diff --json` lists the booking under
`rooms`, kind `room-declined`, its reason naming the declined occurrence — as it does for a series declined whole.

Fixed (fix20w): `q.room_problems` lists such a link too (`room_problem_kind`: `room-declined`).

Was: `sync diff` (and `sync serve`'s declined rows, the same query) read `q.room_problems`, which selects links in
state `room-declined` only; the partial decline is kept as a note on a `linked` link (OCCURRENCES_DECLINED), so the
diff's `rooms` is empty.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from roomsops.adapters import store as db
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.db import now_utc
from tests.conftest import Invoke, ok
from tests.integration.test_series_sync import ZURICH

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import answer, bookings, outlook_new

pytestmark = pytest.mark.integration


def test_review20v_sync_diff_lists_a_series_accepted_without_an_occurrence(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, adele, zurich = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    settings = {
        "booking_window_in_days": 1080,
        "maximum_conflict_instances": 1,
        "conflict_percentage_allowed": 50,
    }
    assert lab.admin("PATCH", f"mailboxes/{zurich}/calendar-processing", json=settings).status_code == 200
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=14 + (1 - today.weekday()) % 7)
    second = datetime(first.year, first.month, first.day, 9, tzinfo=ZURICH) + timedelta(weeks=1)
    outlook_new(lab, diego, "Diego own", second.astimezone(UTC), resources=[zurich])
    answer(lab)
    window = ["--start", f"{first}T09:00", "--end", f"{first}T10:00", "--weekly", "tue", "--count", "4"]
    made = ok(
        invoke(
            "--json",
            "bookings",
            "add",
            "--organizer",
            adele,
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
    assert [(a["subject"], a["response"]) for a in answer(lab)] == [("Adele weekly", "Accept")]
    reported = invoke("sync", env=env)
    assert "declined 1 occurrence" in reported.out, reported.out
    assert bookings(invoke, env)[booking]["sync"] == "room-declined"
    diff = invoke("--json", "sync", "diff", env=env)
    rooms = {p["booking_id"]: p for p in json.loads(diff.out)["rooms"]}
    shown = rooms.get(booking, {})
    assert (shown.get("kind"), f"{second:%Y-%m-%d %H:%M}" in shown.get("reason", "")) == (
        "room-declined",
        True,
    ), (diff.code, diff.out)
    # `sync serve`'s declined rows: the same query, the same word.
    store = db.open_store(env["ROOMSOPS_ROOMS_DATABASE"])
    try:
        with store.read() as conn:
            rows = [
                (link.booking_id, q.room_problem_kind(link)) for link in q.room_problems(conn, now=now_utc())
            ]
    finally:
        store.close()
    assert rows == [(booking, "room-declined")]
