"""The MOVE phase's rounds (review20b): a move onto a slot another move leaves goes after it, over every mailbox;
a cycle goes last, one by one, its early moves asked again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from roomsops.services.sync.engine import Move, move_rounds

DAY = datetime(2031, 3, 31, 8, tzinfo=UTC)


def slot(room: str, hour: int) -> tuple[str, datetime, datetime]:
    return (room, DAY + timedelta(hours=hour), DAY + timedelta(hours=hour + 1))


def test_a_chain_of_moves_goes_in_order_whatever_the_booking_ids_and_mailboxes() -> None:
    one = Move("diego", 1, slot("zurich", 2), slot("zurich", 3))  # onto the slot 2 leaves
    two = Move("adele", 2, slot("zurich", 3), slot("zurich", 4))  # onto the slot 3 leaves
    three = Move("adele", 3, slot("zurich", 4), slot("zurich", 5))
    other = Move("diego", 4, slot("bern", 3), slot("bern", 6))  # another room: no order needed
    rounds, early = move_rounds([one, two, three, other])
    assert rounds == [[three, other], [two], [one]]
    assert early == set()


def test_a_swap_goes_last_one_by_one_and_its_first_move_is_asked_again() -> None:
    one = Move("diego", 1, slot("zurich", 2), slot("bern", 2))
    two = Move("adele", 2, slot("bern", 2), slot("zurich", 2))
    free = Move("adele", 3, slot("geneva", 2), slot("geneva", 4))
    rounds, early = move_rounds([two, one, free])
    assert rounds == [[free], [one], [two]]
    assert early == {one}


def test_touching_slots_do_not_wait() -> None:
    one = Move("diego", 1, slot("zurich", 1), slot("zurich", 2))  # takes 10:00-11:00; 2 leaves 11:00-12:00
    two = Move("diego", 2, slot("zurich", 3), slot("zurich", 5))
    assert move_rounds([one, two]) == ([[one, two]], set())
