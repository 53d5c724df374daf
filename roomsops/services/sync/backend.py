"""The port: what the sync engine needs of a calendar backend, and what a backend must guarantee.

The engine, `sync diff/resolve` and `sync purge` see a calendar only through `CalendarBackend`; the types and
errors it speaks are `roomsops.core.calendar`'s. EWS implements it today (`roomsops.adapters.ews.backend`); a new
backend (Microsoft Graph) implements this Protocol alone and is chosen in `roomsops.services.sync.factory`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from roomsops.core.calendar import BackendError, Changes, Meeting, MeetingFields


class CalendarBackend(Protocol):
    """A calendar service, addressed per mailbox (the organizer's SMTP address).

    What every backend guarantees (the engine's crash safety rests on it):

    - **Tags survive.** `create`, `create_many` and `tag` store the installation id and the booking id on the
      item so that `find_tagged` finds it later, by another process, also after a write whose answer was lost.
    - **Lost writes are never resent.** A write whose connection dropped raises `WriteOutcomeUnknown` and is not
      retried inside the backend (the engine looks the item up by its tag instead); a read may be retried.
    - **Sync states.** `changes(mailbox, None)` returns no items, only a state to continue from (and, where the
      read tells them at no extra request, `Changes.candidates`: at least every untagged single meeting and series
      master the mailbox organizes with an attendee, so a first pass can discover them without `find_untagged`). `changes(mailbox,
      state)` returns every item created, updated or deleted since `state` (the engine's own writes included)
      and the next state. A state the service no longer accepts gives `Changes(invalid_state=True)`, never an
      error: the engine then reconciles by tag.
    - **Canonical fields.** Meetings carry `MeetingFields` in their canonical form (UTC times, lower-case and
      sorted addresses), the organizer in lower case, and `change_key`, an opaque version that changes with
      every change of the item.
    - **Invitations are a closed set.** The backend takes `core.calendar.Invitations`; with ALL, writes notify
      attendees and rooms and `cancel` sends a cancellation; with NONE nothing is sent and `cancel` deletes.
    - **Errors are the port's.** Failures are `core.calendar` errors: `MailboxUnavailable` (`AccessDenied`,
      `Throttled`) stops the pass for the mailbox; any other `BackendError` fails the bookings written;
      `core.errors.ConnectError` means the service was not reached (network, TLS, token).
    - **Threads.** One backend serves several mailboxes in parallel threads (`sync.concurrency`).
    """

    def requests_sent(self) -> int:
        """Requests this thread has sent to the calendar service so far (a pass's cost, for its report)."""

    def service_of(self, mailbox: str) -> str:
        """The service ("ews" or "graph") the mailbox's calendar is reached over: the one whose item ids its
        links hold. The sync records it per mailbox, so that a person who leaves the sync is still reached over
        it (their meetings cancelled or purged)."""

    def over(self, service: str) -> CalendarBackend | None:
        """The backend that reaches mailboxes over `service` ("ews" | "graph"), for reads only: a pass reads a
        link's item where its id belongs when the person was switched (fix24u); None when this process has none."""

    def changes(self, mailbox: str, state: str | None) -> Changes:
        """Changes since `state` (None: from scratch, returning no items, only the state to go on from)."""

    def get(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        """Full meetings for these ids, in one request where possible; unknown ids are left out."""

    def in_calendar(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        """As `get`, but only the meetings still in the mailbox's calendar: one moved in Outlook to another
        calendar or folder is left out, as `changes` reports it deleted (`get` finds an item wherever it is).
        The sync reads its linked meetings beyond `Changes.covers_until` with it."""

    def find_tagged(self, mailbox: str, installation: str, booking_id: str | None = None) -> list[Meeting]:
        """Items tagged by `installation` (and for `booking_id`, if given)."""

    def find_untagged(self, mailbox: str, start: datetime, end: datetime) -> list[Meeting]:
        """Meetings in the calendar overlapping [start, end) that carry no tag (any installation's): the candidates
        for new bookings in a full reconciliation. Single meetings, and the master of each series with an occurrence
        there (read once, with its pattern); occurrences alone are left out."""

    def find_untagged_by_uid(self, mailbox: str, uids: Sequence[str]) -> list[Meeting]:
        """The meetings in the calendar whose iCalendar UID is one of `uids` that carry no tag, whatever their dates:
        single meetings and series' masters (a listing of the whole calendar's ids and UIDs, then one read of those
        that match). Costly in a large calendar: for the rare look-up that must tell a meeting moved beyond every
        window from one deleted (`sync migrate`'s untagged `pending-update` meetings)."""

    def create(
        self,
        mailbox: str,
        fields: MeetingFields,
        installation: str,
        booking_id: str,
        revision: str | None = None,
    ) -> Meeting:
        """A new meeting organized by `mailbox`, tagged (and carrying `revision`, the write's revision tag);
        raises WriteOutcomeUnknown if the answer was lost."""

    def create_many(
        self, mailbox: str, requests: Sequence[tuple[MeetingFields, str, str]], revision: str | None = None
    ) -> list[Meeting | BackendError]:
        """Several meetings at once (fields, installation, booking id), each carrying `revision`; per item a
        Meeting or the item's error. Raises WriteOutcomeUnknown if the answer was lost."""

    def update(
        self,
        mailbox: str,
        meeting: Meeting,
        fields: MeetingFields,
        revision: str | None = None,
        room_aliases: Sequence[str] = (),
    ) -> Meeting:
        """The same item changed to `fields` (only the fields that differ from `meeting.fields` are written,
        with `revision` in the same write; nothing is written when none differs); the last writer wins over a
        change made meanwhile; invitations re-sent per settings. A room change (`fields.room` other than
        `meeting.fields.room`) takes the room the meeting had off every line it is listed on — resources, required
        and optional attendees — by its address or one of `room_aliases` (the addresses the pass saw it listed
        by), every other attendee kept (review20m)."""

    def series_exceptions(self, mailbox: str, meeting: Meeting) -> Meeting:
        """A series' master with its exceptions (`SeriesFields.cancelled`, `exceptions`, by original start) read,
        when the read that found it did not carry them (EWS: GetItem reads them with the master; Graph: the
        master's instances). The meeting as it is for anything else."""

    def tag(
        self, mailbox: str, meeting: Meeting, installation: str, booking_id: str, revision: str | None = None
    ) -> Meeting:
        """Put this installation's tag (and `revision`) on a meeting made in Outlook that became a booking (no
        notices)."""

    def remove_attendees(self, mailbox: str, meeting: Meeting, addresses: Sequence[str]) -> None:
        """Take `addresses` (rooms) off the meeting wherever they are listed, resources, required or optional
        attendees, leaving every other attendee as it is (their answers too); those removed are told per
        `sync.send_invitations`. The caller reads the meeting back to verify the write."""

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
        """The live single meetings in the room's own calendar overlapping [start, end) (only those with the
        meeting UID `uid`, if given): what the room holds (opens the room's mailbox: `AccessDenied` when the app
        may not). Any mailbox's calendar can be read so (the organizer's too). `via`: the mailbox whose pass
        asks (the organizer): a backend of several services opens the room over that mailbox's service.
        `occurrences`: each occurrence of a series in the window too, as the room holds it (EWS CalendarView and
        Graph calendarView expand recurrences), for what holds a slot (a decline's reason, review20s); a series'
        occurrence is then a meeting of its own times (no series), read in the same requests."""

    def primary_address(self, address: str, via: str) -> str | None:
        """The primary address (lower case) of the mailbox `address` names, an alias or proxy address included,
        asked as `via` (a mailbox the app may open); None when the directory does not know it. A lookup that got
        no answer raises (BackendError, ConnectError): it is not "unknown" (review20p)."""

    def delete_copy(self, room: str, meeting: Meeting, *, via: str | None = None) -> None:
        """Delete the room's copy (no notices): the room's slot is free again. Already gone is no error. `via`: as
        for `room_calendar`."""

    def cancel(self, mailbox: str, meeting: Meeting) -> None:
        """Cancel the meeting (attendees and the room are told) or delete it when invitations are off; a
        meeting already gone is no error."""
