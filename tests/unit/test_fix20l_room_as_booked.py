"""fix20l: a synced meeting's room as its booking holds it (`model.room_as_booked`, review20i) and the room kept on
the To line by a write (`model.room_kept_on_its_line`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from roomsops.core.calendar import Meeting, MeetingFields
from roomsops.services.sync.model import room_as_booked, room_as_listed, room_kept_on_its_line

ZURICH, GENF, BERN, DIEGO = "zurich@c.example", "genf@c.example", "bern@c.example", "diego@c.example"
START = datetime(2027, 1, 4, 10, tzinfo=UTC)


def fields(room: str, attendees: tuple[str, ...] = ()) -> MeetingFields:
    return MeetingFields(
        subject="Planning",
        start=START,
        end=START.replace(hour=11),
        location="",
        room=room,
        attendees=attendees,
        reminder_minutes=15,
        private=False,
        free_busy="Busy",
    )


def meeting(
    resources: tuple[str, ...], attendees: tuple[str, ...] = (), optional: tuple[str, ...] = ()
) -> Meeting:
    first = resources[0] if resources else ""
    return Meeting(
        item_id="i",
        change_key="c",
        fields=fields(first, attendees),
        resources=resources,
        optional=optional,
    )


def room_of(m: Meeting) -> str:
    assert m.fields is not None
    return m.fields.room


def test_the_booked_room_is_found_on_every_line() -> None:
    assert room_of(room_as_booked(meeting((BERN, ZURICH)), ZURICH)) == ZURICH
    assert room_of(room_as_booked(meeting((BERN,), (DIEGO, ZURICH)), ZURICH)) == ZURICH  # To line
    assert room_of(room_as_booked(meeting((BERN,), (DIEGO,), (ZURICH,)), ZURICH)) == ZURICH  # optional
    # The booking's new room not listed yet: the snapshot's room, on the To line too.
    assert room_of(room_as_booked(meeting((BERN,), (ZURICH,)), GENF, ZURICH)) == ZURICH


def test_a_room_replaced_in_outlook_is_the_first_rooms_room_not_the_first_resource() -> None:
    swapped = meeting((BERN, GENF))
    assert room_of(room_as_booked(swapped, ZURICH, ZURICH, [ZURICH, GENF])) == GENF
    assert room_of(room_as_booked(swapped, ZURICH, ZURICH)) == BERN  # no ROOMS rooms known: Exchange's first
    assert room_of(room_as_booked(meeting((BERN,)), ZURICH, ZURICH, [ZURICH, GENF])) == BERN


def test_the_room_on_the_to_line_is_no_attendee_when_compared() -> None:
    held = fields(ZURICH, (DIEGO, ZURICH))
    assert room_as_listed(held, ZURICH) == fields(ZURICH, (DIEGO,))
    assert room_as_listed(fields(BERN, (DIEGO, ZURICH)), ZURICH) == fields(ZURICH, (DIEGO,))


def test_a_write_keeps_the_room_on_the_to_line_unless_the_room_changes() -> None:
    held = fields(ZURICH, (DIEGO, ZURICH))
    target = fields(ZURICH, (DIEGO,))
    assert room_kept_on_its_line(target, held).attendees == (DIEGO, ZURICH)  # nothing to write there
    moved = replace(target, room=GENF)
    assert room_kept_on_its_line(moved, held) == moved  # the old room leaves the To line
    assert room_kept_on_its_line(target, fields(ZURICH, (DIEGO,))) == target  # a resource: as it was
    assert room_kept_on_its_line(target, None) == target
