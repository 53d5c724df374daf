"""fix24g: over Graph the delta round starts `PAST_WATCH` before the sync window, so Graph itself reports what
happens to linked meetings there (no extra request per pass). An Outlook meeting without a link that ended before
the sync window's start is outside the window: never a new booking (docs/sync.md, "Dates"). After
`sync.window_days_past` is widened, the linked meetings older than the old round's start are read once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, live, outlook_new, stamp, sync

pytestmark = pytest.mark.integration


def graph_requests(lab: LabHelper) -> int:
    return sum(v for k, v in lab.requests().items() if k.lower().startswith("graph"))


def test_fix24g_an_outlook_meeting_before_the_window_is_not_booked_one_in_it_is(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    sync(invoke, env)
    outlook_new(lab, diego, "Last week's review", DAY - timedelta(days=12), resources=[zurich])
    outlook_new(lab, diego, "Planning", DAY, resources=[zurich])
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200
    code, mailboxes = sync(invoke, env)
    assert code == 0, mailboxes
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert [b["title"] for b in found] == ["Planning"]


def test_fix24g_a_widened_window_reads_the_links_before_the_old_round_once(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    # 48 days back: before the round of `sync.window_days_past` 7 (38 days back), inside that of 30 (61 days).
    old = (datetime.now(UTC) - timedelta(days=48)).replace(hour=8, minute=0, second=0, microsecond=0)
    add_booking(invoke, env, diego, zurich, DAY, "Long ago")
    assert sync(invoke, env)[1][diego]["created"] == 1
    (meeting,) = live(lab, diego)
    moved = {"start": stamp(old), "end": stamp(old + timedelta(hours=1))}
    edit = lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}", json=moved)
    assert edit.status_code == 200, edit.text
    sync(invoke, env)  # Graph reports it removed from the round: read, still there, the move applied
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["start"].startswith(stamp(old)[:10]), booking
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}")
    assert gone.status_code in (200, 204), gone.text
    sync(invoke, env)  # not watched with the window of 7 days (left to the full reconciliation)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["status"] == "active", booking

    wider = {**env, "ROOMSOPS_SYNC_WINDOW_DAYS_PAST": "30"}
    sync(invoke, wider)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=wider)).out)["bookings"]
    assert booking["status"] == "cancelled", booking
    lab.reset_requests()
    sync(invoke, wider)
    assert graph_requests(lab) == 1, lab.requests()  # the new round's delta only: nothing read again
