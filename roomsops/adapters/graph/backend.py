"""The sync's calendar backend over Microsoft Graph: `roomsops.services.sync.backend.CalendarBackend` in the
port's own types and errors, beside EWS's (`roomsops.adapters.ews.backend`).

- Ids are immutable ids (`Prefer: IdType="ImmutableId"`): an event keeps its id when moved.
- `changes` is a calendarView delta round over the sync window; its state is the deltaLink, followed as Graph
  gave it (as are nextLinks). A deltaLink Graph no longer accepts (410) is `Changes(invalid_state=True)`.
- The tags are the EWS tags, as `singleValueExtendedProperties` (adapters/graph/tags.py).
- Creates carry a `transactionId`; several go in one `$batch` (20 at most each).
- Updates say `If-Match` with the meeting's change key; a change made meanwhile (412) is read: an edit of a field
  written fails the write as a conflict (the next pass merges it), a change elsewhere only gets the write made once
  more on the current version, as over EWS (NeverOverwrite, fix19s; fix19t).
- `cancel` is `POST .../cancel` (attendees and the room are told).

Graph sends every meeting's invitations, updates and cancellations (it has no SendToNone), so the backend refuses
`sync.send_invitations = none` instead of sending what it says it does not.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from roomsops.adapters.graph import tags
from roomsops.adapters.graph.client import (
    MAX_BATCH,
    Answer,
    GraphClient,
    SubRequest,
    requests_sent,
    user_path,
)
from roomsops.adapters.graph.errors import from_answer, graph_error
from roomsops.adapters.graph.series import UnknownTimeZone, from_recurrence, iana_zone, to_recurrence
from roomsops.core import recurrence
from roomsops.core.calendar import (
    OCCURRENCE_VALUES,
    PAST_WATCH,
    BackendError,
    Candidate,
    Changes,
    Exception_,
    Invitations,
    ItemGone,
    Meeting,
    MeetingFields,
    SyncStateInvalid,
    normalized_attendees,
    occurrence_values,
    replaced_room,
    with_resets,
)
from roomsops.core.errors import InputError

#: Events per page of a delta round or a list (Prefer: odata.maxpagesize / $top): one page for a typical calendar.
PAGE_SIZE = 500
#: How far a series without end is read for its exceptions: the longest booking horizon ROOMS has (1080 days).
MAX_SERIES_DAYS = 1081
#: Graph's showAs as EWS's LegacyFreeBusyStatus, which `MeetingFields.free_busy` speaks (and back).
FREE_BUSY = {
    "free": "Free",
    "tentative": "Tentative",
    "busy": "Busy",
    "oof": "OOF",
    "workingElsewhere": "WorkingElsewhere",
    "unknown": "NoData",
}
SHOW_AS = {v: k for k, v in FREE_BUSY.items()}
#: An attendee's response as EWS's ResponseType (`Meeting.room_response`).
RESPONSES = {
    "none": "Unknown",
    "organizer": "Organizer",
    "tentativelyAccepted": "Tentative",
    "accepted": "Accept",
    "declined": "Decline",
    "notResponded": "NoResponseReceived",
}
#: Which event properties each field of `MeetingFields` is written as.
_FIELD_TO_GRAPH = {
    "subject": ("subject",),
    "start": ("start",),
    "end": ("end",),
    "location": ("location",),
    "room": ("attendees",),
    "attendees": ("attendees",),
    "reminder_minutes": ("isReminderOn", "reminderMinutesBeforeStart"),
    "private": ("sensitivity",),
    "free_busy": ("showAs",),
}
CONFLICT_RETRIES = 1  # a 412 is read again and written once more; a second 412 fails the write


def graph_time(value: dict[str, Any] | None, all_day: bool, zone: tzinfo) -> datetime:
    """A dateTimeTimeZone as an aware UTC datetime. Graph answers in UTC (no outlook.timezone preference); an
    all-day event's times are its dates at midnight, read as midnight in `zone` (as the EWS backend reads them)."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise ValueError(f"no time in {value!r}")
    text = str(value["dateTime"])
    moment = datetime.fromisoformat(text[:19])  # Graph's seven fraction digits are more than Python reads
    if all_day:
        return datetime.combine(moment.date(), time(0), tzinfo=zone).astimezone(UTC)
    label = iana_zone(str(value.get("timeZone") or "UTC"))
    source: tzinfo = UTC if label == "UTC" else ZoneInfo(label)
    return moment.replace(tzinfo=source).astimezone(UTC)


def _address(entry: Any) -> str:
    email = entry.get("emailAddress") if isinstance(entry, dict) else None
    return str((email or {}).get("address") or "").lower()


def _fields(event: dict[str, Any], zone: tzinfo, series: bool = True) -> MeetingFields:
    attendees = [a for a in event.get("attendees") or [] if isinstance(a, dict)]
    rooms = [a for a in attendees if a.get("type") == "resource"]
    all_day = bool(event.get("isAllDay"))
    location = event.get("location") or {}
    return MeetingFields(
        subject=str(event.get("subject") or ""),
        start=graph_time(event.get("start"), all_day, zone),
        end=graph_time(event.get("end"), all_day, zone),
        location=str(location.get("displayName") or "") if isinstance(location, dict) else "",
        room=_address(rooms[0]) if rooms else "",
        attendees=normalized_attendees(_address(a) for a in attendees if a.get("type") == "required"),
        reminder_minutes=int(event.get("reminderMinutesBeforeStart") or 0)
        if event.get("isReminderOn")
        else None,
        private=event.get("sensitivity") == "private",
        free_busy=FREE_BUSY.get(str(event.get("showAs") or "busy"), "Busy"),
        series=from_recurrence(event.get("recurrence"))
        if series and event.get("type") == "seriesMaster"
        else None,
    )


def meeting_from_event(event: dict[str, Any], zone: tzinfo = UTC) -> Meeting:
    """The event as a Meeting. An event whose fields cannot be read is still returned, with `fields` None and
    the reason in `problem`, so that the sync parks it instead of failing the mailbox."""
    fields: MeetingFields | None = None
    problem = None
    try:
        fields = _fields(event, zone)
    except (
        UnknownTimeZone
    ) as exc:  # a zone no table names: the rest read if it can be, so the report names it
        problem = str(exc)
        try:
            fields = _fields(event, zone, series=False)
        except Exception:
            fields = None
    except Exception as exc:  # one odd event must not hide the others: the sync reports it
        problem = f"its fields cannot be read ({type(exc).__name__}: {exc})"
    attendees = [a for a in event.get("attendees") or [] if isinstance(a, dict)]
    rooms = [a for a in attendees if a.get("type") == "resource"]
    required = [a for a in attendees if a.get("type") == "required"]
    optional = [a for a in attendees if a.get("type") == "optional"]
    status = (rooms[0].get("status") or {}) if rooms else {}
    tagged = tags.values(event)
    organizer = event.get("organizer") or {}
    return Meeting(
        item_id=str(event["id"]),
        change_key=str(event.get("changeKey") or ""),
        fields=fields,
        installation=tagged[tags.INSTALLATION],
        booking_id=tagged[tags.BOOKING],
        revision=tagged[tags.REVISION],
        organizer=_address(organizer) or None,
        is_cancelled=bool(event.get("isCancelled")),
        is_all_day=bool(event.get("isAllDay")),
        is_recurring=event.get("type") not in (None, "singleInstance"),
        room_response=RESPONSES.get(str(status.get("response")), None) if rooms else None,
        resources=tuple(a for a in (_address(r) for r in rooms) if a),
        responses=tuple(
            (_address(a), RESPONSES.get(str((a.get("status") or {}).get("response")), "Unknown"))
            for a in rooms + required + optional
            if _address(a)
        ),
        problem=problem,
        uid=str(event.get("iCalUId") or "") or None,
        optional=tuple(a for a in (_address(o) for o in optional) if a),
        answered=tuple(
            (_address(a), when)
            for a in rooms + required + optional
            if _address(a) and (when := _answer_time((a.get("status") or {}).get("time")))
        ),
    )


def _answer_time(value: Any) -> str | None:
    """responseStatus.time as `Meeting.answered` keeps it (UTC, whole seconds, ISO text); None for Graph's "no
    answer" (0001-01-01) or a time that cannot be read."""
    text = str(value or "")
    if not text or text.startswith("0001-"):
        return None
    try:
        return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC).isoformat()
    except ValueError:
        return None


class GraphCalendar:
    """CalendarBackend over Microsoft Graph; `invitations` is `sync.send_invitations` (only `all` is possible)."""

    def __init__(
        self,
        client: GraphClient,
        time_zone: str,
        invitations: Invitations | str = Invitations.ALL,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.now = now
        self.time_zone = time_zone
        self.zone = ZoneInfo(time_zone)
        self.invitations = Invitations.of(invitations)
        # Events as Graph answered this process' own writes (POST and PATCH answer the whole event), by mailbox
        # and id, and those of them a later delta round reported unchanged (the same change key): `get` serves
        # these without a request, since a read would answer the same event. Kept until the next delta round.
        self._written: dict[tuple[str, str], Meeting] = {}
        self._unchanged: dict[tuple[str, str], Meeting] = {}
        self._lock = threading.Lock()
        if self.invitations is not Invitations.ALL:
            raise InputError(
                "sync.send_invitations = none is not possible over Microsoft Graph: Graph sends every meeting's "
                "invitations and cancellations",
                'set sync.send_invitations = "all" for persons synced over Graph',
            )

    def requests_sent(self) -> int:
        return requests_sent()

    def service_of(self, mailbox: str) -> str:
        return "graph"

    def over(self, service: str) -> GraphCalendar | None:
        return self if service == "graph" else None

    def _events(self, mailbox: str) -> str:
        return f"{user_path(mailbox)}/events"

    def _event(self, mailbox: str, item_id: str) -> str:
        return f"{self._events(mailbox)}/{quote(item_id, safe='')}"

    def _in_calendar(self, mailbox: str, item_id: str) -> str:
        return f"{user_path(mailbox)}/calendar/events/{quote(item_id, safe='')}"

    # --- reads ---------------------------------------------------------------------------------------------

    def window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """The sync window a delta round covers (`sync.window_days_past` / `_future` around today)."""
        settings = self.client.settings
        today = (now or self.now()).astimezone(self.zone).date()
        start = datetime.combine(today - timedelta(days=settings.sync.window_days_past), time(0), self.zone)
        end = datetime.combine(
            today + timedelta(days=settings.sync.window_days_future + 1), time(0), self.zone
        )
        return start.astimezone(UTC), end.astimezone(UTC)

    def changes(self, mailbox: str, state: str | None) -> Changes:
        """A calendarView delta round. It starts `PAST_WATCH` before the sync window, so Graph itself reports the
        change or deletion of a linked meeting moved (or just gone) before the window, at no extra request. The
        state is `<round start>|<round end>|<deltaLink>`: a round covers the window of the day it started, so when
        the wanted round reaches further (a new day moves its end; a widened `sync.window_days_past` its start), or
        ends earlier (a narrowed `sync.window_days_future`: `covers_until` is then the window's end, as the sync
        discovers new meetings up to it), the old round is read to its end and a new one started, what the old
        round never covered after its end is reported changed, and `covers_from` stays the old round's start for
        that pass (the sync reads its linked meetings before it). A state that is no delta link of this endpoint
        starts over (invalid_state)."""
        start, end = self.window()
        start -= PAST_WATCH
        if state is None:
            # A round from scratch lists every event of its window, whole but for extended properties (no $expand
            # on delta): the candidates for new bookings come with it, so a first pass needs no calendarView.
            candidates: list[Candidate] = []
            link, _, _ = self._round(mailbox, self._delta(mailbox, start, end), candidates=candidates)
            self._confirm(mailbox, {})
            return Changes(
                state=f"{_utc(start)}|{_utc(end)}|{link}",
                covers_until=end,
                covers_from=start,
                candidates=candidates,
            )
        covered_start, covered_end, url = _position(state)
        if covered_end is None:
            return Changes(invalid_state=True)
        if (
            covered_start is None
        ):  # stored before rounds started early: that round started at the window's start
            covered_start = start + PAST_WATCH
        if not self.client.owns(url):
            # Not a delta link of this Graph endpoint (a state EWS stored, another cloud.graph_url): start over.
            return Changes(invalid_state=True)
        try:
            link, changed, deleted = self._round(mailbox, url)
        except SyncStateInvalid:
            self._confirm(mailbox, {})
            return Changes(invalid_state=True)
        if end != covered_end or start < covered_start:
            link, fresh, _ = self._round(mailbox, self._delta(mailbox, start, end), beyond=covered_end)
            changed.update(fresh)
            covers_from = max(start, covered_start)
        else:
            start, end = covered_start, covered_end
            covers_from = start
        self._confirm(mailbox, changed)
        # Graph reports an event moved out of the window as removed; EWS (and the port) call only an item that
        # left the calendar deleted, and the engine cancels the booking of a deleted meeting. So an event that
        # is still there is reported changed (one read of the removed ids, only when some were removed). Read in
        # the default calendar: an event moved to another calendar left it, as EWS's sync of the Calendar says.
        for meeting in self._read(mailbox, deleted, calendar=True):
            deleted.remove(meeting.item_id)
            changed[meeting.item_id] = meeting.change_key
        return Changes(
            changed=list(changed.items()),
            deleted=deleted,
            state=f"{_utc(start)}|{_utc(end)}|{link}",
            covers_until=end,
            covers_from=covers_from,
        )

    def _delta(self, mailbox: str, start: datetime, end: datetime) -> str:
        window = {"startDateTime": _utc(start), "endDateTime": _utc(end)}
        return f"{user_path(mailbox)}/calendarView/delta?" + urlencode(window)

    def _round(
        self,
        mailbox: str,
        url: str,
        beyond: datetime | None = None,
        candidates: list[Candidate] | None = None,
    ) -> tuple[str, dict[str, str], list[str]]:
        """Read a delta round's pages to its deltaLink: (the link, changed ids with change keys, deleted ids).
        A new round (`beyond` given) lists every event of its window: only those ending after `beyond` count.
        `candidates` (a round from scratch): the listed events that may become new bookings are added to it."""
        prefer = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
        changed: dict[str, str] = {}
        deleted: list[str] = []
        while True:
            page = (
                self.client.request(mailbox, "GET", url, headers=prefer, what="calendarView delta").body or {}
            )
            for entry in page.get("value") or []:
                item_id = str(entry.get("id"))
                if entry.get("seriesMasterId") and "@removed" not in entry:
                    # calendarView lists a series' occurrences; EWS's sync (and the port) know the series as
                    # one item: its master, which the sync skips and counts once.
                    item_id = str(entry["seriesMasterId"])
                if "@removed" in entry:
                    changed.pop(item_id, None)
                    deleted.append(item_id)
                elif beyond is None or _ends_after(entry, beyond, self.zone):
                    changed[item_id] = str(entry.get("changeKey") or "")
                    if candidates is not None:
                        candidate = _candidate(entry, self.zone)
                        if candidate is not None:
                            candidates.append(candidate)
                    if item_id in deleted:
                        deleted.remove(item_id)
            if page.get("@odata.nextLink"):
                url = str(page["@odata.nextLink"])
                continue
            link = page.get("@odata.deltaLink")
            if not link:
                raise graph_error("failed", mailbox, "calendarView delta: a page without next or delta link")
            return str(link), changed, deleted

    def _remember(self, mailbox: str, event: Any, **tagged: str | None) -> None:
        """Keep the event a write was answered with (its tags as written: Graph's answer leaves them out)."""
        if isinstance(event, dict) and event.get("id") and event.get("changeKey"):
            meeting = replace(meeting_from_event(event, self.zone), **tagged)  # type: ignore[arg-type]
            self._forget(mailbox, meeting.item_id)
            with self._lock:
                self._written[(mailbox.casefold(), meeting.item_id)] = meeting

    def _forget(self, mailbox: str, item_id: str) -> None:
        """A write to the event: what was kept of it is no longer what Graph holds."""
        with self._lock:
            self._written.pop((mailbox.casefold(), item_id), None)
            self._unchanged.pop((mailbox.casefold(), item_id), None)

    def _confirm(self, mailbox: str, changed: dict[str, str]) -> None:
        """After a delta round: the written events it reported with their answer's change key are unchanged;
        everything else kept for this mailbox is forgotten."""
        key = mailbox.casefold()
        with self._lock:
            for kept in (self._unchanged, self._written):
                for wanted in [k for k in kept if k[0] == key]:
                    meeting = kept.pop(wanted)
                    if kept is self._written and changed.get(meeting.item_id) == meeting.change_key:
                        self._unchanged[wanted] = meeting

    def get(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        with self._lock:
            known = [self._unchanged.pop((mailbox.casefold(), i), None) for i in item_ids]
        served = [m for m in known if m is not None]
        item_ids = [i for i, m in zip(item_ids, known, strict=True) if m is None]
        return served + self._read(mailbox, item_ids)

    def in_calendar(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        # /calendar/events/{id}: an immutable id survives a move, and /events/{id} finds it in any calendar. Never a
        # kept answer: one kept from this process' write does not say where the event is now.
        return self._read(mailbox, item_ids, calendar=True)

    def _read(self, mailbox: str, item_ids: Sequence[str], calendar: bool = False) -> list[Meeting]:
        """The events (`calendar`: only those in the default calendar); unknown ids are left out."""
        if not item_ids:
            return []
        query = "?" + urlencode({"$expand": tags.expand(*tags.TAGS)})
        path = self._in_calendar if calendar else self._event
        if len(item_ids) == 1:
            try:
                answer = self.client.request(mailbox, "GET", path(mailbox, item_ids[0]) + query, what="get")
            except ItemGone:
                return []
            return [meeting_from_event(answer.body, self.zone)]
        answers = self.client.batch(
            mailbox,
            [SubRequest("GET", path(mailbox, i) + query) for i in item_ids],
            write=False,
            what="get",
        )
        found = []
        for answer in answers:
            if answer.ok and isinstance(answer.body, dict):
                found.append(meeting_from_event(answer.body, self.zone))
            else:
                error = from_answer(answer.status, answer.body, mailbox, "get")
                if not isinstance(error, ItemGone):  # unknown ids are left out
                    raise error
        return found

    def find_untagged_by_uid(self, mailbox: str, uids: Sequence[str]) -> list[Meeting]:
        # /events lists the calendar's single events and series' masters, whatever their dates (graph/api/user-list-
        # events); only the ids and UIDs of every page, then one read (batched) of those that match.
        wanted = set(uids)
        if not wanted:
            return []
        url = f"{self._events(mailbox)}?" + urlencode({"$select": "iCalUId,type", "$top": str(PAGE_SIZE)})
        ids = [
            str(e["id"])
            for e in self._list(mailbox, url, "find by uid")
            if e.get("iCalUId") in wanted
            and e.get("type") in ("singleInstance", "seriesMaster")
            and e.get("id")
        ]
        return [
            m for m in self._read(mailbox, ids, calendar=True) if m.installation is None and m.uid in wanted
        ]

    def _list(self, mailbox: str, url: str, what: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        while url:
            page = self.client.request(mailbox, "GET", url, what=what).body or {}
            events.extend(e for e in page.get("value") or [] if isinstance(e, dict))
            url = str(page.get("@odata.nextLink") or "")
        return events

    def find_tagged(self, mailbox: str, installation: str, booking_id: str | None = None) -> list[Meeting]:
        # One property per $filter (Graph's Any over extended properties); the booking id is the narrower.
        wanted = (tags.BOOKING, booking_id) if booking_id is not None else (tags.INSTALLATION, installation)
        url = f"{self._events(mailbox)}?" + urlencode(
            {
                "$filter": tags.has_value(*wanted),
                "$expand": tags.expand(*tags.TAGS),
                "$top": str(PAGE_SIZE),
            }
        )
        meetings = [meeting_from_event(e, self.zone) for e in self._list(mailbox, url, "find tagged")]
        return [
            m
            for m in meetings
            if (m.installation or "").casefold() == installation.casefold()
            and (booking_id is None or (m.booking_id or "").casefold() == booking_id.casefold())
        ]

    def find_untagged(self, mailbox: str, start: datetime, end: datetime) -> list[Meeting]:
        # calendarView answers whole events: no second read, unlike EWS's FindItem + GetItem.
        url = f"{user_path(mailbox)}/calendarView?" + urlencode(
            {
                "startDateTime": _utc(start),
                "endDateTime": _utc(end),
                "$expand": tags.expand(tags.INSTALLATION),
                "$top": str(PAGE_SIZE),
            }
        )
        events = [
            e for e in self._list(mailbox, url, "find untagged") if not tags.values(e)[tags.INSTALLATION]
        ]
        # calendarView lists a series' occurrences, never its master: the master of each untagged series with one in
        # the window is read (one batch, only when there are some; soak seed 37002), and left out if it carries a tag.
        masters = list(
            dict.fromkeys(
                str(e["seriesMasterId"])
                for e in events
                if e.get("type") in ("occurrence", "exception") and e.get("seriesMasterId")
            )
        )
        return [meeting_from_event(e, self.zone) for e in events if e.get("type") == "singleInstance"] + [
            m for m in self._read(mailbox, masters) if m.installation is None
        ]

    # --- writes --------------------------------------------------------------------------------------------

    def _time(self, value: datetime, series_zone: str | None = None) -> dict[str, str]:
        if series_zone is not None:
            # A series' times in its own zone, always (Graph expands it in start.timeZone): a wall time that happens
            # twice is the first of the two, as ROOMS reads it (docs/series.md).
            local = value.astimezone(ZoneInfo(series_zone))
            return {
                "dateTime": local.replace(tzinfo=None).isoformat(timespec="seconds"),
                "timeZone": series_zone,
            }
        local = value.astimezone(self.zone)
        if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
            # A wall-clock time that happens twice (the hour repeated when daylight saving time ends): Graph's
            # dateTime + timeZone cannot say which one, so the moment is sent in UTC.
            return {"dateTime": _utc(value).removesuffix("Z"), "timeZone": "UTC"}
        return {
            "dateTime": local.replace(tzinfo=None).isoformat(timespec="seconds"),
            "timeZone": self.time_zone,
        }

    def _body(self, fields: MeetingFields, names: Sequence[str] | None = None) -> dict[str, Any]:
        attendees = [{"type": "required", "emailAddress": {"address": a}} for a in fields.attendees] + (
            [{"type": "resource", "emailAddress": {"address": fields.room}}] if fields.room else []
        )
        zone = fields.series.time_zone if fields.series is not None else None
        body: dict[str, Any] = {
            "subject": fields.subject,
            "start": self._time(fields.start, zone),
            "end": self._time(fields.end, zone),
            "location": {"displayName": fields.location},
            "attendees": attendees,
            "isReminderOn": fields.reminder_minutes is not None,
            "reminderMinutesBeforeStart": fields.reminder_minutes or 0,
            "sensitivity": "private" if fields.private else "normal",
            "showAs": SHOW_AS.get(fields.free_busy, "busy"),
        }
        if fields.series is not None:
            body["recurrence"] = to_recurrence(fields.series)
        if names is not None:
            body = {k: v for k, v in body.items() if k in names}
        return body

    @staticmethod
    def _tags(installation: str | None, booking_id: str | None, revision: str | None) -> list[dict[str, str]]:
        pairs = ((tags.INSTALLATION, installation), (tags.BOOKING, booking_id), (tags.REVISION, revision))
        return [{"id": tag, "value": value} for tag, value in pairs if value is not None]

    def _new(
        self, fields: MeetingFields, installation: str, booking_id: str, revision: str | None
    ) -> dict[str, Any]:
        return {
            **self._body(fields),
            "singleValueExtendedProperties": self._tags(installation, booking_id, revision),
            # Graph answers a POST with a transactionId it has seen with the event it made: a create sent again
            # after a 429/503 (inside a $batch too) cannot make a second event.
            "transactionId": str(uuid.uuid4()),
        }

    def _created(
        self,
        mailbox: str,
        event: Any,
        fields: MeetingFields,
        installation: str,
        booking_id: str,
        revision: str | None,
    ) -> Meeting:
        if not isinstance(event, dict) or not event.get("id"):
            raise graph_error("failed", mailbox, "create: Graph answered no event")
        self._remember(mailbox, event, installation=installation, booking_id=booking_id, revision=revision)
        return Meeting(
            item_id=str(event["id"]),
            change_key=str(event.get("changeKey") or ""),
            fields=fields,
            installation=installation,
            booking_id=booking_id,
            revision=revision,
            organizer=mailbox.lower(),
            uid=str(event.get("iCalUId") or "") or None,
        )

    def create(
        self,
        mailbox: str,
        fields: MeetingFields,
        installation: str,
        booking_id: str,
        revision: str | None = None,
    ) -> Meeting:
        answer = self.client.request(
            mailbox,
            "POST",
            self._events(mailbox),
            body=self._new(fields, installation, booking_id, revision),
            write=True,
            what="create",
        )
        created = self._created(mailbox, answer.body, fields, installation, booking_id, revision)
        if fields.series is not None:
            self._write_exceptions(mailbox, created.item_id, fields)
        return created

    def create_many(
        self, mailbox: str, requests: Sequence[tuple[MeetingFields, str, str]], revision: str | None = None
    ) -> list[Meeting | BackendError]:
        if not requests:
            return []
        if any(fields.series is not None for fields, _, _ in requests):
            # A series is written alone: its master, then its exceptions (the sync sends one at a time).
            return [self.create(mailbox, f, i, b, revision) for f, i, b in requests]
        answers = self.client.batch(
            mailbox,
            [
                SubRequest(
                    "POST", self._events(mailbox), self._new(fields, installation, booking_id, revision)
                )
                for fields, installation, booking_id in requests
            ],
            write=True,
            what="create",
        )
        results: list[Meeting | BackendError] = []
        for (fields, installation, booking_id), answer in zip(requests, answers, strict=True):
            if answer.ok:
                results.append(
                    self._created(mailbox, answer.body, fields, installation, booking_id, revision)
                )
            else:
                results.append(from_answer(answer.status, answer.body, mailbox, "create"))
        return results

    def _edited_meanwhile(
        self, mailbox: str, meeting: Meeting, written: Sequence[str], current: Meeting, what: str
    ) -> None:
        """Raises a conflict when the event as read now (`current`) differs from `meeting` (as the pass read it) in
        one of the fields `written` (`MeetingFields` names): an Outlook edit made since is never written over (the
        next pass reads it and merges it), as EWS's NeverOverwrite (fix19s, fix19t)."""
        if meeting.fields is None:
            return  # nothing read to compare with: written as before
        moved = current.fields.differs(meeting.fields, tuple(written)) if current.fields else list(written)
        if moved:
            raise graph_error(
                "conflict",
                mailbox,
                f"{what}: the meeting was changed in Exchange while roomsops wrote it ({', '.join(moved)}); "
                "the next sync compares it again",
            )

    def _patch(
        self, mailbox: str, meeting: Meeting, body: dict[str, Any], what: str, written: Sequence[str] = ()
    ) -> Answer:
        """PATCH with If-Match; a 412 (changed meanwhile) is read again: a change of a field `written` (the
        `MeetingFields` names the PATCH writes) since `meeting` was read fails the write as a conflict (an Outlook
        edit made between the pass's read and this write is never written over: the next pass reads it and merges
        it, as over EWS since fix19s); a change elsewhere only (a room's answer, another field) gets the PATCH made
        once more on the current version."""
        change_key = meeting.change_key
        self._forget(mailbox, meeting.item_id)
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return self.client.request(
                    mailbox,
                    "PATCH",
                    self._event(mailbox, meeting.item_id),
                    body=body,
                    headers={"If-Match": f'W/"{change_key}"'} if change_key else None,
                    write=True,
                    what=what,
                )
            except BackendError as exc:
                if exc.reason != "conflict" or attempt == CONFLICT_RETRIES:
                    raise
                current = self._read(mailbox, [meeting.item_id])  # from Graph, never a kept answer
                if not current:
                    raise graph_error("item_gone", mailbox, f"{what}: the event is gone") from None
                self._edited_meanwhile(mailbox, meeting, written, current[0], what)
                change_key = current[0].change_key
        raise AssertionError("unreachable")

    def update(
        self,
        mailbox: str,
        meeting: Meeting,
        fields: MeetingFields,
        revision: str | None = None,
        room_aliases: Sequence[str] = (),
    ) -> Meeting:
        changed = (
            fields.differs(meeting.fields, tuple(_FIELD_TO_GRAPH))
            if meeting.fields
            else list(_FIELD_TO_GRAPH)
        )
        names = [graph for name in changed for graph in _FIELD_TO_GRAPH[name]]
        if fields.series is not None and (meeting.fields is None or fields.series != meeting.fields.series):
            # A new pattern or range rewrites the recurrence (with the first occurrence's times): Graph drops every
            # exception then, and the ones ROOMS holds are written again below.
            names += [n for n in ("start", "end", "recurrence") if n not in names]
        unrepeated = (
            fields.series is None and meeting.fields is not None and meeting.fields.series is not None
        )
        if unrepeated:
            names.append("recurrence")  # a recurrence added in Outlook, reset: removed (review25v)
        if meeting.is_all_day:
            # A meeting made all-day in Outlook, reset to the booking (review19v): `isAllDay: false` in the same
            # PATCH as start and end, else Graph refuses times that are not midnight for an all-day event (400).
            names += [n for n in ("start", "end", "isAllDay") if n not in names]
        if not names:
            if fields.series is not None and self._write_exceptions(
                mailbox, meeting.item_id, with_resets(fields, meeting.fields)
            ):
                self._forget(mailbox, meeting.item_id)
                return replace(meeting, fields=fields)
            return meeting
        body = self._body(fields, names)
        if "isAllDay" in names:
            body["isAllDay"] = False
        if unrepeated:
            body["recurrence"] = None
        if revision is not None:
            body["singleValueExtendedProperties"] = self._tags(None, None, revision)  # in the same PATCH
        written = {name for name in changed if _FIELD_TO_GRAPH[name] == ("attendees",)}
        if written:
            # Graph has one attendees collection and a PATCH replaces it whole: the room (resources) and the
            # required attendees are written into the list the event holds, every other attendee (an optional one
            # added in Outlook) kept — as EWS writes Resources and RequiredAttendees, each a list of its own.
            answer = self._rewrite_attendees(
                mailbox,
                meeting.item_id,
                body,
                lambda held: _merged(
                    held, fields, written, meeting.fields.room if meeting.fields else "", room_aliases
                ),
                "update",
                guard=(meeting, [name for name in changed if name not in written]),
            )
        else:
            answer = self._patch(mailbox, meeting, body, "update", written=changed)
        revision = revision if revision is not None else meeting.revision
        tagged = {
            "installation": meeting.installation,
            "booking_id": meeting.booking_id,
            "revision": revision,
        }
        self._remember(mailbox, answer.body, **tagged)
        refresh = tuple(name for name in changed if name in OCCURRENCE_VALUES)
        if fields.series is not None and self._write_exceptions(
            mailbox, meeting.item_id, with_resets(fields, meeting.fields), refresh
        ):
            self._forget(mailbox, meeting.item_id)  # the master's answer predates its exceptions' writes
        return Meeting(
            item_id=meeting.item_id,
            change_key=str((answer.body or {}).get("changeKey") or meeting.change_key),
            fields=fields,
            installation=meeting.installation,
            booking_id=meeting.booking_id,
            revision=revision,
            organizer=mailbox.lower(),
        )

    def series_exceptions(self, mailbox: str, meeting: Meeting) -> Meeting:
        """A series' master with its exceptions read (docs/series.md, "Outlook edits of a series"): its `instances`
        over the whole series (one request, paged), an `exception` by its originalStart with its times and own
        values, a `cancelledOccurrences`-like list of the original starts the pattern names that Graph no longer
        lists (a deleted occurrence is no instance, graph/api/event-list-instances). Only read for a series whose
        master changed (a no-op pass reads nothing more)."""
        fields = meeting.fields
        if fields is None or fields.series is None or fields.series.exceptions_read:
            return meeting
        series = fields.series
        tz = ZoneInfo(series.time_zone)
        rec = series.recurrence
        last = rec.range.end_date or (fields.start.astimezone(tz).date() + timedelta(days=MAX_SERIES_DAYS))
        dates = recurrence.series_dates(rec, last).dates
        clock, duration = recurrence.wall_clock(fields.start, fields.end, tz)
        planned = [recurrence.occurrence(day, clock, duration, tz)[0] for day in dates]
        if not planned:
            return meeting
        span = (
            min(planned[0], fields.start) - timedelta(days=1),
            planned[-1] + duration + timedelta(days=366),
        )
        url = f"{self._event(mailbox, meeting.item_id)}/instances?" + urlencode(
            {
                "startDateTime": _utc(span[0]),
                "endDateTime": _utc(span[1]),
                "$select": "id,type,originalStart,start,end,subject,sensitivity,showAs,isReminderOn,"
                "reminderMinutesBeforeStart,isCancelled",
            }
        )
        seen: set[datetime] = set()
        exceptions: list[Exception_] = []
        for event in self._list(mailbox, url, "instances"):
            original = _moment(str(event.get("originalStart") or ""))
            if original is None or event.get("isCancelled"):
                continue
            seen.add(original)
            if event.get("type") != "exception":
                continue
            own = _fields({**event, "attendees": []}, UTC)
            changes = tuple(
                (name, getattr(own, name))
                for name in ("subject", "private", "reminder_minutes", "free_busy")
                if getattr(own, name) != getattr(fields, name)
            )
            exceptions.append(Exception_(original, own.start, own.end, changes))
        cancelled = tuple(moment for moment in planned if moment not in seen)
        read = replace(
            series,
            cancelled=cancelled,
            exceptions=tuple(sorted(exceptions, key=lambda e: e.original_start)),
            changes_read=True,
            exceptions_read=True,
        )
        return replace(meeting, fields=replace(fields, series=read))

    def _write_exceptions(
        self, mailbox: str, master_id: str, fields: MeetingFields, refresh: tuple[str, ...] = ()
    ) -> int:
        """Write a series' exceptions (docs/series.md, "Sync of series"): its occurrences listed once
        (`instances` over the series' span, each with its originalStart), each cancelled one still there
        cancelled (`cancel`: the room and attendees told), each moved or changed one PATCHed with its times and own
        values. Every one is written on every write of the series (Graph's exceptions are not compared: a rewrite of
        the recurrence dropped them all). `refresh`: the series values just changed for the whole series; an
        exception keeps its own value of one when the master changes (MS-OXOCAL 2.2.1.44.2), so each exception
        (`type` exception) ROOMS no longer holds gets the series' values PATCHed (`occurrence_values`). The number
        of writes sent."""
        series = fields.series
        assert series is not None
        if not series.cancelled and not series.exceptions and not refresh:
            return 0
        starts = sorted(
            series.original_starts or (*series.cancelled, *(e.original_start for e in series.exceptions))
        )
        # An occurrence moves only between its neighbours' days (docs/series.md): where an earlier write moved one to
        # lies within the longest gap between two occurrences of its original start (the first and the last too).
        gap = max((b - a for a, b in pairwise(starts)), default=timedelta(0))
        gap += timedelta(days=1)
        times = [*starts, *(e.start for e in series.exceptions), *(e.end for e in series.exceptions)]
        span = (min(times) - gap, max(times) + gap)
        url = f"{self._event(mailbox, master_id)}/instances?" + urlencode(
            {"startDateTime": _utc(span[0]), "endDateTime": _utc(span[1]), "$select": "id,originalStart,type"}
        )
        instances: dict[datetime, str] = {}
        changed: list[datetime] = []  # the exceptions Graph holds
        for event in self._list(mailbox, url, "instances"):
            if event.get("id") and (moment := _moment(str(event.get("originalStart") or ""))) is not None:
                instances[moment] = str(event["id"])
                if event.get("type") == "exception":
                    changed.append(moment)
        sent = 0
        for original_start in series.cancelled:
            found = instances.get(original_start)
            if found is None:
                continue  # cancelled by an earlier write of the series
            try:
                self.client.request(
                    mailbox,
                    "POST",
                    self._event(mailbox, found) + "/cancel",
                    body={},
                    write=True,
                    what="cancel",
                )
            except ItemGone:
                pass
            sent += 1
        writes: list[tuple[datetime, dict[str, Any], tuple[tuple[str, Any], ...]]] = [
            (
                e.original_start,
                {"start": self._time(e.start, series.time_zone), "end": self._time(e.end, series.time_zone)},
                e.changes,
            )
            for e in series.exceptions
        ]
        if refresh:
            held = {e.original_start for e in series.exceptions} | set(series.cancelled)
            writes += [(start, {}, ()) for start in changed if start not in held]
        for original_start, body, changes in writes:
            found = instances.get(original_start)
            if found is None:
                raise graph_error(
                    "failed",
                    mailbox,
                    f"update: the series has no occurrence at {_utc(original_start)} to write",
                )
            own = occurrence_values(fields, changes, refresh)
            if "subject" in own:
                body["subject"] = own["subject"]
            if "private" in own:
                body["sensitivity"] = "private" if own["private"] else "normal"
            if "free_busy" in own:
                body["showAs"] = SHOW_AS.get(str(own["free_busy"]), "busy")
            if "reminder_minutes" in own:
                body["isReminderOn"] = own["reminder_minutes"] is not None
                body["reminderMinutesBeforeStart"] = own["reminder_minutes"] or 0
            self.client.request(
                mailbox, "PATCH", self._event(mailbox, found), body=body, write=True, what="update occurrence"
            )
            sent += 1
        return sent

    def tag(
        self, mailbox: str, meeting: Meeting, installation: str, booking_id: str, revision: str | None = None
    ) -> Meeting:
        body = {"singleValueExtendedProperties": self._tags(installation, booking_id, revision)}
        answer = self._patch(mailbox, meeting, body, "tag")
        revision = revision if revision is not None else meeting.revision
        self._remember(
            mailbox, answer.body, installation=installation, booking_id=booking_id, revision=revision
        )
        return replace(
            meeting,
            change_key=str((answer.body or {}).get("changeKey") or meeting.change_key),
            installation=installation,
            booking_id=booking_id,
            revision=revision if revision is not None else meeting.revision,
        )

    def remove_attendees(self, mailbox: str, meeting: Meeting, addresses: Sequence[str]) -> None:
        """Take `addresses` off the meeting wherever they are listed; the other attendees stay as the event holds
        them (their answers kept). Graph tells the attendees of the change itself."""
        gone = {a.lower() for a in addresses}
        self._rewrite_attendees(
            mailbox,
            meeting.item_id,
            {},
            lambda held: [_entry(a) for a in held if _address(a) and _address(a) not in gone],
            "remove attendees",
        )

    def _rewrite_attendees(
        self,
        mailbox: str,
        item_id: str,
        body: dict[str, Any],
        compose: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
        what: str,
        guard: tuple[Meeting, Sequence[str]] | None = None,
    ) -> Answer:
        """PATCH `body` with the attendees `compose` makes of those the event holds now: read, compute and write
        with If-Match; on a 412 (changed meanwhile, e.g. an attendee added in Outlook) all three again — the list
        computed from the old attendees would undo that change. `guard`: the meeting as the pass read it and the
        other fields `body` writes (`MeetingFields` names); when the event's change key is no longer the meeting's,
        it is read, and an edit of one of those fields since fails the write as a conflict, as `_patch` does after
        a 412: the attendees read just before the PATCH would hide it (fix19t)."""
        url = self._event(mailbox, item_id)
        self._forget(mailbox, item_id)
        for attempt in range(CONFLICT_RETRIES + 1):
            current = self.client.request(
                mailbox, "GET", url + "?$select=attendees,changeKey", what="read"
            ).body
            held = [a for a in (current or {}).get("attendees") or [] if isinstance(a, dict)]
            change_key = str((current or {}).get("changeKey") or "")
            if guard is not None and guard[1] and change_key != (guard[0].change_key or ""):
                read = self._read(mailbox, [item_id])  # the fields written besides the attendees: from Graph
                if not read:
                    raise graph_error("item_gone", mailbox, f"{what}: the event is gone")
                self._edited_meanwhile(mailbox, guard[0], guard[1], read[0], what)
            try:
                return self.client.request(
                    mailbox,
                    "PATCH",
                    url,
                    body={**body, "attendees": compose(held)},
                    headers={"If-Match": f'W/"{change_key}"'} if change_key else None,
                    write=True,
                    what=what,
                )
            except BackendError as exc:
                if exc.reason != "conflict" or attempt == CONFLICT_RETRIES:
                    raise
        raise AssertionError("unreachable")

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
        url = f"{user_path(room)}/calendarView?" + urlencode(
            {
                "startDateTime": _utc(start),
                "endDateTime": _utc(end),
                "$expand": tags.expand(*tags.TAGS),
                "$top": str(PAGE_SIZE),
            }
        )
        events = self._list(room, url, "room calendar")
        found = [meeting_from_event(e, self.zone) for e in events]
        # A series' copy, looked for by its UID (the copy of a meeting deleted without a cancellation): the view
        # lists its occurrences; their seriesMaster is the copy that holds them all. An occurrence's iCalUId is its
        # own ("different for each occurrence in a recurring series", graph/api/resources/event): the masters of the
        # organizer's (`via`) occurrences are read, those with the UID kept.
        organizer = (via or "").lower()
        masters = list(
            dict.fromkeys(
                str(e["seriesMasterId"])
                for e, m in zip(events, found, strict=True)
                if uid is not None and e.get("seriesMasterId") and (m.uid == uid or m.organizer == organizer)
            )
        )
        # `occurrences`: the view's occurrences and exceptions (an event of type seriesMaster is never listed by a
        # calendarView) kept as they are, each with its own times.
        return [
            m
            for m in found
            if (occurrences or not m.is_recurring) and not m.is_cancelled and (uid is None or m.uid == uid)
        ] + [m for m in self._read(room, masters) if not m.is_cancelled and m.uid == uid]

    #: The sync reports a new meeting's unknown resources instead (it may invite a ROOMS room by an alias).
    resolves_aliases = False
    #: New meetings one request carries (`create_many`: a $batch holds 20): a sync worker's fence proves its lease
    #: before each such request (`FencedCalendar.create_many`), not once for all of them.
    creates_per_request = MAX_BATCH

    def primary_address(self, address: str, via: str) -> str | None:
        """Graph finds a user by id or userPrincipalName, not by a proxy address (that needs a directory query the
        sync app is not granted): no alias is resolved over Graph."""
        return None

    def delete_copy(self, room: str, meeting: Meeting, *, via: str | None = None) -> None:
        self._forget(room, meeting.item_id)
        try:
            # The room is no organizer: deleting its copy sends nothing, and frees its slot.
            self.client.request(
                room, "DELETE", self._event(room, meeting.item_id), write=True, what="delete copy"
            )
        except ItemGone:
            pass

    def cancel(self, mailbox: str, meeting: Meeting) -> None:
        self._forget(mailbox, meeting.item_id)
        try:
            # event: cancel — attendees and the room get the cancellation; the room frees the slot.
            self.client.request(
                mailbox,
                "POST",
                self._event(mailbox, meeting.item_id) + "/cancel",
                body={},
                write=True,
                what="cancel",
            )
        except ItemGone:
            pass  # already gone (a repeated cancel after a crash, or deleted in Outlook)


def _entry(attendee: dict[str, Any]) -> dict[str, Any]:
    """An attendee as written back: its type and address (Graph keeps the answer of an attendee listed again)."""
    return {"type": attendee.get("type") or "required", "emailAddress": attendee.get("emailAddress")}


def _merged(
    held: list[dict[str, Any]],
    fields: MeetingFields,
    written: set[str],
    old_room: str = "",
    aliases: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The attendees the event holds with those `written` taken from `fields` — "room": the room the meeting had
    (`old_room`) becomes the booking's among the resources, the other resources kept (`replaced_room`), and a
    room change takes the old room (by its address or one of its `aliases`) off every other line too, the To and
    Optional lines where Outlook may have moved it (review20m); "attendees": the required attendees become the
    booking's — and every other one (optional attendees, and what is not written) as the event holds it."""
    gone: set[str] = set()
    if "room" in written and old_room and old_room != fields.room:
        gone = {old_room, *(a.lower() for a in aliases)} - {fields.room, ""}
    kept = [
        _entry(a)
        for a in held
        if _address(a)
        and not (_address(a) in gone and (a.get("type") != "resource" or _address(a) != old_room))
    ]

    def of(kind: str) -> list[dict[str, Any]]:
        return [a for a in kept if a["type"] == kind]

    required = (
        [{"type": "required", "emailAddress": {"address": a}} for a in fields.attendees]
        if "attendees" in written
        else of("required")
    )
    resources = (
        replaced_room(
            of("resource"),
            _address,
            old_room,
            fields.room,
            lambda: {"type": "resource", "emailAddress": {"address": fields.room}},
        )
        if "room" in written
        else of("resource")
    )
    others = [a for a in kept if a["type"] not in ("required", "resource")]
    return required + others + resources


def _candidate(event: dict[str, Any], zone: tzinfo) -> Candidate | None:
    """A delta entry as a candidate for a new booking, or None when it cannot become one: cancelled, not the
    mailbox's own (isOrganizer false: an attendee's copy), or without attendees (rooms are attendees, of type
    resource). An occurrence or exception of a series names its master (`seriesMasterId`), placed in the window by
    the occurrence: a series is taken over whole (soak seed 37002: one made before a reset position was never
    booked); the sync reads each master once. Its tag is not known (delta takes no $expand): the sync reads the
    candidate with it. A property not answered counts as allowing it."""
    kind = event.get("type", "singleInstance")
    if kind not in ("singleInstance", "occurrence", "exception") or (
        kind != "singleInstance" and not event.get("seriesMasterId")
    ):
        return None
    if event.get("isCancelled") or event.get("isOrganizer") is False or event.get("attendees", True) == []:
        return None
    item_id = str(event.get("seriesMasterId") or event.get("id"))
    all_day = bool(event.get("isAllDay"))
    try:
        start, end = (
            graph_time(event.get("start"), all_day, zone),
            graph_time(event.get("end"), all_day, zone),
        )
    except (ValueError, KeyError):
        return Candidate(item_id)
    return Candidate(item_id, start, end)


def _ends_after(event: dict[str, Any], moment: datetime, zone: tzinfo) -> bool:
    """The event ends after `moment` (an event whose end cannot be read counts: the sync reports it)."""
    try:
        return graph_time(event.get("end"), bool(event.get("isAllDay")), zone) > moment
    except (ValueError, KeyError):
        return True


def _position(state: str) -> tuple[datetime | None, datetime | None, str]:
    """A stored position's round start, round end and deltaLink (the start None: a position stored before rounds
    started `PAST_WATCH` early, `<window end>|<deltaLink>`, whose round started at the sync window's start)."""
    first, _, rest = state.partition("|")
    second, _, url = rest.partition("|")
    if _moment(second) is None:  # the older form: the link follows the end
        return None, _moment(first), rest
    return _moment(first), _moment(second), url


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
