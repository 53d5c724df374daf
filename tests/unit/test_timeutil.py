"""Times without an offset are local to rooms.time_zone; DST gaps and overlaps are refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from roomsops.core.errors import InputError
from roomsops.core.timeutil import parse_time, zone

ZURICH = zone("Europe/Zurich")


def test_local_time_becomes_utc() -> None:
    assert parse_time("2026-12-01T09:00", ZURICH) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert parse_time("2026-07-01T09:00", ZURICH) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def test_explicit_offset_wins() -> None:
    assert parse_time("2026-12-01T09:00+00:00", ZURICH) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_nonexistent_local_time_is_refused() -> None:
    with pytest.raises(InputError, match="does not exist in Europe/Zurich"):
        parse_time("2026-03-29T02:30", ZURICH)


def test_ambiguous_local_time_is_refused() -> None:
    with pytest.raises(InputError, match="is ambiguous in Europe/Zurich"):
        parse_time("2026-10-25T02:30", ZURICH)


def test_garbage_and_unknown_zone() -> None:
    with pytest.raises(InputError, match="is not a time"):
        parse_time("tomorrow", ZURICH)
    with pytest.raises(InputError, match="not a known time zone"):
        zone("Mars/Olympus")
