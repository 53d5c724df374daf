"""What the sync compares: the fields a booking and its meeting share, in one canonical form."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from roomsops.adapters.store import Booking

#: Fields that flow both ways; room and attendee changes made in Outlook are recorded as differences.
SYNCED_FIELDS = ("subject", "start", "end", "reminder_minutes", "private", "free_busy")


@dataclass(frozen=True)
class MeetingFields:
    subject: str
    start: datetime  # UTC
    end: datetime  # UTC
    location: str
    room: str  # the room mailbox, lower case
    attendees: tuple[str, ...]  # required attendees, lower case, sorted
    reminder_minutes: int | None
    private: bool
    free_busy: str

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.astimezone(UTC).isoformat()
        data["end"] = self.end.astimezone(UTC).isoformat()
        data["attendees"] = list(self.attendees)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MeetingFields:
        return cls(
            subject=str(data["subject"]),
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            location=str(data.get("location", "")),
            room=str(data.get("room", "")),
            attendees=tuple(data.get("attendees", ())),
            reminder_minutes=data.get("reminder_minutes"),
            private=bool(data.get("private")),
            free_busy=str(data.get("free_busy", "Busy")),
        )

    def differs(self, other: MeetingFields, fields: tuple[str, ...] = SYNCED_FIELDS) -> list[str]:
        return [name for name in fields if getattr(self, name) != getattr(other, name)]


def normalized_attendees(addresses: Any) -> tuple[str, ...]:
    return tuple(sorted({str(a).strip().lower() for a in addresses if str(a).strip()}))


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
