"""The meeting a ROOMS booking should be, in the calendar vocabulary's canonical form."""

from __future__ import annotations

from datetime import UTC

from roomsops.adapters.store import Booking
from roomsops.core.calendar import MeetingFields, normalized_attendees


def booking_fields(booking: Booking) -> MeetingFields:
    """The meeting a booking should be."""
    return MeetingFields(
        subject=booking.title,
        start=booking.start.astimezone(UTC),
        end=booking.end.astimezone(UTC),
        location=booking.room_name,
        room=booking.room.lower(),
        attendees=normalized_attendees(booking.attendees),
        reminder_minutes=booking.reminder_minutes,
        private=booking.private,
        free_busy=booking.free_busy,
    )
