"""Recurring series over the lab's EWS (issue 18, item 1), driven by the real exchangelib.

What a mailbox holds is read through the lab's admin API (GET /lab/mailboxes/<email>/calendar, and its
`?expand=<start>,<end>` form for occurrences), never only through exchangelib's own reading of EWS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from exchangelib import UTC, Attendee, CalendarItem, EWSDateTime, EWSTimeZone, Mailbox
from exchangelib.errors import (
    ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange,
    ErrorCalendarOccurrenceIsDeletedFromRecurrence,
)
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)

from .conftest import LabHelper
from .test_lab_ews import MONDAY, EwsHelper, H, exchangelib_against, room_attendee, z

pytestmark = pytest.mark.integration

ZURICH = EWSTimeZone("Europe/Zurich")
# Monday 17 March 2031: four Mondays either side of the change to summer time in Zürich (Sunday 30 March 2031).
BEFORE_DST = EWSDateTime(2031, 3, 17, 9, 0, tzinfo=ZURICH)
MONDAY_, WEDNESDAY, FRIDAY = 1, 3, 5  # exchangelib's weekday numbers
SECOND, LAST = 2, 5  # DayOfWeekIndex
NOVEMBER = 11


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    """A fresh tenant; rooms answer at once (these tests are about series, not the attendant's timing)."""
    fresh_lab.settings(room_answer_delay=0)
    with exchangelib_against(fresh_lab) as helper:
        yield helper


def series(
    account: Any, subject: str, start: EWSDateTime, recurrence: Recurrence, hours: int = 1, **fields: Any
) -> CalendarItem:
    return CalendarItem(
        account=account,
        folder=account.calendar,
        subject=subject,
        start=start,
        end=start + hours * H,
        recurrence=recurrence,
        **fields,
    )


def stored(ews: EwsHelper, local: str, expand: tuple[dt.datetime, dt.datetime] | None = None) -> list[Any]:
    """The admin API's view of a calendar: stored items, or with `expand` what a calendar view shows."""
    query = f"?expand={z(expand[0])},{z(expand[1])}" if expand else ""
    response = ews.lab.admin("GET", f"mailboxes/{ews.address(local)}/calendar{query}")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def utc(moment: dt.datetime) -> str:
    """A time as the lab stores it (UTC, `...Z`), whatever its zone."""
    plain = dt.datetime.fromisoformat(moment.isoformat())
    return z(plain.astimezone(dt.UTC))


# --- creating and expanding ----------------------------------------------------------------------------


def test_a_weekly_series_is_one_master_expanded_by_a_calendar_view(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    weekly = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[MONDAY_, WEDNESDAY], first_day_of_week=1),
        boundary=NumberedPattern(start=MONDAY.date(), number=5),
    )
    master = series(diego, "Stand-up", MONDAY, weekly)
    master.save(send_meeting_invitations=SEND_TO_NONE)

    items = stored(ews, "DiegoS")
    assert [(i["type"], i["subject"]) for i in items] == [("RecurringMaster", "Stand-up")]
    assert items[0]["recurrence"]["pattern"] == "WeeklyRecurrence"
    assert items[0]["recurrence"]["days_of_week"] == ["Monday", "Wednesday"]
    assert items[0]["recurrence"]["number"] == 5
    expected = [MONDAY + d * 24 * H for d in (0, 2, 7, 9, 14)]
    window = (MONDAY - H, MONDAY + 30 * 24 * H)
    expanded = stored(ews, "DiegoS", expand=window)
    assert [i["start"] for i in expanded] == [utc(m) for m in expected]
    assert {i["type"] for i in expanded} == {"Occurrence"}
    assert [i["instance_index"] for i in expanded] == [1, 2, 3, 4, 5]

    view = list(diego.calendar.view(*window))
    assert [o.start for o in view] == expected
    assert {(o.type, o.is_recurring, o.subject, o.uid) for o in view} == {
        ("Occurrence", True, "Stand-up", items[0]["uid"])
    }
    assert [o.original_start for o in view] == expected
    assert len({o.id for o in view}) == 5 and master.id not in {o.id for o in view}
    # Without a calendar view FindItem returns the master, not its occurrences (finditem-operation.md).
    found = list(diego.calendar.all())
    assert [(i.type, i.id, i.is_recurring) for i in found] == [("RecurringMaster", master.id, False)]


PATTERNS: list[tuple[str, Any, Any, list[dt.date]]] = [
    (
        "daily every second day until an end date",
        DailyPattern(interval=2),
        lambda d: EndDatePattern(start=d, end=d + dt.timedelta(days=6)),
        [dt.date(2031, 1, 6), dt.date(2031, 1, 8), dt.date(2031, 1, 10), dt.date(2031, 1, 12)],
    ),
    (
        "weekly on Friday without end",
        WeeklyPattern(interval=2, weekdays=[FRIDAY], first_day_of_week=1),
        lambda d: NoEndPattern(start=d),
        [dt.date(2031, 1, 10), dt.date(2031, 1, 24), dt.date(2031, 2, 7), dt.date(2031, 2, 21)],
    ),
    (
        "monthly on the 31st, the last day in shorter months",
        AbsoluteMonthlyPattern(interval=1, day_of_month=31),
        lambda d: NumberedPattern(start=d, number=4),
        [dt.date(2031, 1, 31), dt.date(2031, 2, 28), dt.date(2031, 3, 31), dt.date(2031, 4, 30)],
    ),
    (
        "monthly on the second Tuesday",
        RelativeMonthlyPattern(interval=1, weekday=2, week_number=SECOND),
        lambda d: NumberedPattern(start=d, number=3),
        [dt.date(2031, 1, 14), dt.date(2031, 2, 11), dt.date(2031, 3, 11)],
    ),
    (
        "yearly on 6 January",
        AbsoluteYearlyPattern(day_of_month=6, month=1),
        lambda d: NumberedPattern(start=d, number=2),
        [dt.date(2031, 1, 6), dt.date(2032, 1, 6)],
    ),
    (
        "yearly on the last Friday of November",
        RelativeYearlyPattern(weekday=FRIDAY, week_number=LAST, month=NOVEMBER),
        lambda d: EndDatePattern(start=d, end=dt.date(2032, 12, 31)),
        [dt.date(2031, 11, 28), dt.date(2032, 11, 26)],
    ),
]


@pytest.mark.parametrize(("name", "pattern", "boundary", "dates"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_every_pattern_and_range_expands_as_its_definition_says(
    ews: EwsHelper, name: str, pattern: Any, boundary: Any, dates: list[dt.date]
) -> None:
    diego = ews.account("DiegoS")
    start = EWSDateTime(2031, 1, 6, 10, 0, tzinfo=UTC)  # a Monday
    master = series(diego, name, start, Recurrence(pattern=pattern, boundary=boundary(start.date())))
    master.save(send_meeting_invitations=SEND_TO_NONE)
    until = EWSDateTime.combine(dates[-1], dt.time(23, 0)).replace(tzinfo=UTC)
    window = (start - H, until)
    expected = [utc(dt.datetime.combine(d, dt.time(10, 0), tzinfo=dt.UTC)) for d in dates]
    assert [i["start"] for i in stored(ews, "DiegoS", expand=window)] == expected
    assert [utc(o.start) for o in diego.calendar.view(*window)] == expected
    fetched = diego.calendar.get(id=master.id)
    assert fetched.type == "RecurringMaster"
    assert type(fetched.recurrence.pattern) is type(pattern)
    assert type(fetched.recurrence.boundary) is type(boundary(start.date()))
    # The master is timed as its first occurrence.
    assert utc(fetched.start) == expected[0] == utc(fetched.first_occurrence.start)
    if isinstance(fetched.recurrence.boundary, NoEndPattern):
        assert fetched.last_occurrence is None
    else:
        assert utc(fetched.last_occurrence.start) == expected[-1]


def test_a_weekly_series_keeps_its_local_time_across_the_change_to_summer_time(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    weekly = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[MONDAY_], first_day_of_week=1),
        boundary=NumberedPattern(start=BEFORE_DST.date(), number=4),
    )
    series(diego, "Zürich weekly", BEFORE_DST, weekly).save(send_meeting_invitations=SEND_TO_NONE)
    window = (BEFORE_DST - H, BEFORE_DST + 28 * 24 * H)
    occurrences = list(diego.calendar.view(*window))
    assert [o.start.astimezone(ZURICH).strftime("%a %d %H:%M") for o in occurrences] == [
        "Mon 17 09:00",
        "Mon 24 09:00",
        "Mon 31 09:00",
        "Mon 07 09:00",
    ]
    # In UTC the occurrences after the last Sunday of March start an hour earlier.
    assert [i["start"] for i in stored(ews, "DiegoS", expand=window)] == [
        "2031-03-17T08:00:00Z",
        "2031-03-24T08:00:00Z",
        "2031-03-31T07:00:00Z",
        "2031-04-07T07:00:00Z",
    ]


# --- occurrences, exceptions, deleted occurrences -----------------------------------------------------------


def weekly_meeting(ews: EwsHelper, subject: str, number: int = 4, **fields: Any) -> CalendarItem:
    diego = ews.account("DiegoS")
    weekly = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[MONDAY_], first_day_of_week=1),
        boundary=NumberedPattern(start=MONDAY.date(), number=number),
    )
    master = series(diego, subject, MONDAY, weekly, **fields)
    invites = "required_attendees" in fields or "resources" in fields
    master.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY if invites else SEND_TO_NONE)
    return master


def test_moving_one_occurrence_makes_an_exception_and_deleting_one_a_deleted_occurrence(
    ews: EwsHelper,
) -> None:
    adele = Attendee(mailbox=Mailbox(email_address=ews.address("AdeleV")), response_type="Unknown")
    master = weekly_meeting(ews, "Weekly review", required_attendees=[adele])
    second = master.occurrence(2)
    second.refresh()  # GetItem with an OccurrenceItemId
    assert (second.type, second.start, second.original_start) == (
        "Occurrence",
        MONDAY + 7 * 24 * H,
        second.start,
    )
    second.start, second.end = second.start + 2 * H, second.end + 2 * H
    second.subject = "Weekly review (later)"
    second.save(update_fields=["start", "end", "subject"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    third = master.occurrence(3)
    third.refresh()
    third_id = third.id
    third.delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)

    fresh = second.recurring_master()  # GetItem with a RecurringMasterItemId
    fresh.refresh()
    assert (fresh.id, fresh.type) == (master.id, "RecurringMaster")
    assert [(o.start, o.original_start) for o in fresh.modified_occurrences] == [
        (MONDAY + 7 * 24 * H + 2 * H, MONDAY + 7 * 24 * H)
    ]
    assert [d.start for d in fresh.deleted_occurrences] == [MONDAY + 14 * 24 * H]
    window = (MONDAY - H, MONDAY + 30 * 24 * H)
    view = list(ews.account("DiegoS").calendar.view(*window))
    assert [(o.type, o.start, o.subject) for o in view] == [
        ("Occurrence", MONDAY, "Weekly review"),
        ("Exception", MONDAY + 7 * 24 * H + 2 * H, "Weekly review (later)"),
        ("Occurrence", MONDAY + 21 * 24 * H, "Weekly review"),
    ]
    exception = view[1]
    assert exception.id == second.id and exception.recurrence_id == MONDAY + 7 * 24 * H
    with pytest.raises(ErrorCalendarOccurrenceIsDeletedFromRecurrence):
        master.occurrence(3).refresh()
    with pytest.raises(ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange):
        master.occurrence(5).refresh()
    # The deleted occurrence's id names a deleted occurrence (handling-deletion-related-errors-in-ews-in-exchange,
    # Table 1), not a missing item: the series is still there.
    with pytest.raises(ErrorCalendarOccurrenceIsDeletedFromRecurrence):
        list(ews.account("DiegoS").fetch(ids=[(third_id, None)]))

    # The organizer's changes reached the attendee's copy of the series.
    (copy,) = stored(ews, "AdeleV")
    assert copy["type"] == "RecurringMaster"
    assert [e["original_start"] for e in copy["modified_occurrences"]] == [utc(MONDAY + 7 * 24 * H)]
    assert copy["deleted_occurrences"] == [utc(MONDAY + 14 * 24 * H)]
    assert [i["start"] for i in stored(ews, "AdeleV", expand=window)] == [
        utc(MONDAY),
        utc(MONDAY + 7 * 24 * H + 2 * H),
        utc(MONDAY + 21 * 24 * H),
    ]


def test_a_new_pattern_re_expands_the_series_and_drops_its_exceptions(ews: EwsHelper) -> None:
    master = weekly_meeting(ews, "Pattern change")
    second = master.occurrence(2)
    second.refresh()
    second.subject = "Moved"
    second.save(update_fields=["subject"])
    master.occurrence(3).delete(send_meeting_cancellations=SEND_TO_NONE)
    master.refresh()
    assert len(master.modified_occurrences) == 1 and len(master.deleted_occurrences) == 1

    master.recurrence = Recurrence(
        pattern=DailyPattern(interval=1), boundary=NumberedPattern(start=MONDAY.date(), number=3)
    )
    master.save(update_fields=["recurrence"])
    master.refresh()
    assert master.modified_occurrences is None and master.deleted_occurrences is None
    window = (MONDAY - H, MONDAY + 30 * 24 * H)
    assert [o.start for o in ews.account("DiegoS").calendar.view(*window)] == [
        MONDAY + d * 24 * H for d in range(3)
    ]
    (item,) = stored(ews, "DiegoS")
    assert item["recurrence"]["pattern"] == "DailyRecurrence"
    assert (item["modified_occurrences"], item["deleted_occurrences"]) == ([], [])


def test_get_item_of_the_master_carries_the_series_properties(ews: EwsHelper) -> None:
    master = weekly_meeting(ews, "Master fields", number=3)
    first = master.occurrence(1)
    first.refresh()
    first.location = "Bern"
    first.save(update_fields=["location"])
    fetched = ews.account("DiegoS").calendar.get(id=master.id)
    assert fetched.type == "RecurringMaster" and fetched.is_recurring is False  # the organizer's master
    assert fetched.recurrence.pattern.weekdays == [MONDAY_]
    assert fetched.recurrence.boundary.number == 3
    assert fetched.first_occurrence.start == MONDAY and fetched.first_occurrence.id == first.id
    assert fetched.last_occurrence.start == MONDAY + 14 * 24 * H
    assert [o.id for o in fetched.modified_occurrences] == [first.id]
    assert fetched.deleted_occurrences is None
    exception = ews.account("DiegoS").calendar.get(id=first.id)
    assert (exception.type, exception.location, exception.recurrence) == ("Exception", "Bern", None)


def test_sync_folder_items_reports_the_master_and_its_changes_not_occurrences(ews: EwsHelper) -> None:
    calendar = ews.account("DiegoS").calendar
    master = weekly_meeting(ews, "Synced series")
    changes = list(calendar.sync_items())
    assert [(kind, item.id, item.type) for kind, item in changes] == [
        ("create", master.id, "RecurringMaster")
    ]
    state = calendar.item_sync_state
    second = master.occurrence(2)
    second.refresh()
    second.subject = "Synced exception"
    second.save(update_fields=["subject"])
    changes = list(calendar.sync_items(sync_state=state))
    assert [(kind, item.id, item.type) for kind, item in changes] == [
        ("update", master.id, "RecurringMaster")
    ]


# --- rooms ----------------------------------------------------------------------------------------------


def test_a_room_declines_a_series_with_a_conflicting_occurrence_and_accepts_a_free_one(
    ews: EwsHelper,
) -> None:
    diego = ews.account("DiegoS")
    # Room Bern is taken on the third Monday; MaximumConflictInstances 0 (the default) declines the series.
    taken = CalendarItem(
        account=diego,
        folder=diego.calendar,
        subject="Taken",
        start=MONDAY + 14 * 24 * H,
        end=MONDAY + 14 * 24 * H + H,
        resources=[room_attendee(ews, "room-bern")],
    )
    taken.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    weekly_meeting(ews, "Series in Bern", resources=[room_attendee(ews, "room-bern")])
    weekly_meeting(ews, "Series in Zurich", resources=[room_attendee(ews, "room-zurich")])

    organizer = {i["subject"]: i for i in stored(ews, "DiegoS")}
    assert organizer["Series in Bern"]["resources"][0]["response"] == "Decline"
    assert organizer["Series in Zurich"]["resources"][0]["response"] == "Accept"
    answers = ews.lab.admin("GET", "room-answers").json()["answered"]
    reasons = [a["reason"] for a in answers if a["subject"] == "Series in Bern"]
    assert reasons and "1 of 4 occurrences" in reasons[-1], answers
    assert [i["type"] for i in stored(ews, "room-bern")] == ["Single"]  # a declined series leaves nothing
    (booking,) = stored(ews, "room-zurich")
    assert booking["type"] == "RecurringMaster" and booking["recurrence"]["number"] == 4
    window = (MONDAY - H, MONDAY + 30 * 24 * H)
    assert len(stored(ews, "room-zurich", expand=window)) == 4


def test_a_room_allowing_one_conflict_accepts_the_series_without_that_occurrence(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    response = ews.lab.admin(
        "PATCH",
        f"mailboxes/{ews.address('room-bern')}/calendar-processing",
        json={"maximum_conflict_instances": 1, "conflict_percentage_allowed": 50},
    )
    assert response.status_code == 200, response.text
    CalendarItem(
        account=diego,
        folder=diego.calendar,
        subject="Taken",
        start=MONDAY + 7 * 24 * H,
        end=MONDAY + 7 * 24 * H + H,
        resources=[room_attendee(ews, "room-bern")],
    ).save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    weekly_meeting(ews, "Series with one conflict", resources=[room_attendee(ews, "room-bern")])
    organizer = {i["subject"]: i for i in stored(ews, "DiegoS")}
    assert organizer["Series with one conflict"]["resources"][0]["response"] == "Accept"
    bookings = [i for i in stored(ews, "room-bern") if i["type"] == "RecurringMaster"]
    assert len(bookings) == 1
    assert bookings[0]["deleted_occurrences"] == [utc(MONDAY + 7 * 24 * H)]
    window = (MONDAY - H, MONDAY + 30 * 24 * H)
    starts = [i["start"] for i in stored(ews, "room-bern", expand=window)]
    # The room's calendar: the single booking and three occurrences of the series.
    assert starts == [utc(MONDAY + d * 24 * H) for d in (0, 7, 14, 21)]


def test_the_admin_edits_act_on_one_occurrence_as_outlook_does(ews: EwsHelper) -> None:
    """PATCH and DELETE of /lab/mailboxes/<x>/calendar/<occurrence id> (the id the expanded view gives) act on that
    occurrence as Outlook's "this occurrence" does: an exception, a deleted occurrence whose cancellation reaches the
    attendees; a move of an occurrence, or a change of what follows the series, is a 400 that says so."""
    adele = Attendee(mailbox=Mailbox(email_address=ews.address("AdeleV")), response_type="Unknown")
    master = weekly_meeting(ews, "Weekly sync", required_attendees=[adele])
    window = (MONDAY - H, MONDAY + 30 * 24 * H)
    first, second, third, _ = stored(ews, "DiegoS", expand=window)
    calendar = f"mailboxes/{ews.address('DiegoS')}/calendar"

    later = z(MONDAY + 7 * 24 * H + 2 * H)
    moved = ews.lab.admin(
        "PATCH",
        f"{calendar}/{second['id']}",
        json={"start": later, "end": z(MONDAY + 7 * 24 * H + 3 * H), "subject": "Later"},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["type"], moved.json()["start"], moved.json()["master_id"]) == (
        "Exception",
        later,
        master.id,
    )
    refused = ews.lab.admin("PATCH", f"{calendar}/{second['id']}", json={"attendees": [ews.address("LeeG")]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "bad_field"), refused.text
    assert master.id in refused.json()["error"]["message"]  # the message names the master to PATCH instead
    crossing = ews.lab.admin(
        "PATCH", f"{calendar}/{second['id']}", json={"start": third["start"], "end": third["end"]}
    )
    assert crossing.status_code == 400 and "ErrorOccurrenceCrossingBoundary" in crossing.text, crossing.text

    deleted = ews.lab.admin("DELETE", f"{calendar}/{third['id']}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["series"]["deleted_occurrences"] == [third["original_start"]]
    again = ews.lab.admin("DELETE", f"{calendar}/{third['id']}")
    assert (again.status_code, again.json()["error"]["code"]) == (404, "item_not_found"), again.text
    assert "deleted from its series" in again.json()["error"]["message"]

    projects = ews.lab.admin(
        "POST", f"mailboxes/{ews.address('DiegoS')}/folders", json={"display_name": "Projects"}
    )
    assert projects.status_code == 201, projects.text
    move = ews.lab.admin("POST", f"{calendar}/{first['id']}/move", json={"folder": projects.json()["folder"]})
    assert (move.status_code, move.json()["error"]["code"]) == (400, "bad_field"), move.text
    assert "occurrence" in move.json()["error"]["message"]

    # The organizer's series and Adele's copy show the exception and the deleted occurrence.
    for local in ("DiegoS", "AdeleV"):
        shown = stored(ews, local, expand=window)
        assert [(o["start"], o["subject"]) for o in shown] == [
            (first["start"], "Weekly sync"),
            (later, "Later"),
            (utc(MONDAY + 21 * 24 * H), "Weekly sync"),
        ], local


def test_an_outlook_edit_of_a_masters_times_is_stored_as_update_item_stores_it(ews: EwsHelper) -> None:
    """fix19r (soak seed 33805): PATCH /lab/mailboxes/<x>/calendar/<master> with new times on a day the pattern has
    not (a Sunday for a Monday series) keeps the master on its first occurrence, at the new time of day, as UpdateItem
    does (`normalise_master`), drops the exceptions (new times re-expand the series) and sends the room that
    series: the room's copy holds no slot on the Sunday. Before, the master was stored at the Sunday as sent."""
    master = weekly_meeting(ews, "Moved series", resources=[room_attendee(ews, "room-zurich")])
    second = master.occurrence(2)
    second.refresh()
    second.subject = "Own subject"
    second.save(update_fields=["subject"])
    sunday = MONDAY - 24 * H + 2 * H
    response = ews.lab.admin(
        "PATCH",
        f"mailboxes/{ews.address('DiegoS')}/calendar/{master.id}",
        json={"start": utc(sunday), "end": utc(sunday + H)},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["start"], response.json()["end"]) == (utc(MONDAY + 2 * H), utc(MONDAY + 3 * H))
    (item,) = stored(ews, "DiegoS")
    assert (item["start"], item["modified_occurrences"]) == (utc(MONDAY + 2 * H), [])
    window = (MONDAY - 2 * 24 * H, MONDAY + 30 * 24 * H)
    starts = [i["start"] for i in stored(ews, "room-zurich", expand=window)]
    assert starts == [utc(MONDAY + d * 24 * H + 2 * H) for d in (0, 7, 14, 21)]
