"""The calendar side as the engine sees it: read changes since a state, fetch, find by tag, write.

EWS implements it today (`ews_backend`); a Microsoft Graph backend can follow without touching the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from roomsops.adapters.ews.client import EwsError
from roomsops.services.sync.model import MeetingFields


@dataclass(frozen=True)
class Meeting:
    """A calendar item as the sync needs it."""

    item_id: str
    change_key: str
    fields: MeetingFields | None
    installation: str | None = None  # the tag: which roomsops installation wrote it
    booking_id: str | None = None
    organizer: str | None = None  # lower case
    is_cancelled: bool = False
    is_all_day: bool = False
    is_recurring: bool = False
    room_response: str | None = None  # Accept | Decline | Tentative | Unknown | NoResponseReceived


@dataclass(frozen=True)
class Changes:
    """What changed in a calendar since a state (ids only), and the state to continue from."""

    changed: list[tuple[str, str]] = field(default_factory=list)  # (item id, change key), created or updated
    deleted: list[str] = field(default_factory=list)
    state: str | None = None
    invalid_state: bool = False


class CalendarBackend(Protocol):
    def changes(self, mailbox: str, state: str | None) -> Changes:
        """Changes since `state` (None: from scratch, returning no items, only the state to go on from)."""

    def get(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        """Full meetings for these ids, in one request where possible; unknown ids are left out."""

    def find_tagged(self, mailbox: str, installation: str, booking_id: str | None = None) -> list[Meeting]:
        """Items tagged by `installation` (and for `booking_id`, if given)."""

    def create(self, mailbox: str, fields: MeetingFields, installation: str, booking_id: str) -> Meeting:
        """A new meeting organized by `mailbox`, tagged; raises WriteOutcomeUnknown if the answer was lost."""

    def create_many(
        self, mailbox: str, requests: Sequence[tuple[MeetingFields, str, str]]
    ) -> list[Meeting | EwsError]:
        """Several meetings at once (fields, installation, booking id); per item a Meeting or the item's error.
        Raises WriteOutcomeUnknown if the answer was lost."""

    def update(self, mailbox: str, meeting: Meeting, fields: MeetingFields) -> Meeting:
        """The same item changed to `fields` (invitations re-sent per settings)."""

    def tag(self, mailbox: str, meeting: Meeting, installation: str, booking_id: str) -> Meeting:
        """Put this installation's tag on a meeting made in Outlook that became a booking (no notices)."""

    def cancel(self, mailbox: str, meeting: Meeting) -> None:
        """Cancel the meeting (attendees and the room are told) or delete it when invitations are off."""
