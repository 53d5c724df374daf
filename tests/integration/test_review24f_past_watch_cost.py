"""review24f: over Graph, the no-op pass of a person who had a booked meeting in the last five weeks costs two
requests per mailbox, not one: `MailboxSync._beyond_reach` reads (by $batch) every linked meeting that ended up to
`PAST_WATCH` (31 days) before the window's start, on every pass, changed or not.

Steps: DiegoS (Microsoft365) has a booking in two days, synced. In Outlook the meeting is moved to 10 days ago (so
it ended 3 days before the window's start, `sync.window_days_past` 7; in a real installation every meeting gets
there by itself a week after it took place), and a pass applies the move. Then two passes with nothing changed.

Expected (issue 24, Deliver 6: "no-op ≤ 1.05 requests per mailbox"; README's Graph table: "no-op pass: requests per
mailbox 1.00"): the no-op pass sends one request to Graph for the mailbox (the calendarView delta), as over EWS.

Actual: every no-op pass sends two (the delta and a $batch of GETs of the past linked meetings), for 31 days after
each meeting leaves the window; a person booking once a week always has some there, so the steady-state no-op pass
over Graph is 2 requests per mailbox — twice the target, and the benchmark (bookings in the future only) does not
show it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, live, stamp, sync

pytestmark = pytest.mark.integration


def graph_requests(lab: LabHelper) -> dict[str, int]:
    return {k: v for k, v in lab.requests().items() if k.lower().startswith("graph")}


def test_review24f_the_no_op_pass_over_graph_is_one_request_per_mailbox_with_a_past_meeting(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    assert sync(invoke, env)[1][diego]["created"] == 1
    (meeting,) = live(lab, diego)
    past = DAY - timedelta(days=12)
    moved = {"start": stamp(past), "end": stamp(past + timedelta(hours=1))}
    edit = lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}", json=moved)
    assert edit.status_code == 200, edit.text
    sync(invoke, env)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["start"].startswith(stamp(past)[:10]), booking  # the move was applied
    sync(invoke, env)

    lab.reset_requests()
    sync(invoke, env)
    assert sum(graph_requests(lab).values()) <= 1, lab.requests()
