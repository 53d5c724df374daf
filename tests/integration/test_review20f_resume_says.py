"""review20f: what `sync resume` says of a sync-disabled booking (the fix20h resume), against the lab.

fix20h: "`sync resume` keeps a sync-disabled booking sync-disabled" (its link stays `sync-disabled`, no pass writes
it). But the command still tells the administrator "DiegoS...: booking(s) 1 are synced again from the next 'roomsops
sync'", and its JSON lists booking 1 under `resumed` with nothing to tell it apart — the one line the administrator
reads says the opposite of what happens (no later pass syncs booking 1; `bookings list` keeps saying sync-disabled).

Why it is wrong: output must say what was done (design/style: a command's report is the truth an administrator
acts on); docs/sync.md: "a sync-disabled booking stays `sync-disabled`".
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def book(invoke: Invoke, env: dict[str, str], organizer: str, room: str, start: datetime, title: str) -> None:
    add_hour_booking(invoke, env, organizer, room, start, title)


def test_resume_does_not_say_a_sync_disabled_booking_is_synced_again(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS (Rollback, `sync.rollback_attempts` 1) moves his meeting onto AdeleV's slot: rolled back once,
    booking 1 is sync-disabled; his booking 3 is synced normally. He leaves the sync (sync mode None: both held
    back), comes back (O365); `sync resume --person DiegoS`.
    Expected: the resume says booking 3 is synced again and booking 1 stays sync-disabled (or leaves it out).
    Actual: "booking(s) 1, 3 are synced again from the next 'roomsops sync'"."""
    diego, adele, zurich = addr("DiegoS"), addr("AdeleV"), addr("room-zurich")
    once = env | {"ROOMSOPS_SYNC_ROLLBACK_ATTEMPTS": "1"}
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    book(invoke, env, diego, zurich, DAY + timedelta(hours=2), "Planning")
    book(invoke, env, adele, zurich, DAY + timedelta(hours=5), "Taken")
    book(invoke, env, diego, zurich, DAY + timedelta(hours=8), "Review")
    ok(invoke("sync", env=once))
    items = fresh_lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]
    (planning,) = [i for i in items if i["subject"] == "Planning" and not i["is_cancelled"]]
    moved = {"start": stamp(DAY + timedelta(hours=5)), "end": stamp(DAY + timedelta(hours=6))}
    path = f"/lab/mailboxes/{diego}/calendar/{planning['id']}"
    assert fresh_lab.admin("PATCH", path, json=moved).status_code == 200
    assert invoke("sync", env=once).code == 1  # rolled back, attempt 1 of 1: sync-disabled
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    ok(invoke("sync", env=once))
    ok(invoke("persons", "set", diego, "--sync-mode", "O365", env=env))

    said = ok(invoke("sync", "resume", "--person", diego, env=env)).out
    assert "1 stay sync-disabled" in said, said
    ok(invoke("sync", env=once))
    found = {
        b["id"]: b["sync"]
        for b in json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    }
    assert found == {1: "sync-disabled", 2: "room-pending", 3: "room-pending"}, found  # answers unread
    # Which bookings the resume says are synced again ("booking(s) 1, 3 are synced again ..."): never booking 1.
    claimed = {
        int(n)
        for m in re.finditer(r"booking\(s\) ([\d, ]+) (?:are|is) synced again", said)
        for n in m[1].split(",")
    }
    assert 3 in claimed and 1 not in claimed, said
