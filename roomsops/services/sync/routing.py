"""One backend per person's sync mode, behind the one port: persons in ROOMS' Graph mode (Microsoft365) are
synced over Microsoft Graph, persons in O365/O365Pull over EWS (or `sync.backend`), in the same pass, on the
same store. The engine sees one `CalendarBackend`; this one hands each call to the mailbox's own backend.

A person who left the sync (a mode roomsops does not sync) is routed by the service their mailbox was last synced
over (`routes` from the store), so the cancellation or purge of their meetings goes where their item ids belong.

A room is not a person and has no mode: its calendar (`room_calendar`, `delete_copy`) is opened over the
backend of the mailbox named `via` (the organizer whose pass asks about the room), whichever thread asks and
whatever it served before, so a pass over Graph never needs EWS for its rooms (a tenant whose EWS is off syncs
over Graph alone)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

from roomsops.core.calendar import BackendError, Changes, MailboxUnavailable, Meeting, MeetingFields
from roomsops.core.errors import RoomsopsError
from roomsops.services.sync.backend import CalendarBackend


class RoutedCalendar:
    """CalendarBackend that hands each call to `backends[route(mailbox)]` (kinds "ews", "graph")."""

    def __init__(
        self, backends: Mapping[str, CalendarBackend], routes: Mapping[str, str], default: str
    ) -> None:
        self.backends = dict(backends)
        self.routes = {mailbox.casefold(): kind for mailbox, kind in routes.items()}
        self.default = default

    def kind_of(self, mailbox: str) -> str:
        return self.routes.get(mailbox.casefold(), self.default)

    def service_of(self, mailbox: str) -> str:
        return self.kind_of(mailbox)

    def over(self, service: str) -> CalendarBackend | None:
        return self.backends.get(service)

    def _for(self, mailbox: str) -> CalendarBackend:
        return self.backends[self.kind_of(mailbox)]

    def _for_room(self, via: str | None) -> CalendarBackend:
        # The asking organizer's service; without one (no pass asks), the default's.
        return self._for(via) if via else self.backends[self.default]

    def requests_sent(self) -> int:
        # Each backend counts this thread's requests; a pass's cost is the difference, so the sum serves.
        return sum(backend.requests_sent() for backend in self.backends.values())

    def changes(self, mailbox: str, state: str | None) -> Changes:
        return self._for(mailbox).changes(mailbox, state)

    def get(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        return self._for(mailbox).get(mailbox, item_ids)

    def in_calendar(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        return self._for(mailbox).in_calendar(mailbox, item_ids)

    def find_tagged(self, mailbox: str, installation: str, booking_id: str | None = None) -> list[Meeting]:
        return self._for(mailbox).find_tagged(mailbox, installation, booking_id)

    def find_untagged(self, mailbox: str, start: datetime, end: datetime) -> list[Meeting]:
        return self._for(mailbox).find_untagged(mailbox, start, end)

    def find_untagged_by_uid(self, mailbox: str, uids: Sequence[str]) -> list[Meeting]:
        return self._for(mailbox).find_untagged_by_uid(mailbox, uids)

    def create(
        self,
        mailbox: str,
        fields: MeetingFields,
        installation: str,
        booking_id: str,
        revision: str | None = None,
    ) -> Meeting:
        return self._for(mailbox).create(mailbox, fields, installation, booking_id, revision)

    def create_many(
        self, mailbox: str, requests: Sequence[tuple[MeetingFields, str, str]], revision: str | None = None
    ) -> list[Meeting | BackendError]:
        return self._for(mailbox).create_many(mailbox, requests, revision)

    def update(
        self,
        mailbox: str,
        meeting: Meeting,
        fields: MeetingFields,
        revision: str | None = None,
        room_aliases: Sequence[str] = (),
    ) -> Meeting:
        return self._for(mailbox).update(mailbox, meeting, fields, revision, room_aliases)

    def series_exceptions(self, mailbox: str, meeting: Meeting) -> Meeting:
        return self._for(mailbox).series_exceptions(mailbox, meeting)

    def tag(
        self, mailbox: str, meeting: Meeting, installation: str, booking_id: str, revision: str | None = None
    ) -> Meeting:
        return self._for(mailbox).tag(mailbox, meeting, installation, booking_id, revision)

    def remove_attendees(self, mailbox: str, meeting: Meeting, addresses: Sequence[str]) -> None:
        self._for(mailbox).remove_attendees(mailbox, meeting, addresses)

    def room_calendar(
        self,
        room: str,
        start: datetime,
        end: datetime,
        uid: str | None = None,
        *,
        via: str | None = None,
        occurrences: bool = False,
    ) -> list[Meeting]:
        return self._for_room(via).room_calendar(room, start, end, uid, via=via, occurrences=occurrences)

    def primary_address(self, address: str, via: str) -> str | None:
        return self._for(via).primary_address(address, via)

    def creates_per_request_for(self, mailbox: str) -> int:
        """New meetings one request of `mailbox`'s backend carries (0: all in one)."""
        return int(getattr(self._for(mailbox), "creates_per_request", 0))

    def resolves_aliases_for(self, via: str) -> bool:
        """Whether `primary_address` over the backend of `via` resolves aliases (Graph's does not)."""
        return bool(getattr(self._for(via), "resolves_aliases", True))

    def delete_copy(self, room: str, meeting: Meeting, *, via: str | None = None) -> None:
        self._for_room(via).delete_copy(room, meeting, via=via)

    def cancel(self, mailbox: str, meeting: Meeting) -> None:
        self._for(mailbox).cancel(mailbox, meeting)


class RefusedCalendar:
    """The backend of persons whose service cannot be built with these settings (e.g. Graph with
    `sync.send_invitations = none`): each of their mailboxes fails with the reason (MailboxUnavailable), the other
    persons are synced (one mailbox's problem never stops the others)."""

    def __init__(self, reason: RoomsopsError) -> None:
        self.reason = reason

    def requests_sent(self) -> int:
        return 0

    def over(self, service: str) -> CalendarBackend | None:
        return None

    def _refuse(self, mailbox: str) -> NoReturn:
        raise MailboxUnavailable(
            "refused", mailbox, self.reason.message, self.reason.remedy, code=self.reason.code
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda mailbox, *args, **kwargs: self._refuse(mailbox)
