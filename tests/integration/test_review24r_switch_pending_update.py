"""review24r: a person switched between EWS and Graph WITHOUT `sync migrate` (`persons set --sync-mode`, exit 0;
docs/sync.md: the pass heals such a switch by tag) whose `pending-update` meeting (an Outlook room meeting whose
tagging write was lost) was moved in Outlook beyond the sync window.

fix24q made `sync migrate` look such a meeting up by its UID over the whole calendar (`find_untagged_by_uid`), so
a meeting moved beyond every window is not taken as deleted. The heal path (`MailboxSync._relink`) still looks
untagged meetings up in the window only (`find_untagged(window)`): the meeting is not found, `gone_over_service`
lets go of the link's id (a `pending-update` link is no `deleted_if_missing` one), and the first pass over the new
service creates the meeting AGAIN from the booking at its old slot: two meetings in the person's calendar, the
room invited a second time, the booking never following the move. The same move with `sync migrate` keeps one
meeting and moves the booking (test_fix24q_migrate_far_by_uid.py).

The same root — `gone_over_service` lets a `pending-update` link go of its id (it is no `deleted_if_missing` one),
so the booking is written again as a new meeting — brings back a `pending-update` meeting Diego DELETED in Outlook
(tagged or not): over EWS without the switch, and after `sync migrate`, its booking is cancelled and nothing is
made again (checked: the second test passes with the `persons set` line left out)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, links, live, outlook_new, stamp

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("mode", "to", "fault"),
    [("O365", "Microsoft365", ("ews", "UpdateItem")), ("Microsoft365", "O365", ("graph", "events.update"))],
)
def test_review24r_a_switch_without_migrate_makes_no_second_meeting_for_an_untagged_one_moved_far(
    invoke: Invoke,
    env: dict[str, str],
    fresh_lab: LabHelper,
    addr: Addr,
    mode: str,
    to: str,
    fault: tuple[str, str],
) -> None:
    lab = fresh_lab
    env = {**env, "ROOMSOPS_SYNC_WINDOW_DAYS_FUTURE": "30"}
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(invoke("sync", env=env))  # the mailbox's position
    outlook_new(lab, diego, "Own workshop", DAY + timedelta(hours=2), resources=[zurich])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    lab.fault(protocol=fault[0], operation=fault[1], kind="drop_before", count=2)
    assert invoke("sync", env=env).code == 1  # the tagging write lost, its retry too
    lab.clear_faults()
    assert links(env)[1][0] == "pending-update"
    (item,) = live(lab, diego)
    far = DAY + timedelta(days=60, hours=2)
    moved = {"start": stamp(far), "end": stamp(far + timedelta(hours=1))}
    assert lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{item['id']}", json=moved).status_code == 200

    ok(invoke("persons", "set", diego, "--sync-mode", to, env=env))  # no `sync migrate`
    invoke("sync", env=env)  # the first pass over the new service heals the switch
    invoke("sync", env=env)
    # One meeting: the one Outlook moved, not a second one made again at the booking's old slot (the room
    # invited twice, the person's calendar showing the workshop twice).
    starts = sorted(m["start"] for m in live(lab, diego))
    assert starts == [stamp(far)], starts
    booking = bookings(invoke, env)[1]
    assert (booking["status"], booking["start"][:16]) == ("active", stamp(far)[:16]), booking


@pytest.mark.parametrize(
    ("how", "switch"), [("tagging", "persons set"), ("rewrite", "persons set"), ("tagging", "sync.backend")]
)
def test_review24r_a_switch_without_migrate_does_not_bring_back_a_pending_update_meeting_deleted_in_outlook(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, how: str, switch: str
) -> None:
    """The same `pending-update` link (its write lost) whose meeting Diego deleted in Outlook, then moved to Graph
    by `persons set` alone: the booking is cancelled, as over EWS and as after `sync migrate`
    (test_review24n_migrate_pending_deleted.py); the meeting is not made again."""
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    if how == "tagging":
        ok(invoke("sync", env=env))  # the mailbox's position
        outlook_new(lab, diego, "Own workshop", DAY + timedelta(hours=2), resources=[zurich])
        assert [a["response"] for a in answer(lab)] == ["Accept"]
    else:
        add_booking(invoke, env, diego, zurich, DAY, "Planning")
        ok(invoke("sync", env=env))
        answer(lab)
        ok(invoke("sync", env=env))
        ok(invoke("bookings", "update", "1", "--title", "Planning (moved agenda)", env=env))
    lab.fault(protocol="ews", operation="UpdateItem", kind="drop_before", count=2)
    assert invoke("sync", env=env).code == 1  # the write lost, its retry too
    lab.clear_faults()
    assert links(env)[1][0] == "pending-update"
    (item,) = live(lab, diego)
    assert lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}").status_code == 200

    if switch == "persons set":  # no `sync migrate`
        ok(invoke("persons", "set", diego, "--sync-mode", "Microsoft365", env=env))
    else:  # README: `sync.backend = "graph"` sends the O365 persons over Graph too
        env = {**env, "ROOMSOPS_SYNC_BACKEND": "graph"}
    invoke("sync", env=env)
    invoke("sync", env=env)
    assert [m["subject"] for m in live(lab, diego)] == []
    assert bookings(invoke, env)[1]["status"] == "cancelled"


def test_review24r_migrate_after_a_bare_mode_switch_still_moves_the_links(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    """An administrator switched Diego with `persons set --sync-mode Microsoft365`, then reads docs/sync.md and
    runs `sync migrate --to graph --person diego` before the next pass, as the way to move "without a duplicate".
    The links still name EWS items (the recorded service is EWS), yet migrate answers "already Microsoft365"
    (`migrate()` looks at the mode only, the recorded service only for persons who left the sync) and moves
    nothing: the first pass heals the switch by the window-only look-up, and the untagged `pending-update` meeting
    Outlook moved beyond the window is made again (first test of this file)."""
    lab = fresh_lab
    env = {**env, "ROOMSOPS_SYNC_WINDOW_DAYS_FUTURE": "30"}
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))  # the mailbox's position
    outlook_new(lab, diego, "Own workshop", DAY + timedelta(hours=2), resources=[zurich])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    lab.fault(protocol="ews", operation="UpdateItem", kind="drop_before", count=2)
    assert invoke("sync", env=env).code == 1  # the tagging write lost, its retry too
    lab.clear_faults()
    (item,) = live(lab, diego)
    far = DAY + timedelta(days=60, hours=2)
    moved = {"start": stamp(far), "end": stamp(far + timedelta(hours=1))}
    assert lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{item['id']}", json=moved).status_code == 200

    ok(invoke("persons", "set", diego, "--sync-mode", "Microsoft365", env=env))
    run = invoke("--json", "sync", "migrate", "--to", "graph", "--person", diego, env=env)
    (person,) = json.loads(run.out)["persons"]
    invoke("sync", env=env)
    starts = sorted(m["start"] for m in live(lab, diego))
    assert (person["status"], starts) == ("migrated", [stamp(far)]), (run.out, starts)


def test_review24r_a_switch_without_migrate_cancels_the_far_meeting_of_a_booking_cancelled_in_rooms(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    """The untagged `pending-update` meeting (tagging lost) moved by Outlook beyond the window, then its booking
    cancelled in ROOMS, then `persons set --sync-mode Microsoft365` alone. Over EWS without the switch the pass
    cancels the meeting (review24p, fix24q); here `gone_over_service` takes it as deleted in Outlook
    (`_cancelled_before_written`), the full reconciliation does not look for it (no longer `pending-update`), and
    the meeting and the room's acceptance stand in Exchange for a booking ROOMS shows cancelled."""
    lab = fresh_lab
    env = {**env, "ROOMSOPS_SYNC_WINDOW_DAYS_FUTURE": "30"}
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))  # the mailbox's position
    outlook_new(lab, diego, "Own workshop", DAY + timedelta(hours=2), resources=[zurich])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    lab.fault(protocol="ews", operation="UpdateItem", kind="drop_before", count=2)
    assert invoke("sync", env=env).code == 1  # the tagging write lost, its retry too
    lab.clear_faults()
    (item,) = live(lab, diego)
    far = DAY + timedelta(days=60, hours=2)
    moved = {"start": stamp(far), "end": stamp(far + timedelta(hours=1))}
    assert lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{item['id']}", json=moved).status_code == 200
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))

    ok(invoke("persons", "set", diego, "--sync-mode", "Microsoft365", env=env))  # no `sync migrate`
    invoke("sync", env=env)
    invoke("sync", env=env)
    assert [b["status"] for b in bookings(invoke, env).values()] == ["cancelled"]
    assert live(lab, diego) == []  # cancelled in Outlook: the room freed
