"""The sync checker's oracle (tests/sync_checker/model.py) on its own: cases a soak hit."""

from __future__ import annotations

from tests.sync_checker.model import Edit, Model, _lost_changes


def test_a_booking_removed_with_its_person_is_no_checker_crash() -> None:
    """`persons remove --cancel-bookings` deletes the person's bookings with the person (the soak with seed 6000
    and the bounded CI run crashed with KeyError in _lost_changes for the booking of a removed person)."""
    model = Model()
    model.edits[2] = [Edit(side="rooms", name="subject", value="x", epoch=1)]
    model.deleted_in_outlook[3] = 1
    model.left["adelev@example.test"] = 2
    assert _lost_changes(model, {}, []) == []


def test_a_booking_gone_without_a_removed_person_is_a_violation() -> None:
    model = Model()
    model.edits[2] = [Edit(side="rooms", name="subject", value="x", epoch=1)]
    assert _lost_changes(model, {}, []) == ["I2: booking 2 is gone from ROOMS, though no person was removed"]
