"""fix25b (issue 25 item 4): which occurrences of a series Outlook edited since the last sync (three-way, by original
start), and how `sync diff` shows a series' difference (docs/series.md, "Conflicts and differences of a series")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from roomsops.adapters.store import Difference
from roomsops.core.calendar import Exception_
from roomsops.services.sync.model import occurrence_field, occurrence_of_field, occurrences_edited
from roomsops.services.sync.resolve import difference_lines
from tests.unit.test_series_from_exchange import DAYS, at, meeting

HOUR = timedelta(hours=1)


def test_an_exception_at_its_pattern_time_is_no_edit_and_a_move_or_delete_is() -> None:
    synced = meeting().series
    assert synced is not None
    # A set-back (an exception at the pattern's time) reads as none; a move and a deletion are edits.
    reset = Exception_(at(DAYS[0]), at(DAYS[0]), at(DAYS[0]) + HOUR)
    moved = Exception_(at(DAYS[1]), at("2027-03-23", 14), at("2027-03-23", 15))
    now = meeting(exceptions=(reset, moved), cancelled=(at(DAYS[3]),)).series
    assert now is not None
    assert occurrences_edited(synced, now, HOUR, HOUR) == (at(DAYS[1]), at(DAYS[3]))
    assert occurrences_edited(now, now, HOUR, HOUR) == ()


def test_an_occurrence_field_names_its_original_start() -> None:
    name = occurrence_field(at(DAYS[1]).replace(microsecond=5))
    assert name == "occurrence:2027-03-22T08:00:00+00:00"
    assert occurrence_of_field(name) == at(DAYS[1])
    assert occurrence_of_field("subject") is None


def test_sync_diff_shows_a_series_difference_per_series_field_and_per_occurrence() -> None:
    ours = meeting(cancelled=(at(DAYS[2]),))
    moved = Exception_(at(DAYS[1]), at("2027-03-23", 14), at("2027-03-23", 15))
    theirs = meeting(exceptions=(moved,))
    difference = Difference(
        booking_id=1,
        mailbox="diego@contoso.com",
        kind="both_changed",
        fields=("subject", occurrence_field(at(DAYS[1])), occurrence_field(at(DAYS[2]))),
        rooms_state=ours.to_json() | {"subject": "Weekly"},
        exchange_state=theirs.to_json() | {"subject": "Review"},
        detected=datetime(2027, 3, 1, tzinfo=UTC),
    )
    moved_line = (
        "occurrence Mon 2027-03-22 09:00 ROOMS: 09:00–10:00 Exchange: moved to Tue 2027-03-23 14:00–15:00"
    )
    assert [" ".join(line.split()) for line in difference_lines(difference)] == [
        "series subject ROOMS: Weekly Exchange: Review",
        moved_line,
        "occurrence Mon 2027-03-29 09:00 ROOMS: cancelled Exchange: 09:00–10:00",
    ]
