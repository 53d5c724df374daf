"""The sync checker's oracle (tests/sync_checker/model.py) on its own: cases a soak hit."""

from __future__ import annotations

from typing import Any

from tests.sync_checker.model import Edit, Model, _extra_slot_excuse, _lost_changes, gone_with_its_person


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


def test_a_purged_persons_own_outlook_meeting_may_hold_its_room() -> None:
    """`sync.on_person_removed = "purge"` leaves the meetings the person made in Outlook (the pass lists them in
    own_meetings_left): their room slots are no violation (the soak with seeds 6003 and 6004 reported them)."""
    model = Model(on_person_removed="purge")
    model.left["adelev@example.test"] = 3
    model.uid_booking["uid-1"] = 4
    copy = {"organizer": "AdeleV@example.test"}
    world: Any = None  # not asked: the UID's booking is known
    model.own_left.add(4)
    assert _extra_slot_excuse(world, model, {}, [], "room@example.test", "uid-1", copy, set()) is None
    model.own_left.clear()
    excuse = _extra_slot_excuse(world, model, {}, [], "room@example.test", "uid-1", copy, set())
    assert excuse is not None and "on_person_removed = purge" in excuse


def test_a_purged_persons_second_room_of_a_meeting_deleted_silently_may_hold_its_slot() -> None:
    """fix19p (soak seeds 32500, 32700): a synced meeting given the other ROOMS room in Outlook, then deleted
    without a cancellation, then its person leaves with `sync.on_person_removed = "purge"`: roomsops frees the
    booking's room (the copy by UID), not the second room, which a pass reported (or never saw: added and deleted
    before any pass). The same excuse as for a person still synced; the booking's own room is never excused."""
    model = Model(on_person_removed="purge")
    model.left["diegos@example.test"] = 3
    model.uid_booking["uid-1"] = 1
    model.second_room[1] = (1, "")
    model.deleted_silently[1] = 2
    bookings = {1: {"id": 1, "room": "zurich@example.test", "status": "active"}}
    copy = {"organizer": "DiegoS@example.test"}
    world: Any = None  # not asked: the UID's booking is known

    def excuse(room: str) -> str | None:
        return _extra_slot_excuse(world, model, bookings, [], room, "uid-1", copy, set())

    unreported = excuse("bern@example.test")  # added at epoch 1, deleted at 2, never reported
    assert unreported is not None and "on_person_removed = purge" in unreported
    model.log.append(
        (1, "booking 1 (DiegoS weekly): a second ROOMS room bern@example.test is in the meeting")
    )
    assert excuse("bern@example.test") is None
    own = excuse("zurich@example.test")  # the booking's room: roomsops must free it
    assert own is not None and "on_person_removed = purge" in own
    model.log.clear()
    model.deleted_silently[1] = 1  # added and deleted before any pass read the meeting
    assert excuse("bern@example.test") is None
    assert excuse("zurich@example.test") is not None


def test_an_outlook_attendee_edit_recorded_with_a_second_room_added_since_was_recorded() -> None:
    """fix19r (soak seed 33811): the checker added the other ROOMS room to the meeting's required attendees after its
    attendee edit; the engine's newer difference holds both, and that records the edit."""
    model = Model()
    model.edits[3] = [Edit(side="outlook", name="attendees", value=("meganb@example.test",), epoch=1)]
    booking = {"id": 3, "status": "active", "organizer": "AlexW@example.test", "attendees": []}
    recorded = {"booking_id": 3, "fields": ["attendees"]}
    recorded["exchange_state"] = {"attendees": ["meganb@example.test", "room-bern@example.test"]}
    assert _lost_changes(model, {3: booking}, [recorded]) != []  # no second room added: another value
    model.second_room[3] = (4, "")
    assert _lost_changes(model, {3: booking}, [recorded]) == []
    model.second_room[3] = (0, "")  # added before the edit: the edit's value is the whole list
    assert _lost_changes(model, {3: booking}, [recorded]) != []


def test_a_room_put_in_place_in_outlook_and_deleted_silently_before_a_pass_may_hold_its_slot() -> None:
    """series36 (soak seed 25063): Outlook gave the meeting of booking 2 another ROOMS room in place of its own, then
    deleted it without a cancellation, both before any pass read it (the same epoch): roomsops never saw that room
    listed, so its slot is excused. The booking's own room, or a room change a pass could read (an earlier epoch),
    is not."""
    model = Model()
    model.uid_booking["uid-1"] = 2
    model.outlook_touched[(2, "room")] = 4
    model.deleted_silently[2] = 4
    bookings = {2: {"id": 2, "room": "bern@example.test", "status": "cancelled", "title": "x"}}
    copy = {"organizer": "AdeleV@example.test"}
    world: Any = None  # not asked: the UID's booking is known

    def excuse(room: str) -> str | None:
        return _extra_slot_excuse(world, model, bookings, [], room, "uid-1", copy, set())

    assert excuse("zurich@example.test") is None
    own = excuse("bern@example.test")  # the room roomsops knew: it must free it
    assert own is not None and "was cancelled" in own
    model.outlook_touched[(2, "room")] = 3  # a pass ran between the room change and the deletion
    seen = excuse("zurich@example.test")
    assert seen is not None and "was cancelled" in seen
    model.left["adelev@example.test"] = 5  # the same once the person left the sync
    model.outlook_touched[(2, "room")] = 4
    assert excuse("zurich@example.test") is None


def test_a_meeting_let_go_may_outlive_its_booking_only_once_its_organizer_left() -> None:
    """series36 (soak seed 20141): a meeting unlinked by the Cancel behaviour (or restored) is the person's own; once
    `persons remove --cancel-bookings` deleted their bookings, it may stay tagged with a booking that is gone. Not a
    meeting roomsops still held, nor one whose organizer is still synced."""
    model = Model()
    model.left["adelev@example.test"] = 3
    assert not gone_with_its_person(model, "2", ["AdeleV@example.test"])  # never let go: a violation
    model.may_stay_live.add(2)
    assert gone_with_its_person(model, "2", ["AdeleV@example.test"])
    assert not gone_with_its_person(model, "2", ["DiegoS@example.test"])  # its organizer still synced
    assert not gone_with_its_person(model, "2:key", ["AdeleV@example.test"])
