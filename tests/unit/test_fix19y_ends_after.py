"""fix19y (review19x): whether a meeting reaches past a moment — a series by its last occurrence (its range), not by
its master's Start and End (its first occurrence's), so one begun before the sync window is taken over."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from roomsops.core import recurrence as r
from roomsops.core.calendar import Exception_
from roomsops.services.sync.model import ends_after
from tests.unit.test_series_from_exchange import DAYS, at, meeting


def test_a_single_meeting_ends_when_it_ends() -> None:
    single = replace(meeting(), series=None)
    assert ends_after(single, at(DAYS[0], 9))
    assert not ends_after(single, at(DAYS[0], 10))


def test_a_series_ends_with_its_last_occurrence_by_end_date_or_count() -> None:
    by_date = meeting()  # 15 March to 5 April, Mondays 09:00-10:00
    assert ends_after(by_date, at(DAYS[3], 9)) and ends_after(by_date, at("2027-03-20"))
    assert not ends_after(by_date, at(DAYS[3], 10))
    numbered = meeting(range=r.Range(r.NUMBERED, date(2027, 3, 15), number_of_occurrences=3))
    assert ends_after(numbered, at(DAYS[2], 9)) and not ends_after(numbered, at(DAYS[2], 10))


def test_a_series_without_end_never_ends() -> None:
    assert ends_after(meeting(range=r.Range(r.NO_END, date(2027, 3, 15))), at("2035-01-01"))


def test_a_deleted_last_occurrence_ends_it_earlier_and_a_moved_one_where_it_is() -> None:
    deleted = meeting(cancelled=(at(DAYS[3]),))
    assert not ends_after(deleted, at(DAYS[2], 10))
    moved = Exception_(at(DAYS[3]), at("2027-04-07", 14), at("2027-04-07", 15))
    later = meeting(exceptions=(moved,))
    assert ends_after(later, at("2027-04-07", 14)) and not ends_after(later, at("2027-04-07", 15))
    earlier = meeting(exceptions=(Exception_(at(DAYS[3]), at("2027-04-01", 14), at("2027-04-01", 15)),))
    assert not ends_after(earlier, at(DAYS[3], 9))


def test_a_series_in_a_zone_no_table_names_counts_as_reaching_on() -> None:
    unknown = meeting(time_zone="Nowhere/Atlantis")
    assert ends_after(unknown, at("2030-01-01"))
