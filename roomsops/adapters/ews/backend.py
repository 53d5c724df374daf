"""The sync's calendar backend over EWS (exchangelib), through roomsops' EwsClient and its retry rules.

It implements `roomsops.services.sync.backend.CalendarBackend` in the port's own types and errors: exchangelib's
items become `Meeting`s here, and its errors the port's in `errors`.

The calendar is addressed by its distinguished id, so a pass costs no GetFolder; a pass with nothing
changed is one SyncFolderItems request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from exchangelib import EWSDateTime, EWSTimeZone
from exchangelib.errors import ErrorCalendarOccurrenceIsDeletedFromRecurrence, ErrorIrresolvableConflict
from exchangelib.folders import Calendar, Root
from exchangelib.items import (
    AUTO_RESOLVE,
    NEVER_OVERWRITE,
    SAVE_ONLY,
    SEND_TO_ALL_AND_SAVE_COPY,
    SEND_TO_CHANGED_AND_SAVE_COPY,
    SEND_TO_NONE,
    CalendarItem,
)
from exchangelib.properties import Attendee, Mailbox, OccurrenceItemId, RecurringMasterItemId

from roomsops.adapters.ews.client import EwsClient, requests_sent
from roomsops.adapters.ews.errors import EwsError, ews_error, translate
from roomsops.adapters.ews.series import from_recurrence, to_recurrence
from roomsops.adapters.ews.tags import INSTALLATION
from roomsops.core.calendar import (
    OCCURRENCE_VALUES,
    BackendError,
    Candidate,
    Changes,
    Exception_,
    Invitations,
    ItemGone,
    Meeting,
    MeetingFields,
    SeriesFields,
    SyncStateInvalid,
    normalized_attendees,
    occurrence_values,
    replaced_room,
    with_resets,
)

#: SyncFolderItems pages at most 512 changes (the documented maximum): one page for a typical calendar.
MAX_CHANGES = 512
#: The longest CalendarView asked for at once: EWS refuses one over two years (ErrorCalendarViewRangeTooBig), and two
#: calendar years are never shorter than 730 days (the engine's CALENDAR_VIEW_SPAN).
VIEW_SPAN = timedelta(days=730)
FETCH_FIELDS = (
    "subject",
    "start",
    "end",
    "location",
    "resources",
    "required_attendees",
    "optional_attendees",
    "uid",
    "organizer",
    "reminder_minutes_before_start",
    "reminder_is_set",
    "sensitivity",
    "legacy_free_busy_status",
    "is_cancelled",
    "is_all_day",
    "type",
    "recurrence",  # a series' master: its pattern and range (docs/series.md)
    "roomsops_installation",  # the tag (adapters/ews/tags.py)
    "roomsops_booking",
    "roomsops_revision",  # the revision tag of roomsops' last write
)
#: What GetItem reads of a series' master besides (docs/series.md, "Outlook edits of a series"): its exceptions
#: (ModifiedOccurrences: ItemId, Start, End, OriginalStart; DeletedOccurrences: the original starts; both "valid if
#: CalendarItemType has the RecurringMaster value", ews-ref/modifiedoccurrences) and the zone its pattern is expanded
#: in (StartTimeZone). Asked of GetItem only (the sync reads changed items so); FindItem views are not asked for them.
GET_FIELDS = (*FETCH_FIELDS, "modified_occurrences", "deleted_occurrences", "_start_timezone")
#: What an exception may hold of its own (the rest follows its master): read by GetItem of its occurrence.
OCCURRENCE_FIELDS = (
    "subject",
    "sensitivity",
    "legacy_free_busy_status",
    "reminder_minutes_before_start",
    "reminder_is_set",
)
#: What a from-scratch SyncFolderItems reads of each item besides its change key (all returned by FindItem too,
#: `ews-ref/finditem-operation`): enough to leave out what can never become a booking (`_candidate`).
CANDIDATE_FIELDS = (
    "type",
    "is_meeting",
    "is_cancelled",
    "my_response_type",
    "start",
    "end",
    INSTALLATION,
)


def _candidate(item: CalendarItem) -> Candidate | None:
    """The item as a candidate for a new booking, or None when it cannot become one: an occurrence or exception read
    alone (SyncFolderItems lists a series as its master, which is one: a series is taken over whole, soak seed
    37002), an appointment (IsMeeting false: no attendee, so no room), a cancelled meeting, an attendee's copy
    (MyResponseType not Organizer) or an item with any installation's tag. A property not answered counts as
    allowing it (the item is read in full and judged by the sync). A master's start and end are its first
    occurrence's: its end is not told (None), the series may reach into the window whenever it began."""
    if item.type not in (None, "Single", "RecurringMaster") or item.is_meeting is False or item.is_cancelled:
        return None
    if item.my_response_type not in (None, "Organizer") or getattr(item, INSTALLATION, None):
        return None
    if item.type == "RecurringMaster":
        return Candidate(item.id, _utc_or_none(item.start), None)
    return Candidate(item.id, _utc_or_none(item.start), _utc_or_none(item.end))


def _utc_or_none(value: object) -> datetime | None:
    """A start or end as UTC; None for a date (an all-day item's) or no value: its place in the window unknown."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return None
    return datetime.fromtimestamp(value.timestamp(), UTC)  # an EWSDateTime converts only to an EWSTimeZone


_FIELD_TO_EWS = {
    "subject": ("subject",),
    "start": ("start",),
    "end": ("end",),
    "location": ("location",),
    "room": ("resources",),
    "attendees": ("required_attendees",),
    "reminder_minutes": ("reminder_minutes_before_start", "reminder_is_set"),
    "private": ("sensitivity",),
    "free_busy": ("legacy_free_busy_status",),
}


def _reset_names(meeting: Meeting, fields: MeetingFields) -> list[str]:
    """What a write of `fields` over `meeting` writes besides the fields that differ. A meeting made all-day in
    Outlook, reset to the booking: IsAllDayEvent (false) in the same UpdateItem as its times, else Exchange keeps it
    all-day, midnight to midnight, and the next pass sees the same conflict (review19v). A recurrence added in
    Outlook to a single booking's meeting: Recurrence, deleted (`fields` has none; review25v)."""
    names = []
    if fields.series is None and meeting.fields is not None and meeting.fields.series is not None:
        names.append("recurrence")
    if meeting.is_all_day:
        names += ["start", "end", "is_all_day"]
    return names


def as_utc(value: Any, zone: tzinfo) -> datetime:
    """An EWS time as an aware UTC datetime. All-day items carry dates (exchangelib's EWSDate): a day starts at
    local midnight in `zone` (Exchange keeps all-day items from midnight to midnight in the organizer's zone)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"the time {value.isoformat()} has no time zone")
        return datetime.fromtimestamp(value.timestamp(), UTC)  # EWSDateTime refuses astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
    raise ValueError(f"no time in {value!r}")


def _address(value: Any) -> str:
    mailbox = getattr(value, "mailbox", value)
    return str(getattr(mailbox, "email_address", "") or "").lower()


def _fields(item: Any, zone: tzinfo) -> MeetingFields:
    resources = list(item.resources or [])
    reminder = item.reminder_minutes_before_start if item.reminder_is_set else None
    return MeetingFields(
        subject=item.subject or "",
        start=as_utc(item.start, zone),
        end=as_utc(item.end, zone),
        location=item.location or "",
        room=_address(resources[0]) if resources else "",
        attendees=normalized_attendees(_address(a) for a in (item.required_attendees or [])),
        reminder_minutes=reminder,
        private=item.sensitivity == "Private",
        free_busy=item.legacy_free_busy_status or "Busy",
        series=_series(item) if item.type == "RecurringMaster" and item.recurrence else None,
    )


def _series(item: Any) -> SeriesFields | None:
    """A master's series, with its exceptions when GetItem read them (`GET_FIELDS`, StartTimeZone among them): a
    deleted occurrence by its original start, a modified one by original start, start and end (its own values are
    not in ModifiedOccurrences)."""
    zone = getattr(item, "_start_timezone", None)
    series = from_recurrence(item.recurrence, getattr(zone, "key", None) or "UTC")
    if series is None or zone is None:
        return series  # read without GET_FIELDS: its exceptions are unknown
    deleted = tuple(as_utc(d.start, UTC) for d in item.deleted_occurrences or ())
    modified = tuple(
        Exception_(
            original_start=as_utc(o.original_start, UTC),
            start=as_utc(o.start, UTC),
            end=as_utc(o.end, UTC),
            item_id=getattr(o, "id", None),
        )
        for o in item.modified_occurrences or ()
    )
    return replace(series, cancelled=deleted, exceptions=modified, exceptions_read=True)


def _own_values(item: Any, master: MeetingFields) -> MeetingFields:
    reminder = item.reminder_minutes_before_start if item.reminder_is_set else None
    return replace(
        master,
        subject=item.subject or "",
        private=item.sensitivity == "Private",
        free_busy=item.legacy_free_busy_status or "Busy",
        reminder_minutes=reminder,
    )


def _changes(own: MeetingFields, master: MeetingFields) -> tuple[tuple[str, Any], ...]:
    """An occurrence's own values that differ from its master's, as `Exception_.changes` names them."""
    names = ("subject", "private", "reminder_minutes", "free_busy")
    return tuple((n, getattr(own, n)) for n in names if getattr(own, n) != getattr(master, n))


def meeting_from_item(item: Any, zone: tzinfo = UTC) -> Meeting:
    """The item as a Meeting, as Exchange holds it. An item whose fields cannot be read is still returned, with
    `fields` None and the reason in `problem`, so that the sync parks it instead of failing the mailbox."""
    resources = list(item.resources or [])
    optional = list(getattr(item, "optional_attendees", None) or [])
    attendees = resources + list(item.required_attendees or []) + optional
    fields: MeetingFields | None = None
    problem = None
    try:
        fields = _fields(item, zone)
    except Exception as exc:  # one odd item must not hide the others: the sync reports it
        problem = f"its fields cannot be read ({type(exc).__name__}: {exc})"
    return Meeting(
        item_id=item.id,
        change_key=item.changekey,
        fields=fields,
        installation=item.roomsops_installation,
        booking_id=item.roomsops_booking,
        revision=getattr(item, "roomsops_revision", None),
        organizer=_address(item.organizer) or None,
        is_cancelled=bool(item.is_cancelled),
        is_all_day=bool(item.is_all_day),
        is_recurring=item.type not in (None, "Single"),
        room_response=getattr(resources[0], "response_type", None) if resources else None,
        resources=tuple(a for a in (_address(r) for r in resources) if a),
        responses=tuple(
            (_address(a), str(getattr(a, "response_type", None) or "Unknown"))
            for a in attendees
            if _address(a)
        ),
        problem=problem,
        uid=getattr(item, "uid", None) or None,
        optional=tuple(a for a in (_address(o) for o in optional) if a),
        answered=tuple(
            (_address(a), _answer_time(a.last_response_time))
            for a in attendees
            if _address(a) and getattr(a, "last_response_time", None)
        ),
    )


def _answer_time(moment: datetime) -> str:
    """An attendee's LastResponseTime as `Meeting.answered` keeps it: UTC, whole seconds, ISO text."""
    return datetime.fromtimestamp(int(moment.timestamp()), UTC).isoformat()


#: Items one CreateItem request carries (exchangelib's default chunk size, 100).
CREATE_CHUNK = 100


class EwsCalendar:
    """CalendarBackend over EWS; `invitations` is `sync.send_invitations` (an unknown value is refused)."""

    def __init__(
        self, client: EwsClient, time_zone: str, invitations: Invitations | str = Invitations.ALL
    ) -> None:
        self.client = client
        self.zone = ZoneInfo(time_zone)
        self.ews_zone = EWSTimeZone(time_zone)
        self.invitations = Invitations.of(invitations)
        self.send = self.invitations is Invitations.ALL

    #: New meetings one CreateItem carries (`create_many`; exchangelib's chunk, passed to it): a sync worker's fence
    #: proves its lease before each such request (`FencedCalendar.create_many`), not once for all of them.
    creates_per_request = CREATE_CHUNK

    def _calendar(self, mailbox: str) -> Calendar:
        # Distinguished folder id: no GetFolder round trip (account.calendar would cost two).
        return Calendar(root=Root(account=self.client.account(mailbox)))

    def _local(self, value: datetime, zone: EWSTimeZone | None = None) -> EWSDateTime:
        # Converted from UTC: the offset sent keeps a repeated wall-clock hour (end of daylight saving time)
        # apart; from_datetime of a local time drops its fold and names the first of the two.
        return EWSDateTime.from_datetime(value.astimezone(UTC)).astimezone(zone or self.ews_zone)

    def requests_sent(self) -> int:
        return requests_sent()

    def service_of(self, mailbox: str) -> str:
        return "ews"

    def over(self, service: str) -> EwsCalendar | None:
        return self if service == "ews" else None

    def changes(self, mailbox: str, state: str | None) -> Changes:
        calendar = self._calendar(mailbox)

        def read() -> Changes:
            changed: list[tuple[str, str]] = []
            deleted: list[str] = []
            candidates: list[Candidate] = []
            # From scratch every item is listed once: with a few more properties (as FindItem returns them) the
            # same pages tell the candidates for new bookings, so a first pass needs no CalendarView of its own.
            only = ["changekey"] if state is not None else ["changekey", *CANDIDATE_FIELDS]
            for kind, item in calendar.sync_items(
                sync_state=state, only_fields=only, max_changes_returned=MAX_CHANGES
            ):
                if state is None:
                    # From scratch: only the state and the candidates matter; items are reconciled by tag.
                    if kind in ("create", "update") and isinstance(item, CalendarItem):
                        candidate = _candidate(item)
                        if candidate is not None:
                            candidates.append(candidate)
                    continue
                if kind in ("create", "update"):
                    changed.append((item.id, item.changekey))
                elif kind == "delete":
                    deleted.append(item.id)
            return Changes(
                changed=changed,
                deleted=deleted,
                state=calendar.item_sync_state,
                candidates=candidates if state is None else None,
            )

        try:
            return self.client.call(mailbox, read)
        except SyncStateInvalid:
            return Changes(invalid_state=True)

    def get(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        return self._get(mailbox, [(i, None) for i in item_ids])

    def _get(self, mailbox: str, item_ids: Sequence[Any]) -> list[Meeting]:
        if not item_ids:
            return []
        account = self.client.account(mailbox)
        # The calendar validates only_fields; without a folder exchangelib would GetFolder the root first.
        calendar = self._calendar(mailbox)
        found = self.client.call(
            mailbox,
            lambda: list(account.fetch(ids=list(item_ids), folder=calendar, only_fields=GET_FIELDS)),
        )
        for item in found:
            # Unknown ids are left out (the port's rule: the caller takes such a meeting for gone); any other
            # answer about one item (the server busy, ...) is an error, never taken for a deletion.
            if isinstance(item, Exception):
                error = translate(item, mailbox, write=False)
                if not isinstance(error, ItemGone):
                    raise error
        return [meeting_from_item(item, self.zone) for item in found if isinstance(item, CalendarItem)]

    def in_calendar(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        # GetItem finds an item in any folder: its ParentFolderId tells whether it is still in the calendar (whose
        # real id costs one GetFolder per mailbox and process). Not on a pass's path: SyncFolderItems covers the
        # whole calendar (`Changes.covers_until` None).
        if not item_ids:
            return []
        account = self.client.account(mailbox)
        calendar = self.client.calendar(mailbox)
        found = self.client.call(
            mailbox,
            lambda: list(
                account.fetch(
                    ids=[(i, None) for i in item_ids],
                    folder=calendar,
                    only_fields=(*FETCH_FIELDS, "parent_folder_id"),
                )
            ),
        )
        for item in found:
            # As `get`: an unknown id is left out (gone), any other answer about one item is an error, never taken
            # for a deletion (the sync cancels the booking of a meeting left out).
            if isinstance(item, Exception):
                error = translate(item, mailbox, write=False)
                if not isinstance(error, ItemGone):
                    raise error
        return [
            meeting_from_item(item, self.zone)
            for item in found
            if isinstance(item, CalendarItem)
            and item.parent_folder_id is not None
            and item.parent_folder_id.id == calendar.id
        ]

    def find_tagged(self, mailbox: str, installation: str, booking_id: str | None = None) -> list[Meeting]:
        # FindItem's paging needs the folder's real id (a GetFolder, only on this recovery path).
        calendar = self.client.calendar(mailbox)
        query = calendar.filter(roomsops_installation=installation)
        if booking_id is not None:
            query = query.filter(roomsops_booking=booking_id)
        ids = self.client.call(mailbox, lambda: [item.id for item in query.only("id", "changekey")])
        return self.get(mailbox, ids)

    def find_untagged(self, mailbox: str, start: datetime, end: datetime) -> list[Meeting]:
        # A CalendarView (FindItem) returns ids, the type, the UID and the tag; untagged single items are read in
        # full, and the master of each untagged series with an occurrence in the view (t:RecurringMasterItemId of
        # its first occurrence listed, one per UID), in the same GetItem: a CalendarView lists a series'
        # occurrences, never its master (soak seed 37002: a series made before a reset position was never booked).
        items = self._view(mailbox, start, end, "id", "changekey", "type", "uid", "roomsops_installation")
        untagged = [item for item in items if not getattr(item, "roomsops_installation", None)]
        ids: list[Any] = [(item.id, None) for item in untagged if item.type in (None, "Single")]
        masters: dict[str, Any] = {}
        for item in untagged:
            if item.type in ("Occurrence", "Exception"):
                masters.setdefault(item.uid or item.id, RecurringMasterItemId(id=item.id))
        found = self._get(mailbox, ids + list(masters.values()))
        # An occurrence's tag is its master's; read again, a master that carries one (any installation's) is left out.
        return list({m.item_id: m for m in found if m.installation is None}.values())

    def find_untagged_by_uid(self, mailbox: str, uids: Sequence[str]) -> list[Meeting]:
        # A FindItem without a view lists the calendar's single items and series' masters, whatever their dates
        # (ews-ref/finditem-operation), with their UID and tag; those that match are read in one GetItem.
        wanted = set(uids)
        if not wanted:
            return []
        calendar = self.client.calendar(mailbox)
        query = calendar.all().only("id", "changekey", "uid", "roomsops_installation")
        items: list[Any] = self.client.call(mailbox, partial(list, query))
        ids: list[Any] = [
            (item.id, None)
            for item in items
            if item.uid in wanted and not getattr(item, "roomsops_installation", None)
        ]
        return [m for m in self._get(mailbox, ids) if m.installation is None and m.uid in wanted]

    def _view(self, mailbox: str, start: datetime, end: datetime, *fields: str) -> list[Any]:
        """The items of [start, end) in the mailbox's calendar, by CalendarViews of at most VIEW_SPAN each: EWS
        refuses a view over two years (ErrorCalendarViewRangeTooBig) and a sync window may be longer (review24n).
        An item in two spans (one that crosses a cut) is listed once."""
        calendar = self.client.calendar(mailbox)
        found: dict[str, Any] = {}
        first = start
        while True:
            last = min(end, first + VIEW_SPAN)
            view = calendar.view(start=self._local(first), end=self._local(last)).only(*fields)
            items: list[Any] = self.client.call(mailbox, partial(list, view))
            for item in items:
                found.setdefault(item.id, item)
            if last >= end:
                return list(found.values())
            first = last

    def _values(self, fields: MeetingFields) -> dict[str, Any]:
        zone = EWSTimeZone(fields.series.time_zone) if fields.series is not None else self.ews_zone
        values = {
            "subject": fields.subject,
            # A series' start and end in its own zone: Exchange expands it there (StartTimeZone), so its
            # occurrences keep their wall-clock times across a daylight-saving change.
            "start": self._local(fields.start, zone),
            "end": self._local(fields.end, zone),
            "location": fields.location,
            "resources": [Attendee(mailbox=Mailbox(email_address=fields.room), response_type="Unknown")]
            if fields.room
            else [],
            "required_attendees": [
                Attendee(mailbox=Mailbox(email_address=a), response_type="Unknown") for a in fields.attendees
            ]
            or None,
            "reminder_minutes_before_start": fields.reminder_minutes or 0,
            "reminder_is_set": fields.reminder_minutes is not None,
            "sensitivity": "Private" if fields.private else "Normal",
            "legacy_free_busy_status": fields.free_busy,
        }
        if fields.series is not None:
            values["recurrence"] = to_recurrence(fields.series)
        return values

    def create(
        self,
        mailbox: str,
        fields: MeetingFields,
        installation: str,
        booking_id: str,
        revision: str | None = None,
    ) -> Meeting:
        account = self.client.account(mailbox)
        item = CalendarItem(
            account=account,
            folder=self._calendar(mailbox),
            roomsops_installation=installation,
            roomsops_booking=booking_id,
            roomsops_revision=revision,
            **self._values(fields),
        )
        send = SEND_TO_ALL_AND_SAVE_COPY if self.send else SEND_TO_NONE
        self.client.call(mailbox, lambda: item.save(send_meeting_invitations=send), write=True)
        if fields.series is not None:
            self._write_exceptions(mailbox, item.id, item.changekey, fields)
        return Meeting(
            item_id=item.id,
            change_key=item.changekey,
            fields=fields,
            installation=installation,
            booking_id=booking_id,
            revision=revision,
            organizer=mailbox.lower(),
        )

    def create_many(
        self, mailbox: str, requests: Sequence[tuple[MeetingFields, str, str]], revision: str | None = None
    ) -> list[Meeting | BackendError]:
        if any(fields.series is not None for fields, _, _ in requests):
            # A series is written alone: its master, then its exceptions (the sync sends one at a time).
            return [self.create(mailbox, f, i, b, revision) for f, i, b in requests]
        account = self.client.account(mailbox)
        calendar = self._calendar(mailbox)
        items = [
            CalendarItem(
                account=account,
                folder=calendar,
                roomsops_installation=installation,
                roomsops_booking=booking_id,
                roomsops_revision=revision,
                **self._values(fields),
            )
            for fields, installation, booking_id in requests
        ]
        send = SEND_TO_ALL_AND_SAVE_COPY if self.send else SEND_TO_NONE
        # At most CREATE_CHUNK items per CreateItem (exchangelib's default chunk size, named here).
        answers = self.client.call(
            mailbox,
            lambda: account.bulk_create(
                folder=calendar,
                items=items,
                message_disposition=SAVE_ONLY,
                send_meeting_invitations=send,
                chunk_size=CREATE_CHUNK,
            ),
            write=True,
        )
        results: list[Meeting | BackendError] = []
        for (fields, installation, booking_id), answer in zip(requests, answers, strict=True):
            if isinstance(answer, Exception):
                translated = translate(answer, mailbox, write=True)
                error = (
                    translated
                    if isinstance(translated, EwsError)
                    else EwsError("failed", mailbox, str(answer))
                )
                results.append(error)
            else:
                results.append(
                    Meeting(
                        item_id=answer.id,
                        change_key=answer.changekey,
                        fields=fields,
                        installation=installation,
                        booking_id=booking_id,
                        revision=revision,
                        organizer=mailbox.lower(),
                    )
                )
        return results

    def update(
        self,
        mailbox: str,
        meeting: Meeting,
        fields: MeetingFields,
        revision: str | None = None,
        room_aliases: Sequence[str] = (),
    ) -> Meeting:
        account = self.client.account(mailbox)
        changed = (
            fields.differs(meeting.fields, tuple(_FIELD_TO_EWS)) if meeting.fields else list(_FIELD_TO_EWS)
        )
        names = [ews for name in changed for ews in _FIELD_TO_EWS[name]]
        if fields.series is not None and (meeting.fields is None or fields.series != meeting.fields.series):
            # A new pattern or range is a rewrite of the recurrence (with the first occurrence's times): Exchange
            # drops every exception then, and the ones ROOMS holds are written again below.
            names += [n for n in ("start", "end", "recurrence") if n not in names]
        names += [n for n in _reset_names(meeting, fields) if n not in names]
        if not names:
            if fields.series is not None and self._write_exceptions(
                mailbox, meeting.item_id, meeting.change_key, with_resets(fields, meeting.fields)
            ):
                return replace(meeting, fields=fields)
            return meeting
        if revision is not None:
            names.append("roomsops_revision")  # written with the fields, in the same UpdateItem
        values = self._values(fields)
        values["is_all_day"] = False  # written only when named (`_reset_names`)
        if "resources" in names:
            lines = self._lines_with(mailbox, meeting, fields.room, room_aliases)
            values["resources"] = lines.pop("resources")
            for name, kept in lines.items():  # the old room taken off the To or Optional line too
                if name not in names:
                    names.append(name)
                    values[name] = kept or None
        item = CalendarItem(
            account=account,
            folder=self._calendar(mailbox),
            id=meeting.item_id,
            changekey=meeting.change_key,
            roomsops_revision=revision,
            **values,
        )
        send = SEND_TO_ALL_AND_SAVE_COPY if self.send else SEND_TO_NONE
        guarded = meeting.fields is not None and meeting.change_key is not None

        def save(change_key: str | None) -> bool:
            """The UpdateItem on `change_key`; False when the item changed since (ErrorIrresolvableConflict)."""
            item.changekey = change_key
            try:
                item.save(
                    update_fields=names,
                    conflict_resolution=NEVER_OVERWRITE if guarded else AUTO_RESOLVE,
                    send_meeting_invitations=send,
                )
            except ErrorIrresolvableConflict:
                return False
            return True

        if not self.client.call(mailbox, lambda: save(meeting.change_key), write=True):
            # Changed since the pass read it (fix19s): AutoResolve wrote over it, and an Outlook edit made between
            # the read and this write was lost for good. Read it: a change only where nothing is written (a
            # room's answer, another field) is written over once; one in a field written is a conflict, failed
            # here so the next pass reads the edit and merges it (the same field: ROOMS wins, a difference).
            current = self.get(mailbox, [meeting.item_id])
            moved = (
                current[0].fields.differs(meeting.fields, tuple(changed))
                if current and current[0].fields is not None and meeting.fields is not None
                else list(changed)
            )
            if moved or not self.client.call(mailbox, lambda: save(current[0].change_key), write=True):
                raise ews_error(
                    "conflict",
                    mailbox,
                    f"the meeting was changed in Exchange while roomsops wrote it ({', '.join(moved) or 'again'}); "
                    "the next sync compares it again",
                )
        if fields.series is not None:
            refresh = tuple(name for name in changed if name in OCCURRENCE_VALUES)
            self._write_exceptions(
                mailbox, item.id, item.changekey, with_resets(fields, meeting.fields), refresh
            )
        return Meeting(
            item_id=item.id,
            change_key=item.changekey,
            fields=fields,
            installation=meeting.installation,
            booking_id=meeting.booking_id,
            revision=revision if revision is not None else meeting.revision,
            organizer=mailbox.lower(),
        )

    def series_exceptions(self, mailbox: str, meeting: Meeting) -> Meeting:
        """A series' master with its exceptions and their own values: GetItem of the master reads
        ModifiedOccurrences and DeletedOccurrences (`GET_FIELDS`; a master found otherwise is read again), and one
        GetItem of its modified occurrences their own subject, sensitivity, free/busy and reminder (an exception
        keeps those of its own, ews/how-to-update-a-recurring-series-by-using-ews). Only for a series whose master
        changed; nothing more when it has no modified occurrence."""
        fields = meeting.fields
        if fields is None or fields.series is None or fields.series.changes_read:
            return meeting
        if not fields.series.exceptions_read:
            found = self.get(mailbox, [meeting.item_id])
            if not found or found[0].fields is None or found[0].fields.series is None:
                return found[0] if found else meeting
            meeting, fields = found[0], found[0].fields
        series = fields.series
        assert fields is not None and series is not None
        ids = [e.item_id for e in series.exceptions if e.item_id]
        own: dict[str, MeetingFields] = {}
        if ids:
            account = self.client.account(mailbox)
            calendar = self._calendar(mailbox)
            read = self.client.call(
                mailbox,
                lambda: list(
                    account.fetch(
                        ids=[(i, None) for i in ids], folder=calendar, only_fields=OCCURRENCE_FIELDS
                    )
                ),
            )
            for item in read:
                if isinstance(item, Exception):
                    error = translate(item, mailbox, write=False)
                    if not isinstance(error, ItemGone):
                        raise error
                elif isinstance(item, CalendarItem) and item.id:
                    own[item.id] = _own_values(item, fields)
        exceptions = tuple(
            replace(e, changes=_changes(own[e.item_id], fields)) if e.item_id in own else e
            for e in series.exceptions
        )
        read_series = replace(series, exceptions=exceptions, changes_read=len(own) == len(ids))
        return replace(meeting, fields=replace(fields, series=read_series))

    def _write_exceptions(
        self,
        mailbox: str,
        master_id: str,
        change_key: str,
        fields: MeetingFields,
        refresh: tuple[str, ...] = (),
    ) -> int:
        """Write a series' exceptions onto its master (docs/series.md, "Sync of series"): each cancelled occurrence
        deleted (one already deleted is no error), each moved or changed one updated (its times and own values),
        addressed by OccurrenceItemId. Every one is written on every write of the series: Exchange's exceptions
        are not compared (a rewrite of the recurrence dropped them all). `refresh`: the series values just changed
        for the whole series; an exception keeps its own value of one when the master changes (MS-OXOCAL
        2.2.1.44.2), so the master's ModifiedOccurrences are read and each exception ROOMS no longer holds gets the
        series' values written (`occurrence_values`). The number of writes sent."""
        series = fields.series
        assert series is not None
        account = self.client.account(mailbox)
        folder = self._calendar(mailbox)
        zone = EWSTimeZone(series.time_zone)
        send = SEND_TO_ALL_AND_SAVE_COPY if self.send else SEND_TO_NONE
        sent = 0

        def occurrence(original_start: datetime, **values: Any) -> CalendarItem:
            index = series.index(original_start)
            return CalendarItem(
                account=account,
                folder=folder,
                # The master's ChangeKey (an occurrence's is its master's): a stale one is no conflict for
                # DeleteItem, nor for UpdateItem with AutoResolve (the last writer wins, as for every write).
                _id=OccurrenceItemId(id=master_id, changekey=change_key, instance_index=index),
                **values,
            )

        for original_start in series.cancelled:
            item = occurrence(original_start)

            def delete(item: CalendarItem = item) -> None:
                try:
                    item.delete(send_meeting_cancellations=send)
                except ErrorCalendarOccurrenceIsDeletedFromRecurrence:
                    pass  # deleted by an earlier write of the series

            self.client.call(mailbox, delete, write=True)
            sent += 1
        writes: list[tuple[datetime, dict[str, Any], tuple[tuple[str, Any], ...]]] = [
            (
                e.original_start,
                {"start": self._local(e.start, zone), "end": self._local(e.end, zone)},
                e.changes,
            )
            for e in series.exceptions
        ]
        if refresh:
            held = {e.original_start for e in series.exceptions} | set(series.cancelled)
            writes += [
                (start, {}, ())
                for start in self._modified_occurrences(mailbox, master_id)
                if start not in held and start in series.original_starts
            ]
        for original_start, values, changes in writes:
            own = occurrence_values(fields, changes, refresh)
            if "subject" in own:
                values["subject"] = own["subject"]
            if "private" in own:
                values["sensitivity"] = "Private" if own["private"] else "Normal"
            if "free_busy" in own:
                values["legacy_free_busy_status"] = own["free_busy"]
            if "reminder_minutes" in own:
                values["reminder_minutes_before_start"] = own["reminder_minutes"] or 0
                values["reminder_is_set"] = own["reminder_minutes"] is not None
            item = occurrence(original_start, **values)
            names = list(values)
            self.client.call(
                mailbox,
                partial(
                    item.save,
                    update_fields=names,
                    conflict_resolution=AUTO_RESOLVE,
                    send_meeting_invitations=send,
                ),
                write=True,
            )
            sent += 1
        return sent

    def _modified_occurrences(self, mailbox: str, master_id: str) -> list[datetime]:
        """The original starts (UTC) of the exceptions a series' master holds (ModifiedOccurrences)."""
        account = self.client.account(mailbox)
        calendar = self._calendar(mailbox)
        (current,) = self.client.call(
            mailbox,
            lambda: list(
                account.fetch(ids=[(master_id, None)], folder=calendar, only_fields=("modified_occurrences",))
            ),
        )
        if isinstance(current, Exception):
            raise translate(current, mailbox, write=False)
        return [
            datetime.fromtimestamp(
                int(o.original_start.timestamp()), UTC
            )  # an EWSDateTime wants an EWSTimeZone
            for o in current.modified_occurrences or ()
            if o.original_start is not None
        ]

    def _lines_with(
        self, mailbox: str, meeting: Meeting, room: str, aliases: Sequence[str]
    ) -> dict[str, list[Attendee]]:
        """The item's resources as it holds them now with the booking's room written (`replaced_room`): only the
        room it had is replaced, every other resource kept with its answer (review20f). The room it had leaves
        every line (ROOMS: "a room change in Outlook = invite the new room resource, remove the old one"): listed
        by an alias of it (`aliases`) among the resources, or on the To or Optional line (moved there in Outlook),
        it is taken off too (review20m) — those lines are in the answer only when that changes them (the other
        attendees kept with their answers)."""
        account = self.client.account(mailbox)
        calendar = self._calendar(mailbox)
        lists = ("resources", "required_attendees", "optional_attendees")
        (current,) = self.client.call(
            mailbox,
            lambda: list(account.fetch(ids=[(meeting.item_id, None)], folder=calendar, only_fields=lists)),
        )
        if isinstance(current, Exception):
            raise translate(current, mailbox, write=False)
        old = meeting.fields.room if meeting.fields is not None else ""
        gone = ({old, *(a.lower() for a in aliases)} - {room.lower(), ""}) if old else set()
        held = [a for a in (current.resources or []) if _address(a) and _address(a) not in gone - {old}]
        lines = {
            "resources": replaced_room(
                held,
                _address,
                old,
                room,
                lambda: Attendee(mailbox=Mailbox(email_address=room), response_type="Unknown"),
            )
        }
        for name in ("required_attendees", "optional_attendees"):
            listed = [a for a in (getattr(current, name) or []) if _address(a)]
            kept = [a for a in listed if _address(a) not in gone]
            if len(kept) != len(listed):
                lines[name] = kept
        return lines

    def tag(
        self, mailbox: str, meeting: Meeting, installation: str, booking_id: str, revision: str | None = None
    ) -> Meeting:
        account = self.client.account(mailbox)
        item = CalendarItem(
            account=account,
            folder=self._calendar(mailbox),
            id=meeting.item_id,
            changekey=meeting.change_key,
            roomsops_installation=installation,
            roomsops_booking=booking_id,
            roomsops_revision=revision,
        )
        names = ["roomsops_installation", "roomsops_booking"] + (["roomsops_revision"] if revision else [])
        self.client.call(
            mailbox,
            lambda: item.save(
                update_fields=names,
                conflict_resolution=AUTO_RESOLVE,
                send_meeting_invitations=SEND_TO_NONE,
            ),
            write=True,
        )
        return replace(
            meeting,
            change_key=item.changekey,
            installation=installation,
            booking_id=booking_id,
            revision=revision if revision is not None else meeting.revision,
        )

    def remove_attendees(self, mailbox: str, meeting: Meeting, addresses: Sequence[str]) -> None:
        """Take `addresses` off the meeting wherever they are listed (resources, required and optional attendees);
        the others stay as they are. Those removed are told (a cancellation frees a room's slot) when invitations
        are on."""
        account = self.client.account(mailbox)
        calendar = self._calendar(mailbox)
        gone = {a.lower() for a in addresses}
        lists = ("resources", "required_attendees", "optional_attendees")
        (current,) = self.client.call(
            mailbox,
            lambda: list(account.fetch(ids=[(meeting.item_id, None)], folder=calendar, only_fields=lists)),
        )
        if isinstance(current, Exception):
            raise translate(current, mailbox, write=False)

        def kept(attendees: Any) -> list[Attendee]:
            # The others as the item holds them (their answers kept): only the removed ones change.
            return [a for a in (attendees or []) if _address(a) and _address(a) not in gone]

        touched = [
            name for name in lists if len(kept(getattr(current, name))) != len(getattr(current, name) or [])
        ]
        if not touched:
            return  # none of them is listed (any more): nothing to write
        item = CalendarItem(
            account=account,
            folder=calendar,
            id=meeting.item_id,
            changekey=current.changekey,
            **{name: kept(getattr(current, name)) or (None if name != "resources" else []) for name in lists},
        )
        # Only those removed are told (a cancellation); the attendees kept are not asked again.
        send = SEND_TO_CHANGED_AND_SAVE_COPY if self.send else SEND_TO_NONE
        self.client.call(
            mailbox,
            lambda: item.save(
                update_fields=touched,
                conflict_resolution=AUTO_RESOLVE,
                send_meeting_invitations=send,
            ),
            write=True,
        )

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
        items = self._view(room, start, end, "id", "changekey", "type", "uid")
        kinds = (None, "Single", "Occurrence", "Exception") if occurrences else (None, "Single")
        ids = [item.id for item in items if item.type in kinds and (uid is None or item.uid == uid)]
        # A series' copy, looked for by its UID (the copy of a meeting deleted without a cancellation): the view
        # lists its occurrences; their master (t:RecurringMasterItemId) is the copy that holds them all.
        masters = list(
            {
                item.id: RecurringMasterItemId(id=item.id)
                for item in items
                if uid is not None and item.uid == uid and item.type in ("Occurrence", "Exception")
            }.values()
        )[:1]
        return [m for m in self._get(room, [(i, None) for i in ids] + masters) if not m.is_cancelled]

    def primary_address(self, address: str, via: str) -> str | None:
        # A name the directory does not know is an answer without a mailbox (ErrorNameResolutionNoResults is
        # answered, not raised): None. A failed request raises, so that a lost lookup is never taken for "no such
        # room" (review20p: a new meeting inviting a ROOMS room by an alias was left unbooked and unreported).
        found = self.client.resolve_primary(address, via=via)
        return found.lower() if found else None

    def delete_copy(self, room: str, meeting: Meeting, *, via: str | None = None) -> None:
        account = self.client.account(room)
        item = CalendarItem(account=account, folder=self._calendar(room), id=meeting.item_id, changekey=None)
        try:
            self.client.call(room, lambda: item.delete(send_meeting_cancellations=SEND_TO_NONE), write=True)
        except ItemGone:
            pass

    def cancel(self, mailbox: str, meeting: Meeting) -> None:
        account = self.client.account(mailbox)
        item = CalendarItem(
            account=account, folder=self._calendar(mailbox), id=meeting.item_id, changekey=None
        )
        try:
            if self.send:
                # CancelCalendarItem: attendees and the room are told; the room frees the slot.
                self.client.call(mailbox, lambda: item.cancel(), write=True)
            else:
                self.client.call(
                    mailbox, lambda: item.delete(send_meeting_cancellations=SEND_TO_NONE), write=True
                )
        except ItemGone:
            pass  # already gone (a repeated cancel after a crash, or deleted in Outlook)
