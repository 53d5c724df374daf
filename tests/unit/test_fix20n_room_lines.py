"""fix20n (review20m): a ROOMS room Outlook swapped in on the To or Optional line is the meeting's room
(`model.room_as_booked`), compared as no attendee (`model.room_as_listed`); a room write over Graph takes the old
room off every line, by its address or an alias (`graph.backend._merged`)."""

from __future__ import annotations

from typing import Any

from roomsops.adapters.graph.backend import _merged
from roomsops.services.sync.model import room_as_booked, room_as_listed
from tests.unit.test_fix20l_room_as_booked import BERN, DIEGO, GENF, ZURICH, fields, meeting, room_of

LOBBY, ALIAS = "lobby@c.example", "alias-zurich@c.example"


def test_a_rooms_room_swapped_in_on_an_attendee_line_is_the_meetings_room() -> None:
    rooms = [ZURICH, BERN]
    on_to = room_as_booked(meeting((LOBBY,), (DIEGO, BERN)), ZURICH, ZURICH, rooms)
    assert room_of(on_to) == BERN
    assert room_of(room_as_booked(meeting((LOBBY,), (DIEGO,), (BERN,)), ZURICH, ZURICH, rooms)) == BERN
    # A ROOMS room among the resources goes first; none at all: Exchange's first resource.
    assert room_of(room_as_booked(meeting((LOBBY, GENF), (BERN,)), ZURICH, ZURICH, [*rooms, GENF])) == GENF
    assert room_of(room_as_booked(meeting((LOBBY,), (DIEGO,)), ZURICH, ZURICH, rooms)) == LOBBY
    # Compared as ROOMS reads it: the room read on the To line is no attendee (kept there as read).
    assert on_to.fields is not None and on_to.fields.attendees == (DIEGO, BERN)
    assert room_as_listed(on_to.fields, ZURICH).attendees == (DIEGO,)


def entry(kind: str, address: str, response: str = "accepted") -> dict[str, Any]:
    return {"type": kind, "emailAddress": {"address": address}, "status": {"response": response}}


def listed(attendees: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["type"], a["emailAddress"]["address"]) for a in attendees]


def test_a_graph_room_write_takes_the_old_room_off_every_line() -> None:
    held = [
        entry("required", DIEGO),
        entry("optional", ZURICH),
        entry("optional", ALIAS),
        entry("resource", ZURICH),
        entry("resource", LOBBY),
    ]
    moved = _merged(held, fields(GENF, (DIEGO,)), {"room"}, ZURICH, [ALIAS])
    assert listed(moved) == [("required", DIEGO), ("resource", GENF), ("resource", LOBBY)]
    # Listed on the Optional line only: the new room goes first among the resources.
    only_optional = _merged(held[:3], fields(GENF, (DIEGO,)), {"room"}, ZURICH, [ALIAS])
    assert listed(only_optional) == [("required", DIEGO), ("resource", GENF)]
    # No room change (another field written): every line as held.
    assert listed(_merged(held, fields(ZURICH, (DIEGO,)), {"attendees"}, ZURICH, [ALIAS])) == listed(held)
