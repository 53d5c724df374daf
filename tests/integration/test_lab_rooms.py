"""Rooms as in Exchange Online (issue 18): calendar processing with Microsoft's defaults, the rules that decline,
Get-/Set-CalendarProcessing over WinRM, and the resource booking attendant answering later than the request.

Rooms answer here only when a test asks (POST /lab/room-answers/process, conftest's on-demand delay), so each
test sees the organizer's item before and after the answer without depending on timing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from exchangelib import Attendee, Mailbox
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_CHANGED_AND_SAVE_COPY

from .conftest import LabHelper
from .test_lab_ews import (
    EwsHelper,
    H,
    by_subject,
    exchangelib_against,
    meeting,
    monday_ahead,
    room_attendee,
    z,
)
from .test_lab_winrm import exception_message, exchange, props, run

pytestmark = pytest.mark.integration

MONDAY = monday_ahead(28)


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    with exchangelib_against(fresh_lab) as helper:
        yield helper


def process(ews: EwsHelper) -> list[dict[str, Any]]:
    """The attendants answer every pending request now (what a few seconds do in Exchange)."""
    response = ews.lab.admin("POST", "room-answers/process")
    assert response.status_code == 200, response.text
    return list(response.json()["answered"])


def processing(ews: EwsHelper, room: str, **changes: Any) -> dict[str, Any]:
    path = f"mailboxes/{ews.address(room)}/calendar-processing"
    response = ews.lab.admin("PATCH", path, json=changes) if changes else ews.lab.admin("GET", path)
    assert response.status_code == 200, response.text
    return dict(response.json())


def book(
    ews: EwsHelper, subject: str, start: Any, hours: float = 1, room: str = "room-zurich", **fields: Any
) -> Any:
    item = meeting(ews.account(fields.pop("organizer", "DiegoS")), subject, start, **fields)
    item.end = start + dt.timedelta(hours=hours)
    item.resources = [room_attendee(ews, room)]
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    return item


def room_response(ews: EwsHelper, subject: str, organizer: str = "DiegoS") -> str:
    return str(by_subject(ews.calendar(organizer), subject)["resources"][0]["response"])


# --- the attendant answers later --------------------------------------------------------------------------------


def test_a_late_room_answer_changes_the_organizers_copy(ews: EwsHelper) -> None:
    item = book(ews, "Late answer", MONDAY)
    organizer = by_subject(ews.calendar("DiegoS"), "Late answer")
    assert organizer["resources"][0]["response"] == "Unknown"  # CreateItem has answered; the room has not
    assert organizer["change_key"] == item.changekey
    assert ews.calendar("room-zurich") == []
    pending = ews.lab.admin("GET", "room-answers").json()["pending"]
    assert [(p["room"], p["subject"]) for p in pending] == [(ews.address("room-zurich"), "Late answer")]

    calendar = ews.account("DiegoS").calendar
    list(calendar.sync_items())
    state = calendar.item_sync_state

    answered = process(ews)
    assert [(a["room"], a["response"], a["reason"]) for a in answered] == [
        (ews.address("room-zurich"), "Accept", "")
    ]
    after = by_subject(ews.calendar("DiegoS"), "Late answer")
    assert after["change_key"] != item.changekey  # the answer is a change of the organizer's item
    assert after["resources"][0]["response"] == "Accept"
    fetched = ews.account("DiegoS").calendar.get(id=item.id)
    assert [a.response_type for a in fetched.resources] == ["Accept"]
    assert fetched.changekey == after["change_key"]
    [(kind, synced)] = list(calendar.sync_items(sync_state=state))
    assert (kind, synced.id) == ("update", item.id)
    assert [i["my_response"] for i in ews.calendar("room-zurich")] == ["Accept"]
    assert ews.lab.admin("GET", "room-answers").json()["pending"] == []


def test_an_update_before_the_answer_is_answered_once_in_its_latest_version(ews: EwsHelper) -> None:
    item = book(ews, "Moved early", MONDAY)
    item.start, item.end = MONDAY + 2 * H, MONDAY + 3 * H
    item.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert len(ews.lab.admin("GET", "room-answers").json()["pending"]) == 1
    assert [a["response"] for a in process(ews)] == ["Accept"]
    assert [i["start"] for i in ews.calendar("room-zurich")] == [z(MONDAY + 2 * H)]


def test_a_meeting_cancelled_before_the_answer_gets_none(ews: EwsHelper) -> None:
    item = book(ews, "Cancelled early", MONDAY)
    item.cancel()
    assert process(ews) == []
    assert ews.calendar("room-zurich") == []


def test_a_delay_of_zero_answers_inside_the_request_and_answers_what_waits(ews: EwsHelper) -> None:
    book(ews, "Waiting", MONDAY)
    ews.lab.settings(room_answer_delay=0)  # answers what was waiting, then every request at once
    assert room_response(ews, "Waiting") == "Accept"
    book(ews, "At once", MONDAY + 2 * H)
    assert room_response(ews, "At once") == "Accept"
    assert ews.lab.admin("GET", "room-answers").json()["pending"] == []


# --- Microsoft's defaults and the rules that decline ------------------------------------------------------------


def test_a_new_room_has_microsofts_calendar_processing_defaults(ews: EwsHelper) -> None:
    settings = processing(ews, "room-zurich")
    assert settings == {
        "mailbox": ews.address("room-zurich"),
        "automate_processing": "AutoAccept",
        "allow_conflicts": False,
        "booking_window_in_days": 180,
        "maximum_duration_in_minutes": 1440,
        "allow_recurring_meetings": True,
        "enforce_scheduling_horizon": True,
        "schedule_only_during_work_hours": False,
        "conflict_percentage_allowed": 0,
        "maximum_conflict_instances": 0,
        "add_organizer_to_subject": True,
        "delete_subject": True,
        "delete_comments": True,
        "remove_private_property": True,
        "process_external_meeting_messages": False,
        "add_new_requests_tentatively": True,
        "remove_canceled_meetings": False,
        "work_days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "working_hours_start": "08:00:00",
        "working_hours_end": "17:00:00",
        "working_hours_time_zone": "Pacific Standard Time",
    }


@pytest.mark.parametrize(
    ("subject", "start_days", "hours", "reason"),
    [
        ("Too far ahead", 200, 1, "The meeting is outside the resource's booking window of 180 days."),
        ("Too long", 28, 25, "The meeting is longer than the maximum of 1440 minutes for this resource."),
    ],
)
def test_a_new_room_declines_what_its_defaults_refuse(
    ews: EwsHelper, subject: str, start_days: int, hours: float, reason: str
) -> None:
    book(ews, subject, monday_ahead(start_days), hours=hours)
    [answer] = process(ews)
    assert (answer["response"], answer["reason"]) == ("Decline", reason)
    assert room_response(ews, subject) == "Decline"
    assert ews.calendar("room-zurich") == []


def test_a_day_long_meeting_inside_the_window_is_accepted(ews: EwsHelper) -> None:
    book(ews, "A whole day", monday_ahead(170), hours=24)  # 1,440 minutes: the maximum itself
    assert [a["response"] for a in process(ews)] == ["Accept"]


def test_a_taken_slot_is_declined_with_the_reason(ews: EwsHelper) -> None:
    book(ews, "First", MONDAY)
    process(ews)
    book(ews, "Second", MONDAY + H / 2, organizer="AdeleV")
    [answer] = process(ews)
    assert (answer["response"], answer["reason"]) == (
        "Decline",
        "The resource is already booked at this time.",
    )
    assert room_response(ews, "Second", "AdeleV") == "Decline"
    processing(ews, "room-zurich", allow_conflicts=True)
    book(ews, "Third", MONDAY, organizer="AdeleV")
    assert [a["response"] for a in process(ews)] == ["Accept"]


def test_schedule_only_during_work_hours_declines_outside_them(ews: EwsHelper) -> None:
    processing(
        ews,
        "room-zurich",
        schedule_only_during_work_hours=True,
        working_hours_time_zone="W. Europe Standard Time",
        working_hours_start="08:00",
        working_hours_end="18:00",
    )
    inside = MONDAY  # 08:00 UTC = 09:00 in Zürich (winter) or 10:00 (summer)
    book(ews, "Working", inside)
    book(ews, "Evening", inside + 10 * H)  # 18:00 UTC: after 18:00 local
    book(ews, "Sunday", inside - 24 * H)
    answers = {a["subject"]: (a["response"], a["reason"]) for a in process(ews)}
    outside = ("Decline", "The meeting is outside the resource's working hours.")
    assert answers == {"Working": ("Accept", ""), "Evening": outside, "Sunday": outside}


def test_the_rooms_copy_follows_subject_comment_and_privacy_settings(ews: EwsHelper) -> None:
    book(ews, "Defaults", MONDAY, body="Agenda", sensitivity="Private")
    processing(
        ews,
        "room-bern",
        add_organizer_to_subject=False,
        delete_subject=False,
        delete_comments=False,
        remove_private_property=False,
    )
    book(ews, "Kept", MONDAY, room="room-bern", body="Agenda", sensitivity="Private")
    process(ews)
    [zurich] = ews.calendar("room-zurich")
    assert (zurich["subject"], zurich["body"], zurich["sensitivity"]) == ("Diego Siciliani", None, "Normal")
    [bern] = ews.calendar("room-bern")
    assert (bern["subject"], bern["body"], bern["sensitivity"]) == ("Kept", "Agenda", "Private")


def test_automate_processing_none_and_auto_update_never_answer(ews: EwsHelper) -> None:
    processing(ews, "room-zurich", automate_processing="None")
    processing(ews, "room-bern", automate_processing="AutoUpdate")
    item = meeting(ews.account("DiegoS"), "Unanswered", MONDAY)
    item.resources = [room_attendee(ews, "room-zurich"), room_attendee(ews, "room-bern")]
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert process(ews) == []
    assert ews.calendar("room-zurich") == []
    [tentative] = ews.calendar("room-bern")  # the Calendar Attendant alone: tentative, no answer
    assert (tentative["my_response"], tentative["free_busy"]) == ("NoResponseReceived", "Tentative")
    assert [r["response"] for r in by_subject(ews.calendar("DiegoS"), "Unanswered")["resources"]] == [
        "Unknown",
        "Unknown",
    ]


def test_remove_canceled_meetings_deletes_the_rooms_copy(ews: EwsHelper) -> None:
    processing(ews, "room-bern", remove_canceled_meetings=True)
    kept = book(ews, "Kept cancelled", MONDAY)
    removed = book(ews, "Removed cancelled", MONDAY, room="room-bern")
    process(ews)
    kept.cancel()
    removed.cancel()
    assert [i["is_cancelled"] for i in ews.calendar("room-zurich")] == [True]
    assert ews.calendar("room-bern") == []


def test_the_admin_api_refuses_bad_calendar_processing(ews: EwsHelper) -> None:
    path = f"mailboxes/{ews.address('room-zurich')}/calendar-processing"
    for body, code in [
        ({"booking_window_in_days": 1081}, "bad_field"),
        ({"automate_processing": "Sometimes"}, "bad_field"),
        ({"conflict_percentage_allowed": 101}, "bad_field"),
        ({"work_days": ["Funday"]}, "bad_field"),
        ({"colour": "red"}, "unknown_field"),
    ]:
        response = ews.lab.admin("PATCH", path, json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (400, code), body
    user = ews.lab.admin(
        "PATCH",
        f"mailboxes/{ews.address('DiegoS')}/calendar-processing",
        json={"automate_processing": "None"},
    )
    assert user.status_code == 400  # "you can't change the value on a user mailbox"
    assert processing(ews, "room-zurich")["booking_window_in_days"] == 180


# --- Get-/Set-CalendarProcessing over WinRM ----------------------------------------------------------------------


def test_get_and_set_calendar_processing_over_winrm(fresh_lab: LabHelper) -> None:
    with exchange(fresh_lab) as pool:
        got = run(pool, "Get-CalendarProcessing", Identity="room-zurich")
        assert not got.errors
        [obj] = got.objects
        shown = props(obj)
        assert obj.types[0] == "Deserialized.Microsoft.Exchange.Management.StoreTasks.CalendarConfiguration"
        assert (
            shown["AutomateProcessing"],
            shown["BookingWindowInDays"],
            shown["MaximumDurationInMinutes"],
        ) == (
            "AutoAccept",
            180,
            1440,
        )
        assert (
            shown["AllowConflicts"],
            shown["ConflictPercentageAllowed"],
            shown["MaximumConflictInstances"],
        ) == (
            False,
            0,
            0,
        )
        assert (
            shown["AddOrganizerToSubject"],
            shown["DeleteSubject"],
            shown["EnforceSchedulingHorizon"],
        ) == (
            True,
            True,
            True,
        )
        assert shown["Identity"] == "room-zurich"

        changed = run(
            pool,
            "Set-CalendarProcessing",
            Identity="room-zurich@roomslab.onmicrosoft.com",
            BookingWindowInDays=30,
            MaximumDurationInMinutes=0,
            AllowConflicts=True,
        )
        assert not changed.errors and not changed.objects
        again = run(pool, "Set-CalendarProcessing", Identity="room-zurich", BookingWindowInDays=30)
        assert again.warnings == [
            "The command completed successfully but no settings of 'room-zurich' have been modified."
        ]
        refused = run(pool, "Set-CalendarProcessing", Identity="room-zurich", BookingWindowInDays=1081)
        assert "DataValidationException" in exception_message(refused.errors[0])
        assert "BookingWindowInDays must be an integer from 0 through 1080" in exception_message(
            refused.errors[0]
        )
        not_emulated = run(pool, "Set-CalendarProcessing", Identity="room-zurich", ResourceDelegates="x")
        assert not_emulated.error_ids == ["LabParameterNotEmulated,Set-CalendarProcessing"]

        hours = run(
            pool,
            "Set-MailboxCalendarConfiguration",
            Identity="room-zurich",
            WorkDays="Monday,Tuesday",
            WorkingHoursStartTime="09:00:00",
            WorkingHoursTimeZone="W. Europe Standard Time",
        )
        assert not hours.errors, [exception_message(e) for e in hours.errors]
        [config] = run(pool, "Get-MailboxCalendarConfiguration", Identity="room-zurich").objects
        assert (props(config)["WorkDays"], props(config)["WorkingHoursStartTime"]) == (
            "Monday, Tuesday",
            "09:00:00",
        )

    after = fresh_lab.admin(
        "GET", "mailboxes/room-zurich@roomslab.onmicrosoft.com/calendar-processing"
    ).json()
    assert (
        after["booking_window_in_days"],
        after["maximum_duration_in_minutes"],
        after["allow_conflicts"],
    ) == (
        30,
        0,
        True,
    )
    assert after["work_days"] == ["Monday", "Tuesday"]


def test_a_booking_window_set_by_cmdlet_declines_later_meetings(ews: EwsHelper) -> None:
    with exchange(ews.lab) as pool:
        assert not run(pool, "Set-CalendarProcessing", Identity="room-bern", BookingWindowInDays=7).errors
    book(ews, "Next month", MONDAY, room="room-bern")
    [answer] = process(ews)
    assert (answer["response"], answer["reason"]) == (
        "Decline",
        "The meeting is outside the resource's booking window of 7 days.",
    )


def test_a_person_attendee_is_not_a_room(ews: EwsHelper) -> None:
    item = meeting(ews.account("DiegoS"), "People only", MONDAY)
    item.required_attendees = [
        Attendee(mailbox=Mailbox(email_address=ews.address("AdeleV")), response_type="Unknown")
    ]
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert ews.lab.admin("GET", "room-answers").json()["pending"] == []
    assert by_subject(ews.calendar("AdeleV"), "People only")["free_busy"] == "Tentative"


def test_an_update_sent_to_changed_reaches_only_those_added_or_removed(ews: EwsHelper) -> None:
    """SendToChangedAndSaveCopy (MS-OXWSMTGS 2.2.5.3): the update goes only to attendees added or removed. A room
    kept is not asked again and keeps its answer on the organizer's item; one removed gets the cancellation; a
    person added gets the meeting."""
    item = book(ews, "Two rooms", MONDAY)
    item.resources = [room_attendee(ews, "room-zurich"), room_attendee(ews, "room-bern")]
    item.save(update_fields=["resources"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert [a["response"] for a in process(ews)] == ["Accept", "Accept"]
    item = ews.account("DiegoS").calendar.get(id=item.id)
    item.resources = [r for r in item.resources if "zurich" in r.mailbox.email_address]
    item.required_attendees = [
        Attendee(mailbox=Mailbox(email_address=ews.address("AdeleV")), response_type="Unknown")
    ]
    item.save(
        update_fields=["resources", "required_attendees"],
        send_meeting_invitations=SEND_TO_CHANGED_AND_SAVE_COPY,
    )
    assert ews.lab.admin("GET", "room-answers").json()["pending"] == []  # Zürich is not asked again
    assert room_response(ews, "Two rooms") == "Accept"
    assert len(ews.calendar("room-zurich")) == 1
    assert [i["is_cancelled"] for i in ews.calendar("room-bern")] in ([], [True])  # Bern was told
    assert by_subject(ews.calendar("AdeleV"), "Two rooms")["free_busy"] == "Tentative"
