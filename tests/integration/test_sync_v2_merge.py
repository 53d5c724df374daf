"""Sync v2, per-field merge (issue 19): bug 7 (a ROOMS edit during a pass dropped the Outlook edit of the same
booking), changes to different fields on both sides both apply, the same field: ROOMS wins and a difference is
recorded; bug 11 (`sync resolve --use ignore` did not stick for attendee differences)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from roomsops.adapters.ews.backend import EwsCalendar
from roomsops.core.calendar import Meeting
from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def meeting(lab: Any, mailbox: str) -> dict[str, Any]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    (found,) = [i for i in items if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]
    return dict(found)


def outlook_edit(lab: Any, mailbox: str, body: dict[str, Any]) -> None:
    item = meeting(lab, mailbox)
    response = lab.admin("PATCH", f"/lab/mailboxes/{mailbox}/calendar/{item['id']}", json=body)
    assert response.status_code == 200, response.text


def booking(invoke: Invoke, env: dict[str, str]) -> dict[str, Any]:
    (found,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return dict(found)


def differences(invoke: Invoke, env: dict[str, str]) -> list[dict[str, Any]]:
    return list(json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"])


def mailbox_report(run: Any) -> dict[str, Any]:
    (found,) = json.loads(run.out)["mailboxes"]
    return dict(found)


@pytest.fixture
def synced(invoke: Invoke, env: dict[str, str], addr: Any) -> str:
    """DiegoS's booking 1 (Planning, reminder 15) in room-zurich, synced."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
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
            "--reminder",
            "15",
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    return str(addr("DiegoS"))


def test_changes_to_different_fields_on_both_sides_both_apply(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], synced: str
) -> None:
    outlook_edit(fresh_lab, synced, {"subject": "Planning (Outlook)", "send": False})
    ok(invoke("bookings", "update", "1", "--reminder", "30", env=env))
    ok(invoke("sync", env=env))
    ok(invoke("sync", env=env))
    assert (booking(invoke, env)["title"], booking(invoke, env)["reminder_minutes"]) == (
        "Planning (Outlook)",
        30,
    )
    item = meeting(fresh_lab, synced)
    assert (item["subject"], item["reminder"]) == ("Planning (Outlook)", 30)
    assert differences(invoke, env) == []


def test_the_same_field_on_both_sides_rooms_wins_and_a_difference_is_recorded(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], synced: str
) -> None:
    outlook_edit(fresh_lab, synced, {"subject": "Planning (Outlook)", "reminder": 5, "send": False})
    ok(invoke("bookings", "update", "1", "--title", "Planning (ROOMS)", env=env))
    ok(invoke("sync", env=env))
    ok(invoke("sync", env=env))
    found = booking(invoke, env)
    assert (found["title"], found["reminder_minutes"]) == ("Planning (ROOMS)", 5)  # reminder: Outlook's only
    item = meeting(fresh_lab, synced)
    assert (item["subject"], item["reminder"]) == ("Planning (ROOMS)", 5)
    (difference,) = differences(invoke, env)
    assert (difference["kind"], difference["fields"]) == ("both_changed", ["subject"])


def test_bug7_a_rooms_edit_during_the_pass_does_not_drop_the_outlook_edit(
    invoke: Invoke,
    fresh_lab: Any,
    env: dict[str, str],
    synced: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bug 7: the booking was edited in ROOMS between the pass's read and its write of the Outlook edit: the
    version check failed, nothing was saved and the position advanced. The ROOMS edit is made at a counted
    point (when the pass reads the changed meeting), through a second database connection."""
    outlook_edit(fresh_lab, synced, {"subject": "Planning (Outlook)", "send": False})
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    original = EwsCalendar.get
    edits: list[int] = []

    def get_then_edit_in_rooms(self: EwsCalendar, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        found = original(self, mailbox, item_ids)
        if item_ids and not edits:  # the first read of a changed meeting: ROOMS changes the booking now
            with sqlite3.connect(path) as conn:
                edits.append(
                    conn.execute(
                        "UPDATE bookings SET reminder_minutes = 30, version = version + 1 WHERE id = 1"
                    ).rowcount
                )
        return found

    monkeypatch.setattr(EwsCalendar, "get", get_then_edit_in_rooms)
    ok(invoke("sync", env=env))
    assert edits == [1]
    monkeypatch.setattr(EwsCalendar, "get", original)
    ok(invoke("sync", env=env))
    found = booking(invoke, env)
    assert (found["title"], found["reminder_minutes"]) == ("Planning (Outlook)", 30)
    item = meeting(fresh_lab, synced)
    assert (item["subject"], item["reminder"]) == ("Planning (Outlook)", 30)
    assert differences(invoke, env) == []


def test_bug11_resolve_ignore_sticks_for_attendee_differences(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: str
) -> None:
    """Bug 11: after `sync resolve --use ignore` the attendee difference was recorded again by the next pass
    that read the meeting, although the attendees had not changed again."""
    outlook_edit(fresh_lab, synced, {"attendees": [addr("AdeleV")], "send": False})
    ok(invoke("sync", env=env))
    (difference,) = differences(invoke, env)
    assert difference["kind"] == "attendees_changed"
    ok(invoke("sync", "resolve", "1", "--use", "ignore", env=env))
    assert differences(invoke, env) == []
    outlook_edit(fresh_lab, synced, {"subject": "Planning v2", "send": False})  # another field changes
    run = mailbox_report(ok(invoke("--json", "sync", env=env)))
    assert (run["exchange_edits"], run["differences"]) == (1, 0)
    full = mailbox_report(ok(invoke("--json", "sync", "--full", env=env)))
    assert (full["pass_kind"], full["differences"]) == ("full", 0)
    assert differences(invoke, env) == []
    assert booking(invoke, env)["title"] == "Planning v2"


def test_bug8_an_outlook_edit_just_before_roomsops_write_is_not_hidden(
    invoke: Invoke,
    fresh_lab: Any,
    env: dict[str, str],
    synced: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bug 8: Outlook changed the reminder after the pass read the calendar and before its UpdateItem of the
    title; the update (AutoResolve) landed over it and its answer's ChangeKey covered the Outlook edit, which
    roomsops then skipped for good. The Outlook edit is made at a counted point: right before the UpdateItem."""
    ok(invoke("bookings", "update", "1", "--title", "Planning (ROOMS)", env=env))
    original = EwsCalendar.update
    edits: list[str] = []

    def outlook_edits_first(
        self: EwsCalendar,
        mailbox: str,
        meeting: Meeting,
        fields: Any,
        revision: str | None = None,
        room_aliases: Any = (),
    ) -> Meeting:
        if not edits:
            outlook_edit(fresh_lab, synced, {"reminder": 30, "send": False})
            edits.append(meeting.item_id)
        return original(self, mailbox, meeting, fields, revision, room_aliases)

    monkeypatch.setattr(EwsCalendar, "update", outlook_edits_first)
    ok(invoke("sync", env=env))
    assert len(edits) == 1
    monkeypatch.setattr(EwsCalendar, "update", original)
    ok(invoke("sync", env=env))
    item = meeting(fresh_lab, synced)
    assert (item["subject"], item["reminder"]) == ("Planning (ROOMS)", 30)
    found = booking(invoke, env)
    assert (found["title"], found["reminder_minutes"]) == ("Planning (ROOMS)", 30)  # the Outlook edit applied
    assert differences(invoke, env) == []


def test_an_open_attendee_difference_stays_in_exchange_through_a_rooms_write_of_another_field(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: str
) -> None:
    """Checker seed 31500 (engine): ROOMS changes the title and Outlook the attendees between two passes. The
    pass records the attendee difference (the meeting's attendees become the baseline) and then wrote the
    title with ROOMS' attendees too, so Exchange lost Outlook's attendees while `sync diff` still listed them.
    Room and attendee changes made in Outlook are recorded, not applied (docs/sync.md): the meeting keeps them
    until the difference is settled, through this pass's write and any later one."""
    ok(invoke("bookings", "update", "1", "--title", "Planning (ROOMS)", env=env))
    outlook_edit(fresh_lab, synced, {"attendees": [addr("AdeleV")], "send": False})
    ok(invoke("sync", env=env))
    (difference,) = differences(invoke, env)
    assert (difference["kind"], difference["exchange_state"]["attendees"]) == (
        "attendees_changed",
        [addr("AdeleV").lower()],
    )
    item = meeting(fresh_lab, synced)
    assert item["subject"] == "Planning (ROOMS)"
    assert [a["email"].lower() for a in item["required_attendees"]] == [addr("AdeleV").lower()]
    ok(invoke("bookings", "update", "1", "--reminder", "30", env=env))  # a later ROOMS write, still open
    ok(invoke("sync", env=env))
    item = meeting(fresh_lab, synced)
    assert item["reminder"] == 30
    assert [a["email"].lower() for a in item["required_attendees"]] == [addr("AdeleV").lower()]
    assert len(differences(invoke, env)) == 1
    assert booking(invoke, env)["attendees"] == []


def test_attendees_changed_on_both_sides_rooms_wins_in_exchange(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: str
) -> None:
    """The same field on both sides: ROOMS wins (the meeting is rewritten) and Outlook's attendees are recorded
    as a difference; an open difference keeps the meeting's value only where ROOMS did not change the field."""
    ok(invoke("bookings", "update", "1", "--attendee", addr("LeeG"), env=env))
    outlook_edit(fresh_lab, synced, {"attendees": [addr("AdeleV")], "send": False})
    ok(invoke("sync", env=env))
    (difference,) = differences(invoke, env)
    assert difference["exchange_state"]["attendees"] == [addr("AdeleV").lower()]
    item = meeting(fresh_lab, synced)
    assert [a["email"].lower() for a in item["required_attendees"]] == [addr("LeeG").lower()]
