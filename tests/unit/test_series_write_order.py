"""fix25f: a series' exceptions are written in an order Exchange accepts one write after the other
(`core.calendar.in_write_order`): each write moves an occurrence only between its neighbours as they stand then
(ErrorOccurrenceCrossingBoundary, the lab's rule: after the previous one's pattern day and current day, before the
next one's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

from roomsops.core.calendar import Exception_, in_write_order

BASE = datetime(2027, 3, 1, 9, tzinfo=UTC)
#: Every other day, four occurrences: each may sit a day early, on its day, or a day late.
PATTERN = [BASE + timedelta(days=2 * i) for i in range(4)]
OFFSETS = (-1, 0, 1)


def _at(offsets: tuple[int, ...]) -> list[datetime]:
    return [p + timedelta(days=o) for p, o in zip(PATTERN, offsets, strict=True)]


def _accepted(now: list[datetime], index: int, start: datetime) -> bool:
    """The lab's rule for one write: after the previous occurrence's pattern day and the day it stands on, before
    the next one's."""
    if index > 0 and start.date() <= max(PATTERN[index - 1], now[index - 1]).date():
        return False
    return not (index + 1 < len(now) and start.date() >= min(PATTERN[index + 1], now[index + 1]).date())


def _valid(state: list[datetime]) -> bool:
    return all(_accepted(state, i, s) for i, s in enumerate(state))


def test_a_reset_is_written_before_the_move_onto_the_day_it_frees() -> None:
    """Exchange holds the third occurrence a day early (on the second's next day); ROOMS moves the second a day late
    and sets the third back: the reset comes first."""
    move = Exception_(PATTERN[1], PATTERN[1] + timedelta(days=1), PATTERN[1] + timedelta(days=1, hours=1))
    reset = Exception_(PATTERN[2], PATTERN[2], PATTERN[2] + timedelta(hours=1))
    held = {PATTERN[2]: PATTERN[2] - timedelta(days=1)}
    assert in_write_order([move, reset], held) == (reset, move)


def test_every_write_in_that_order_is_accepted_from_any_series_held_to_any_series_written() -> None:
    """Every pair of a series as Exchange holds it and as ROOMS writes it (each keeping its occurrences in order):
    written in `in_write_order`, no write crosses a neighbour where it stands at that moment. Written in the series'
    order instead, some would (the case fix25f fixes)."""
    states = [offsets for offsets in product(OFFSETS, repeat=len(PATTERN)) if _valid(_at(offsets))]
    crossed_in_series_order = 0
    for held_offsets, target_offsets in product(states, states):
        held, target = _at(held_offsets), _at(target_offsets)
        exceptions = [
            Exception_(p, t, t + timedelta(hours=1))
            for p, h, t in zip(PATTERN, held, target, strict=True)
            if h != p or t != p
        ]
        holding = {p: h for p, h in zip(PATTERN, held, strict=True) if h != p}
        for order, in_order in ((in_write_order(exceptions, holding), True), (exceptions, False)):
            now = list(held)
            for e in order:
                index = PATTERN.index(e.original_start)
                if not _accepted(now, index, e.start):
                    assert not in_order, (held_offsets, target_offsets, order)
                    crossed_in_series_order += 1
                    break
                now[index] = e.start
            else:
                assert now == target
    assert crossed_in_series_order > 0
