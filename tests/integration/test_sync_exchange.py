"""The sync's Exchange → ROOMS direction against the lab: Outlook edits made with exchangelib, conflicts, diffs."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from exchangelib import EWSDateTime
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, CalendarItem
from exchangelib.properties import Attendee, Mailbox

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


@pytest.fixture
def outlook(env: dict[str, str]) -> Any:
    """A user's edits through exchangelib (the app impersonating the user, as Outlook would write them)."""
    from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings
    from roomsops.adapters.ews.client import EwsClient
    from roomsops.core.settings import app_settings_path, load_settings

    settings = load_settings(env["ROOMSOPS_SETTINGS"], environ={})
    provider = TokenProvider(
        credentials_from_app_settings(app_settings_path(None, settings, {}), settings, os.environ), settings
    )
    return EwsClient(settings, provider)


def booking(invoke: Invoke, env: dict[str, str], booking_id: int = 1) -> dict[str, Any]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return next(b for b in found if b["id"] == booking_id)


def meeting_of(client: Any, mailbox: str) -> CalendarItem:
    items = [
        i
        for i in client.calendar(mailbox).all()
        if i.organizer and i.organizer.email_address.lower() == mailbox.lower()
    ]
    assert len(items) == 1, items
    return items[0]


def edit(item: CalendarItem, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(item, name, value)
    item.save(update_fields=list(fields), send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)


@pytest.fixture
def synced(invoke: Invoke, env: dict[str, str], addr: Any) -> Any:
    """DiegoS (conflict behaviour as given) with one booking of room-zurich, synced once."""

    def make(behaviour: str = "Rollback", sync_master: bool = False) -> None:
        flag = ["--sync-master"] if sync_master else []
        ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", *flag, env=env))
        ok(
            invoke(
                "persons",
                "add",
                addr("DiegoS"),
                "--sync-mode",
                "O365",
                "--conflict-behaviour",
                behaviour,
                env=env,
            )
        )
        ok(invoke("persons", "add", addr("AdeleV"), "--sync-mode", "O365", env=env))
        ok(
            invoke(
                "bookings",
                "add",
                "--organizer",
                addr("DiegoS"),
                "--room",
                addr("room-zurich"),
                "--start",
                DAY.isoformat(),
                "--end",
                (DAY + timedelta(hours=1)).isoformat(),
                "--title",
                "Planning",
                "--attendee",
                addr("AdeleV"),
                env=env,
            )
        )
        ok(invoke("sync", env=env))

    return make


def test_outlook_field_edits_flow_back(
    invoke: Invoke, env: dict[str, str], addr: Any, outlook: Any, synced: Any
) -> None:
    synced()
    item = meeting_of(outlook, addr("DiegoS"))
    start = EWSDateTime.from_datetime(DAY + timedelta(hours=5))
    edit(
        item,
        subject="Planning (moved)",
        start=start,
        end=start + timedelta(minutes=45),
        reminder_minutes_before_start=30,
        reminder_is_set=True,
        sensitivity="Private",
        legacy_free_busy_status="OOF",
    )
    run = ok(invoke("--json", "sync", env=env))
    diego = next(m for m in json.loads(run.out)["mailboxes"] if m["mailbox"] == addr("DiegoS"))
    assert diego["exchange_edits"] == 1 and diego["updated"] == 0
    found = booking(invoke, env)
    assert (found["title"], found["reminder_minutes"], found["private"], found["free_busy"]) == (
        "Planning (moved)",
        30,
        True,
        "OOF",
    )
    assert found["start"] == (DAY + timedelta(hours=5)).isoformat()
    assert found["end"] == (DAY + timedelta(hours=5, minutes=45)).isoformat()
    again = json.loads(ok(invoke("--json", "sync", env=env)).out)["ok"]
    assert again is True
    assert json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"] == []


@pytest.mark.parametrize("how", ["delete", "move to deleted items"])
def test_deleting_the_meeting_cancels_the_booking(
    how: str, invoke: Invoke, env: dict[str, str], addr: Any, outlook: Any, synced: Any
) -> None:
    synced()
    item = meeting_of(outlook, addr("DiegoS"))
    if how == "delete":
        item.delete(send_meeting_cancellations="SendToNone")
    else:
        item.move_to_trash(send_meeting_cancellations="SendToNone")
    run = ok(invoke("--json", "sync", env=env))
    assert sum(m["bookings_cancelled"] for m in json.loads(run.out)["mailboxes"]) == 1
    assert booking(invoke, env)["status"] == "cancelled"


def _new_meeting(outlook: Any, organizer: str, room: str, start: datetime, subject: str) -> None:
    account = outlook.account(organizer)
    item = CalendarItem(
        account=account,
        folder=outlook.calendar(organizer),
        subject=subject,
        start=EWSDateTime.from_datetime(start),
        end=EWSDateTime.from_datetime(start + timedelta(hours=1)),
        resources=[Attendee(mailbox=Mailbox(email_address=room), response_type="Unknown")],
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)


def test_a_new_meeting_inviting_a_free_room_becomes_a_booking(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, outlook: Any, synced: Any
) -> None:
    synced()
    _new_meeting(outlook, addr("DiegoS"), addr("room-zurich"), DAY + timedelta(days=1), "Booked in Outlook")
    # Booked once the room accepted it (issue 20): before its answer, the pass waits.
    waiting = ok(invoke("--json", "sync", env=env))
    assert sum(m["bookings_created"] for m in json.loads(waiting.out)["mailboxes"]) == 0
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200  # the room accepts it
    run = ok(invoke("--json", "sync", env=env))
    assert sum(m["bookings_created"] for m in json.loads(run.out)["mailboxes"]) == 1
    new = booking(invoke, env, 2)
    assert (new["title"], new["organizer"].lower(), new["room"].lower()) == (
        "Booked in Outlook",
        addr("DiegoS").lower(),
        addr("room-zurich").lower(),
    )
    ok(invoke("sync", env=env))
    bookings = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert len(bookings) == 2  # the attendee copies in AdeleV's and the room's calendars create nothing


@pytest.mark.parametrize("sync_master", [True, False], ids=["sync-master", "not-sync-master"])
def test_a_new_meeting_inviting_a_taken_room(
    sync_master: bool,
    invoke: Invoke,
    fresh_lab: Any,
    env: dict[str, str],
    addr: Any,
    outlook: Any,
    synced: Any,
) -> None:
    synced(sync_master=sync_master)
    # AdeleV books the same slot in Outlook; ROOMS already holds room-zurich then (booking 1), and so does the
    # room's calendar once it answered (booking 1's request came first): the room declines Adele's meeting.
    _new_meeting(outlook, addr("AdeleV"), addr("room-zurich"), DAY, "Clash")
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200  # the room accepts it
    run = invoke("--json", "sync", env=env)
    assert run.code == 1
    adele = next(m for m in json.loads(run.out)["mailboxes"] if m["mailbox"] == addr("AdeleV"))
    (failure,) = adele["failures"]
    assert "declined it: conflict" in failure and "not booked" in failure
    clash = next(
        i
        for i in fresh_lab.admin("GET", f"/lab/mailboxes/{addr('AdeleV')}/calendar").json()["items"]
        if i["subject"] == "Clash"
    )
    if sync_master:
        assert "room was removed from the meeting (sync master)" in failure
        assert clash["resources"] == []
    else:
        assert "removed" not in failure
        assert [r["email"].lower() for r in clash["resources"]] == [addr("room-zurich").lower()]
    assert len(json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]) == 1


def test_own_writes_never_come_back_as_edits(
    invoke: Invoke, env: dict[str, str], addr: Any, synced: Any
) -> None:
    synced()
    ok(invoke("bookings", "update", "1", "--title", "Planning v2", "--reminder", "5", env=env))
    first = json.loads(ok(invoke("--json", "sync", env=env)).out)
    second = json.loads(ok(invoke("--json", "sync", env=env)).out)
    for result in (first, second):
        assert all(m["exchange_edits"] == 0 and m["differences"] == 0 for m in result["mailboxes"])
    assert json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"] == []
    assert booking(invoke, env)["title"] == "Planning v2"


def _taken_slot(invoke: Invoke, env: dict[str, str], addr: Any) -> datetime:
    """A second booking (AdeleV's) that holds room-zurich three hours later; returns its start."""
    other = DAY + timedelta(hours=3)
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("AdeleV"),
            "--room",
            addr("room-zurich"),
            "--start",
            other.isoformat(),
            "--end",
            (other + timedelta(hours=1)).isoformat(),
            "--title",
            "Other",
            env=env,
        )
    )
    return other


def test_rollback_resets_and_disables_after_five_attempts(
    invoke: Invoke, env: dict[str, str], addr: Any, outlook: Any, synced: Any
) -> None:
    synced("Rollback")
    taken = _taken_slot(invoke, env, addr)
    for attempt in range(1, 6):
        item = meeting_of(outlook, addr("DiegoS"))
        edit(
            item,
            start=EWSDateTime.from_datetime(taken),
            end=EWSDateTime.from_datetime(taken + timedelta(hours=1)),
        )
        run = invoke("--json", "sync", env=env)
        assert run.code == 1
        diego = next(m for m in json.loads(run.out)["mailboxes"] if m["mailbox"] == addr("DiegoS"))
        if attempt < 5:
            assert diego["rolled_back"] == 1
            assert any(
                f"meeting reset to the booking (attempt {attempt} of 5)" in f for f in diego["failures"]
            )
            reset = meeting_of(outlook, addr("DiegoS"))
            assert reset.start == DAY  # back on the booking's slot
    assert any("after 5 rollbacks the booking is sync-disabled" in f for f in diego["failures"])
    assert booking(invoke, env)["status"] == "sync_disabled"


def test_cancel_behaviour_cancels_the_booking_and_unlinks(
    invoke: Invoke, env: dict[str, str], addr: Any, outlook: Any, synced: Any
) -> None:
    synced("Cancel")
    taken = _taken_slot(invoke, env, addr)
    item = meeting_of(outlook, addr("DiegoS"))
    edit(
        item,
        start=EWSDateTime.from_datetime(taken),
        end=EWSDateTime.from_datetime(taken + timedelta(hours=1)),
    )
    first = invoke("--json", "sync", env=env)  # attempt 1 of sync.cancel_attempts (2, as ROOMS)
    assert first.code == 1
    failures = [f for m in json.loads(first.out)["mailboxes"] for f in m["failures"]]
    assert any("the Outlook edit is not applied (attempt 1 of 2" in f for f in failures), failures
    assert booking(invoke, env)["status"] == "active"
    assert meeting_of(outlook, addr("DiegoS")).start == taken  # left as Outlook has it
    run = invoke("--json", "sync", env=env)  # attempt 2: the booking is cancelled, the meeting let go
    assert run.code == 1
    assert booking(invoke, env)["status"] == "cancelled"
    assert meeting_of(outlook, addr("DiegoS")).start == taken  # the meeting stays, unlinked
    ok(invoke("sync", env=env))
    assert meeting_of(outlook, addr("DiegoS")).start == taken


@pytest.mark.parametrize("use", ["exchange", "rooms", "ignore"])
def test_both_sides_changed_then_resolve(
    use: str, invoke: Invoke, env: dict[str, str], addr: Any, outlook: Any, synced: Any
) -> None:
    synced()
    edit(meeting_of(outlook, addr("DiegoS")), subject="Outlook title")
    ok(invoke("bookings", "update", "1", "--title", "ROOMS title", env=env))
    ok(invoke("sync", env=env))
    assert meeting_of(outlook, addr("DiegoS")).subject == "ROOMS title"  # ROOMS wins
    (difference,) = json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"]
    assert (difference["booking_id"], difference["kind"], difference["fields"]) == (
        1,
        "both_changed",
        ["subject"],
    )
    assert difference["exchange_state"]["subject"] == "Outlook title"
    assert "subject" in ok(invoke("sync", "diff", env=env)).out
    ok(invoke("sync", "resolve", "1", "--use", use, env=env))
    assert json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"] == []
    ok(invoke("sync", env=env))
    title, subject = booking(invoke, env)["title"], meeting_of(outlook, addr("DiegoS")).subject
    expected = {
        "exchange": ("Outlook title", "Outlook title"),
        "rooms": ("ROOMS title", "ROOMS title"),
        "ignore": ("ROOMS title", "ROOMS title"),
    }[use]
    assert (title, subject) == expected
