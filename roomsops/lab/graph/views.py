"""Collections of events: /events, /calendarView, /instances (paged with $top/$skip), and /calendarView/delta
(graph/delta-query-events, graph/api/event-delta): rounds of pages linked by `@odata.nextLink` with $skiptoken,
closed by `@odata.deltaLink` with $deltatoken; later rounds report created and changed events in the window and
`@removed` for those that left it. Sync states live in the lab's memory: a restart, a reset or the admin call
`POST /lab/graph/delta/expire` forgets them, and a forgotten or unknown token is 410 syncStateNotFound.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from roomsops.lab.ews.recurrence import parse_utc
from roomsops.lab.ews.series import occurrences_between
from roomsops.lab.ews.store import CALENDAR, CalendarItem, MailboxStore
from roomsops.lab.graph.errors import GraphError, bad_request
from roomsops.lab.graph.events import View, event_json, normal_property_id

DEFAULT_PAGE = 10
MAX_PAGE = 1000
#: Sync states the lab keeps per mailbox (its oldest forgotten first: their tokens then answer 410, as expired ones
#: do), so syncing other mailboxes never pushes a mailbox's deltaLink out; and for the whole lab (memory bound).
MAX_STATES_PER_MAILBOX = 200
MAX_STATES = 200_000

_ANY = re.compile(
    r"^\s*singleValueExtendedProperties/any\(\s*(?P<v>\w+)\s*:\s*(?P=v)/id\s+eq\s+'(?P<id>(?:[^']|'')*)'\s+and\s+"
    r"(?P=v)/value\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*\)\s*$",
    re.IGNORECASE,
)


def parse_filter(text: str | None) -> tuple[str, str] | None:
    """(normalised property id, value) of the one $filter the lab evaluates; None without $filter."""
    if text is None:
        return None
    found = _ANY.match(text)
    if found is None:
        raise bad_request(
            "The lab evaluates only $filter=singleValueExtendedProperties/Any(ep: ep/id eq '...' and "
            "ep/value eq '...').",
            "ErrorInvalidUrlQueryFilter",
        )
    return normal_property_id(found.group("id").replace("''", "'")), found.group("value").replace("''", "'")


def matches(item: CalendarItem, wanted: tuple[str, str] | None) -> bool:
    if wanted is None:
        return True
    from roomsops.lab.graph.events import property_id

    # Strings compare without regard to case, as the same store's EWS restrictions do (FIDELITY "Restrictions"):
    # Graph's $filter and EWS's IsEqualTo are one restriction engine.
    value = wanted[1].casefold()
    return any(
        p.values is None
        and p.value is not None
        and p.value.casefold() == value
        and normal_property_id(property_id(p)) == wanted[0]
        for p in item.extended
    )


def parse_window(query: Mapping[str, list[str]]) -> tuple[dt.datetime, dt.datetime]:
    start, end = _first(query, "startDateTime"), _first(query, "endDateTime")
    if not start or not end:
        raise bad_request(
            "This request requires a time window specified by the query string parameters StartDateTime and "
            "EndDateTime.",
            "ErrorInvalidParameter",
        )
    try:
        first, last = _moment(start), _moment(end)
    except ValueError:
        raise bad_request(
            "startDateTime and endDateTime must be ISO 8601 date-times.", "ErrorInvalidParameter"
        ) from None
    if last < first:
        raise bad_request("The end of the time window is before its start.", "ErrorInvalidParameter")
    return first, last


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    for key, values in query.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return None


def in_window(store: MailboxStore, start: dt.datetime, end: dt.datetime) -> list[CalendarItem]:
    """Singles, occurrences and exceptions of the calendar overlapping [start, end), by start."""
    found: list[CalendarItem] = []
    for item in store.in_folder(CALENDAR):
        if item.recurrence is not None:
            found.extend(occurrences_between(item, start, end))
            continue
        first, last = parse_utc(item.start), parse_utc(item.end)
        if first < end and (last > start or (first == last and first >= start)):
            found.append(item)
    return sorted(found, key=lambda i: (i.start, i.id))


def page_size(prefer: Mapping[str, str], query: Mapping[str, list[str]]) -> int:
    top = _first(query, "$top")
    if top is not None:
        if not top.isdigit() or int(top) < 1:
            raise bad_request(f"Invalid $top value '{top}'.", "BadRequest")
        return min(int(top), MAX_PAGE)
    wanted = prefer.get("odata.maxpagesize")
    if wanted and wanted.isdigit() and int(wanted) > 0:
        return min(int(wanted), MAX_PAGE)
    return DEFAULT_PAGE


def offset(query: Mapping[str, list[str]]) -> int:
    skip = _first(query, "$skip") or "0"
    if not skip.isdigit():
        raise bad_request(f"Invalid $skip value '{skip}'.", "BadRequest")
    return int(skip)


#: The properties and navigation properties Graph's v1.0 metadata declares on event (with outlookItem's and
#: entity's): what `$select` may name (graph/query-parameters#select-parameter).
EVENT_PROPERTIES = (
    "id createdDateTime lastModifiedDateTime changeKey categories allowNewTimeProposals attendees body bodyPreview "
    "cancelledOccurrences end hasAttachments hideAttendees iCalUId importance isAllDay isCancelled isDraft "
    "isOnlineMeeting isOrganizer isReminderOn location locations onlineMeeting onlineMeetingProvider "
    "onlineMeetingUrl organizer originalEndTimeZone originalStart originalStartTimeZone recurrence "
    "reminderMinutesBeforeStart responseRequested responseStatus sensitivity seriesMasterId showAs start subject "
    "transactionId type webLink attachments calendar exceptionOccurrences extensions instances "
    "multiValueExtendedProperties singleValueExtendedProperties"
).split()
_BY_LOWER = {name.lower(): name for name in EVENT_PROPERTIES}


def select(event: dict[str, Any], names: Sequence[str] | None) -> dict[str, Any]:
    """The event with the `$select`ed properties (names matched without regard to case, as OData's lenient
    parsing in Graph does); a name the metadata does not declare on event is 400, as Graph answers it."""
    if not names:
        return event
    chosen = set()
    for name in names:
        canonical = _BY_LOWER.get(name.strip().lower())
        if canonical is None:
            raise bad_request(
                f"Could not find a property named '{name.strip()}' on type 'microsoft.graph.event'.",
                "RequestBroker--ParseUri",
            )
        chosen.add(canonical)
    keep = {*chosen, "id", "@odata.etag", "singleValueExtendedProperties"}
    return {k: v for k, v in event.items() if k in keep}


# --- delta -------------------------------------------------------------------------------------------------


@dataclass
class SyncState:
    """A delta round's position: the window, the store change seq and the ids the client knows of."""

    mailbox_id: str
    generation: str
    start: dt.datetime
    end: dt.datetime
    seq: int
    known: frozenset[str]
    view: View
    page: int


@dataclass
class PendingPages:
    """The rest of a round, after its first page: entries not sent yet and the state the round ends in."""

    entries: list[dict[str, Any]]
    final: SyncState
    mailbox_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class DeltaStates:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: OrderedDict[str, SyncState | PendingPages] = OrderedDict()
        self._by_mailbox: dict[str, OrderedDict[str, None]] = {}

    def _keep(self, value: SyncState | PendingPages) -> str:
        token = secrets.token_urlsafe(24)
        mailbox = value.final.mailbox_id if isinstance(value, PendingPages) else value.mailbox_id
        with self._lock:
            self._states[token] = value
            mine = self._by_mailbox.setdefault(mailbox, OrderedDict())
            mine[token] = None
            while len(mine) > MAX_STATES_PER_MAILBOX:
                oldest, _ = mine.popitem(last=False)
                self._states.pop(oldest, None)
            while len(self._states) > MAX_STATES:
                oldest, forgotten = self._states.popitem(last=False)
                owner = (
                    forgotten.final.mailbox_id
                    if isinstance(forgotten, PendingPages)
                    else forgotten.mailbox_id
                )
                self._by_mailbox.get(owner, OrderedDict()).pop(oldest, None)
        return token

    def _take(self, token: str) -> SyncState | PendingPages:
        with self._lock:
            found = self._states.get(token)
        if found is None:
            raise GraphError(
                410,
                "syncStateNotFound",
                "The sync state generation is not found. Start a new round of synchronization with a full delta "
                "query (startDateTime and endDateTime).",
            )
        return found

    def expire(self) -> int:
        with self._lock:
            count = len(self._states)
            self._states.clear()
            self._by_mailbox.clear()
        return count

    def round(
        self,
        store: MailboxStore,
        *,
        state: SyncState | None,
        window: tuple[dt.datetime, dt.datetime] | None,
        view: View,
        page: int,
    ) -> tuple[list[dict[str, Any]], str, str]:
        """The first page of a round: (entries, "next"|"delta", token)."""
        if state is None:
            assert window is not None
            start, end = window
            since, known = -1, frozenset[str]()
        else:
            if state.generation != store.generation or state.mailbox_id != store.mailbox_id:
                raise GraphError(
                    410, "syncStateNotFound", "The sync state is not valid for this mailbox any more."
                )
            start, end, since, known, view, page = (
                state.start,
                state.end,
                state.seq,
                state.known,
                state.view,
                state.page,
            )
        current = in_window(store, start, end)
        ids = {event_json_id(item, view): item for item in current}
        entries = [
            event_json(item, view)
            for key, item in ids.items()
            if key not in known or _changed_seq(store, item) > since
        ]
        entries += [
            {"@odata.type": "#microsoft.graph.event", "id": key, "@removed": {"reason": "deleted"}}
            for key in sorted(known - set(ids))
        ]
        final = SyncState(
            store.mailbox_id, store.generation, start, end, store.seq, frozenset(ids), view, page
        )
        return self._paged(entries, final, page)

    def _paged(
        self, entries: list[dict[str, Any]], final: SyncState, page: int
    ) -> tuple[list[dict[str, Any]], str, str]:
        if len(entries) > page:
            return entries[:page], "next", self._keep(PendingPages(entries[page:], final))
        return entries, "delta", self._keep(final)

    def resume(self, token: str, kind: str) -> SyncState | PendingPages:
        found = self._take(token)
        if (kind == "skip") != isinstance(found, PendingPages):
            raise GraphError(410, "syncStateNotFound", "The token is not a state of this kind.")
        return found

    def next_page(self, pending: PendingPages) -> tuple[list[dict[str, Any]], str, str]:
        return self._paged(pending.entries, pending.final, pending.final.page)


def _changed_seq(store: MailboxStore, item: CalendarItem) -> int:
    return item.modified_seq


def event_json_id(item: CalendarItem, view: View) -> str:
    from roomsops.lab.graph.events import event_id

    return event_id(view, item)
