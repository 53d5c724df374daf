"""review20e: `sync purge --person` and a meeting the conflict behaviour Cancel let go (issue 20 items 7 and 9),
against the lab.

SyncConflictBehaviour Cancel (rooms-product.md: "the ROOMS booking is cancelled and the appointment loses its
link") leaves the meeting to the person, as they moved it; docs/sync.md, state `unlinked`: "the meeting was let go
on purpose ... No later pass, a recovery included, adopts, changes or cancels it". `sync purge` still finds it by
this installation's tag and cancels it — attendees get a cancellation of a meeting the person kept, with no booking
behind it any more (not the "meetings roomsops created" for bookings it holds, that a person leaving the sync
leaves behind).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def live(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]


def book(invoke: Invoke, env: dict[str, str], organizer: str, room: str, start: datetime, title: str) -> None:
    add_hour_booking(invoke, env, organizer, room, start, title)


def test_purge_leaves_a_meeting_the_cancel_behaviour_let_go(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS (SyncConflictBehaviour Cancel, `sync.cancel_attempts` 1) has booking 1 "Planning" 10:00 in
    Zürich, AdeleV booking 2 "Taken" 13:00, both synced. DiegoS moves "Planning" in Outlook to 13:00: the pass
    cancels booking 1 and unlinks the meeting (as ROOMS does). Later DiegoS leaves the sync:
    `sync purge --person DiegoS --dry-run`, then `--yes`.
    Expected: "Planning" is no meeting of a booking any more (let go on purpose): the purge lists nothing and
    cancels nothing. Actual: the dry run lists "Planning" and the purge cancels it."""
    diego, adele, zurich = addr("DiegoS"), addr("AdeleV"), addr("room-zurich")
    cancel_once = env | {"ROOMSOPS_SYNC_CANCEL_ATTEMPTS": "1"}
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", "--conflict-behaviour", "Cancel", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    book(invoke, env, diego, zurich, DAY + timedelta(hours=2), "Planning")
    book(invoke, env, adele, zurich, DAY + timedelta(hours=5), "Taken")
    ok(invoke("sync", env=cancel_once))
    (meeting,) = live(fresh_lab, diego)
    moved = {"start": stamp(DAY + timedelta(hours=5)), "end": stamp(DAY + timedelta(hours=6))}
    path = f"/lab/mailboxes/{diego}/calendar/{meeting['id']}"
    assert fresh_lab.admin("PATCH", path, json=moved).status_code == 200
    assert invoke("sync", env=cancel_once).code == 1  # booking 1 cancelled, the meeting unlinked
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert [(b["id"], b["status"]) for b in found] == [(1, "cancelled"), (2, "active")]
    assert [i["subject"] for i in live(fresh_lab, diego)] == ["Planning"]  # let go: DiegoS's own now

    dry = ok(invoke("sync", "purge", "--person", diego, "--dry-run", env=env))
    ok(invoke("sync", "purge", "--person", diego, "--yes", env=env))
    assert [i["subject"] for i in live(fresh_lab, diego)] == ["Planning"], dry.out
