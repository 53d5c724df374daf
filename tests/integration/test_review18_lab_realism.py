"""Hostile review of issue 18 (lab realism): regression tests for what the review found.

Each test drives the lab with the real exchangelib client (and the admin API to read what mailboxes hold), rooms
answering only when the test asks (POST /lab/room-answers/process), so nothing depends on timing.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.errors import ErrorCalendarCannotUpdateDeletedItem
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.recurrence import DailyPattern, Recurrence, WeeklyPattern

from .conftest import LabHelper
from .test_lab_ews import EwsHelper, H, exchangelib_against, meeting, monday_ahead, room_attendee, z
from .test_lab_ews_schema import envelope
from .test_lab_winrm import exchange, run

pytestmark = pytest.mark.integration

MONDAY = monday_ahead(28)
WEEK = dt.timedelta(days=7)


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    with exchangelib_against(fresh_lab) as helper:
        yield helper


def process(ews: EwsHelper) -> list[dict[str, Any]]:
    response = ews.lab.admin("POST", "room-answers/process")
    assert response.status_code == 200, response.text
    return list(response.json()["answered"])


def shown(ews: EwsHelper, local: str, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """What a calendar view of [start, end) shows in a mailbox (admin API)."""
    response = ews.lab.admin("GET", f"mailboxes/{ews.address(local)}/calendar?expand={z(start)},{z(end)}")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def weekly_series(ews: EwsHelper, subject: str, start: Any, count: int) -> CalendarItem:
    diego = ews.account("DiegoS")
    item = CalendarItem(
        account=diego,
        folder=diego.calendar,
        subject=subject,
        start=start,
        end=start + H,
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[1], first_day_of_week=1),
            start=start.date(),
            number=count,
        ),
        required_attendees=[room_attendee(ews, "room-zurich")],
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    return item


def test_review18_one_occurrence_moved_onto_a_taken_slot_costs_the_room_that_occurrence_only(
    ews: EwsHelper,
) -> None:
    """Exchange sends a change of one occurrence as a meeting update for that exception (MS-OXOCAL 4.2.2:
    "Accepting the Exception" — the attendee answers the exception, not the series). The room's attendant can
    only decline that occurrence; the other occurrences it accepted stay booked. The lab re-sends the whole series
    and, with the default ConflictPercentageAllowed/MaximumConflictInstances 0, declines the whole series: the
    room's calendar loses every occurrence although only one changed."""
    adele = ews.account("AdeleV")
    # Adele holds the room on the third Monday 09:00-10:00.
    blocker = meeting(
        adele, "Blocker", MONDAY + 2 * WEEK + H, required_attendees=[room_attendee(ews, "room-zurich")]
    )
    blocker.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    series = weekly_series(ews, "Weekly", MONDAY, 4)  # 08:00-09:00, no conflict
    answers = process(ews)
    assert [a["response"] for a in answers] == ["Accept", "Accept"], answers

    diego = ews.account("DiegoS")
    view = [o for o in diego.calendar.view(start=MONDAY - H, end=MONDAY + 4 * WEEK) if o.subject == "Weekly"]
    third = diego.calendar.get(id=view[2].id)
    third.start, third.end = third.start + H, third.end + H  # onto Adele's booking
    third.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    process(ews)

    room = [
        i for i in shown(ews, "room-zurich", MONDAY - H, MONDAY + 4 * WEEK) if i["subject"] != "Adele Vance"
    ]
    starts = sorted(i["start"] for i in room)
    # The three occurrences that did not change stay booked for Diego's series.
    assert starts == [z(MONDAY), z(MONDAY + WEEK), z(MONDAY + 3 * WEEK)], room
    master = diego.calendar.get(id=series.id)
    responses = [a.response_type for a in master.required_attendees]
    assert responses == ["Accept"], responses  # the series itself was not declined


def test_review18_an_item_in_deleted_items_is_updated_unless_the_update_is_sent(ews: EwsHelper) -> None:
    """handling-deletion-related-errors-in-ews-in-exchange (Table 1): ErrorCalendarCannotUpdateDeletedItem occurs
    when you "Update a calendar item located in the Deleted Items folder when the update would result in sending a
    meeting invite to attendees". An update that sends nothing succeeds there. The lab refuses both with
    ErrorInvalidOperation "The lab updates items of calendar folders only." (not in FIDELITY.md) — the sync meets
    this whenever a user deletes a meeting it manages without sending a cancellation."""
    diego = ews.account("DiegoS")
    item = meeting(diego, "Soon deleted", MONDAY, required_attendees=[room_attendee(ews, "room-zurich")])
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    process(ews)
    item.move(diego.trash)
    trashed = next(i for i in diego.trash.all() if i.subject == "Soon deleted")
    trashed.location = "Somewhere else"
    with pytest.raises(ErrorCalendarCannotUpdateDeletedItem):
        trashed.save(update_fields=["location"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    trashed = next(i for i in diego.trash.all() if i.subject == "Soon deleted")
    assert trashed.location != "Somewhere else"
    trashed.subject = "Changed in Deleted Items"
    trashed.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
    assert [i.subject for i in diego.trash.all()] == ["Changed in Deleted Items"]
    # Nothing was sent: the room keeps its booking as it was.
    room = shown(ews, "room-zurich", MONDAY - H, MONDAY + 2 * H)
    assert [(i["start"], i["is_cancelled"]) for i in room] == [(z(MONDAY), False)], room


def test_review18_a_calendar_view_of_deleted_items_is_refused(ews: EwsHelper) -> None:
    """A CalendarView is for calendar folders: Exchange answers ErrorCalendarFolderIsInvalidForCalendarView (a
    ResponseCodeType member of Microsoft's messages.xsd, for a calendar view of a folder that is no calendar
    folder; Deleted Items is a mail folder, IPF.Note). The lab expands a view over Deleted Items (and Inbox) and
    answers NoError, so a client that looks for meetings in Deleted Items by a view works against the lab only.
    Unverified against a live tenant (the error's meaning is from its name and the schema)."""
    diego = ews.account("DiegoS")
    item = meeting(diego, "In the bin", MONDAY)
    item.save(send_meeting_invitations=SEND_TO_NONE)
    item.move(diego.trash)
    body = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
        f'<m:CalendarView StartDate="{z(MONDAY - H)}" EndDate="{z(MONDAY + H)}"/>'
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="deleteditems"/></m:ParentFolderIds></m:FindItem>'
    )
    response = ews.post(envelope(ews.address("DiegoS"), body), token=ews.token())
    assert response.status_code == 200, response.text
    assert re.findall(r"ResponseCode>([^<]+)<", response.text) == [
        "ErrorCalendarFolderIsInvalidForCalendarView"
    ]


def test_review18_a_request_waiting_when_automate_processing_becomes_none_is_not_answered(
    ews: EwsHelper,
) -> None:
    """Set-CalendarProcessing -AutomateProcessing None: "Calendar processing is disabled on the mailbox. Both the
    Resource Booking Attendant and the Calendar Attendant are disabled on the mailbox." A request that reached the
    room before the change but that the attendant had not processed yet stays unprocessed (in the room's inbox).
    The lab's attendant answers it anyway (and books the room) because it never looks at AutomateProcessing when
    answering."""
    diego = ews.account("DiegoS")
    meeting(diego, "Waiting", MONDAY, required_attendees=[room_attendee(ews, "room-zurich")]).save(
        send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )
    with exchange(ews.lab) as pool:
        result = run(pool, "Set-CalendarProcessing", Identity="room-zurich", AutomateProcessing="None")
        assert not result.errors, result.errors
    answers = process(ews)
    assert answers == [], answers
    assert shown(ews, "room-zurich", MONDAY - H, MONDAY + 2 * H) == []


def test_review18_an_all_day_series_keeps_local_midnights_across_the_dst_change(ews: EwsHelper) -> None:
    """An all-day occurrence runs from local midnight to local midnight (ews-ref/isalldayevent; FIDELITY.md's
    all-day row); a series keeps each occurrence's local start and end times (MS-OXOCAL 2.2.1.44.5:
    StartTimeOffset/EndTimeOffset are minutes after local midnight). On Sunday 28 March 2027 Zürich has 23 hours:
    the lab adds the master's 24 hours in UTC, so that day's occurrence ends at 01:00 on 29 March, overlapping the
    next occurrence, in the CalendarView answer."""
    zurich = EWSTimeZone("Europe/Zurich")
    start = EWSDateTime(2027, 3, 26, 0, 0, tzinfo=zurich)
    diego = ews.account("DiegoS")
    CalendarItem(
        account=diego,
        folder=diego.calendar,
        subject="All day",
        start=start,
        end=start + dt.timedelta(days=1),
        is_all_day=True,
        recurrence=Recurrence(pattern=DailyPattern(interval=1), start=start.date(), number=4),
    ).save(send_meeting_invitations=SEND_TO_NONE)
    body = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>'
        '<t:FieldURI FieldURI="calendar:Start"/><t:FieldURI FieldURI="calendar:End"/></t:AdditionalProperties>'
        '</m:ItemShape><m:CalendarView StartDate="2027-03-25T00:00:00Z" EndDate="2027-03-31T00:00:00Z"/>'
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )
    response = ews.post(envelope(ews.address("DiegoS"), body), token=ews.token())
    found = re.findall(r"<t:Start>([^<]+)</t:Start><t:End>([^<]+)</t:End>", response.text)
    assert found == [
        ("2027-03-25T23:00:00Z", "2027-03-26T23:00:00Z"),
        ("2027-03-26T23:00:00Z", "2027-03-27T23:00:00Z"),
        ("2027-03-27T23:00:00Z", "2027-03-28T22:00:00Z"),  # 23 hours: the clocks go forward that night
        ("2027-03-28T22:00:00Z", "2027-03-29T22:00:00Z"),
    ], response.text[:3000]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e308"])
def test_review18_a_room_answer_delay_that_is_no_number_of_seconds_is_refused(
    ews: EwsHelper, value: str
) -> None:
    """POST /lab/settings took room_answer_delay NaN, Infinity and 1e308 (200), and GET /lab/settings then answered
    `NaN` (not JSON); after that every CreateItem that invites a room was HTTP 500 "the lab failed" and nothing
    was saved (timedelta(seconds=nan) in delivery._queue_request). A bad value must be a 400 and change nothing."""
    before = ews.lab.admin("GET", "settings").json()["room_answer_delay"]
    response = ews.lab.session.post(
        f"{ews.lab.base_url}/lab/settings",
        data=f'{{"room_answer_delay": {value}}}',
        headers={"Authorization": f"Bearer {ews.lab.lab.admin_token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    assert ews.lab.admin("GET", "settings").json()["room_answer_delay"] == before
    for field in ("policy_delay", "save_interval"):  # the same for the other delays of POST /lab/settings
        kept = ews.lab.admin("GET", "settings").json()[field]
        response = ews.lab.session.post(
            f"{ews.lab.base_url}/lab/settings",
            data=f'{{"{field}": {value}}}',
            headers={
                "Authorization": f"Bearer {ews.lab.lab.admin_token}",
                "Content-Type": "application/json",
            },
            timeout=10,
        )
        assert response.status_code == 400, (field, response.text)
        assert ews.lab.admin("GET", "settings").json()[field] == kept
    diego = ews.account("DiegoS")
    meeting(diego, "Still works", MONDAY, required_attendees=[room_attendee(ews, "room-zurich")]).save(
        send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_review18_lab_serve_refuses_a_room_answer_delay_that_is_no_number(tmp_path: Path, value: str) -> None:
    """`roomsops lab serve --room-answer-delay nan` started a lab (click's FloatRange(0, 3600) lets NaN through)
    whose every meeting with a room then failed with HTTP 500. Bad input: exit 2, one line `Error: ... — ...`."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "roomsops",
            "lab",
            "serve",
            "--dir",
            str(tmp_path / "lab"),
            "--room-answer-delay",
            value,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "lab ready" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "room-answer-delay" in lines[0], (
        result.stderr
    )


@pytest.mark.parametrize("value", ["no", "0", "False "])
def test_review18_the_admin_delete_refuses_a_cancel_flag_it_does_not_know(ews: EwsHelper, value: str) -> None:
    """DELETE /lab/mailboxes/<email>/calendar/<id>?cancel=... took anything but "false" as true: `cancel=no` or
    `cancel=0` (meant: keep the attendee and room copies) deleted the meeting *and sent the cancellations*, freeing
    the room. Bad input must be a 400 that changes nothing."""
    diego = ews.account("DiegoS")
    item = meeting(diego, "Keep the room", MONDAY, required_attendees=[room_attendee(ews, "room-zurich")])
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    process(ews)
    response = ews.lab.admin("DELETE", f"mailboxes/{ews.address('DiegoS')}/calendar/{item.id}?cancel={value}")
    assert response.status_code == 400, response.text
    assert [i.subject for i in diego.calendar.all()] == ["Keep the room"]
    room = shown(ews, "room-zurich", MONDAY - H, MONDAY + 2 * H)
    assert [i["is_cancelled"] for i in room] == [False], room


def test_review18_a_rooms_copy_of_a_changed_occurrence_follows_the_rooms_processing(ews: EwsHelper) -> None:
    """A room's copy follows its calendar processing (Set-CalendarProcessing, defaults of a new room):
    AddOrganizerToSubject ("The meeting organizer's name replaces any existing Subject"), DeleteComments (the body
    is removed), RemovePrivateProperty (the private flag is cleared), and the attendant books it as Busy. The lab
    applies these to the master only: an occurrence the organizer changed (an exception with its own subject, body,
    sensitivity and free/busy) reaches the room's calendar as the organizer wrote it — the private subject and body
    are readable in the room's calendar view, and the room shows that occurrence Free while still declining others
    for it."""
    series = weekly_series(ews, "Weekly", MONDAY, 3)
    process(ews)
    diego = ews.account("DiegoS")
    view = [o for o in diego.calendar.view(start=MONDAY - H, end=MONDAY + 3 * WEEK) if o.subject == "Weekly"]
    second = diego.calendar.get(id=view[1].id)
    second.subject, second.body = "Secret subject", "Secret agenda"
    second.sensitivity, second.legacy_free_busy_status = "Private", "Free"
    second.save(
        update_fields=["subject", "body", "sensitivity", "legacy_free_busy_status"],
        send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY,
    )
    process(ews)
    assert diego.calendar.get(id=series.id).required_attendees[0].response_type == "Accept"
    room = shown(ews, "room-zurich", MONDAY - H, MONDAY + 3 * WEEK)
    assert len(room) == 3, room
    for occurrence in room:
        assert occurrence["subject"] == "Diego Siciliani", occurrence
        assert not occurrence["body"], occurrence
        assert occurrence["sensitivity"] == "Normal", occurrence
        assert occurrence["free_busy"] == "Busy", occurrence
