"""The note of an occurrence deleted in Outlook (fix19z) as review25aa's low-harm notes asked (fix25ab): a move the
last sync wrote is "dropped with it", not "not written"; an occurrence already past gets no `bookings add` command
(which refuses a time in the past); one ahead gets times with their UTC offset and a title quoted for the shell."""

from __future__ import annotations

import shlex
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from roomsops.adapters.store import Booking, Occurrence
from roomsops.core import recurrence as r
from roomsops.core.calendar import Exception_, MeetingFields, SeriesFields
from roomsops.services.sync.engine import MailboxSync

ZURICH = ZoneInfo("Europe/Zurich")
ORIGINAL = datetime(2027, 4, 5, 7, 0, tzinfo=UTC)  # Mon 09:00 in Zürich
HOUR = timedelta(hours=1)
MOVED = Occurrence(ORIGINAL, ORIGINAL + 6 * HOUR, ORIGINAL + 7 * HOUR)  # to 15:00–16:00


def notice(occurrence: Occurrence, now: datetime, written: bool = False) -> str:
    sync = object.__new__(MailboxSync)  # only its clock is read
    sync.ctx = SimpleNamespace(now=lambda: now)  # type: ignore[assignment]
    booking = Booking(
        1, "diego@contoso.com", "room-zurich@contoso.com", "Zürich", "Bob's $100 budget",
        ORIGINAL, ORIGINAL + HOUR, (), False, None, "Busy", "active", 1, now, now,
    )  # fmt: skip
    moved = (Exception_(ORIGINAL, occurrence.start, occurrence.end),) if written else ()
    series = SeriesFields(
        r.Pattern(r.WEEKLY, days_of_week=("monday",)),
        r.Range(r.NUMBERED, date(2027, 3, 15), number_of_occurrences=5),
        exceptions=moved,
    )
    synced = MeetingFields("t", ORIGINAL, ORIGINAL + HOUR, "", "", (), None, False, "Busy", series)
    return sync._deletion_notice(booking, occurrence, HOUR, ZURICH, synced)


def test_a_move_not_written_yet_is_said_not_written_with_a_command_that_books_it() -> None:
    said = notice(MOVED, datetime(2026, 12, 4, tzinfo=UTC))
    assert "ROOMS' move to 2027-04-05 15:00–16:00 was not written" in said, said
    words = shlex.split(said.split("book the slot again as a single booking: ", 1)[1])
    assert words[words.index("--start") + 1] == "2027-04-05T15:00+02:00", words
    assert words[words.index("--title") + 1] == "Bob's $100 budget", words


def test_a_move_the_last_sync_wrote_is_dropped_not_unwritten() -> None:
    said = notice(MOVED, datetime(2026, 12, 4, tzinfo=UTC), written=True)
    assert "was not written" not in said and "dropped with it (it had been written)" in said, said


def test_a_past_occurrence_gets_no_bookings_add_command() -> None:
    said = notice(MOVED, datetime(2027, 4, 6, tzinfo=UTC))
    assert "bookings add" not in said and "in the past" in said, said
