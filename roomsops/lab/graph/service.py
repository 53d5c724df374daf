"""/v1.0/: the lab's Microsoft Graph, calendars of the same store EWS serves (one meeting, two faces).

Order, as Graph answers: the bearer token (401 InvalidAuthenticationToken), the user (404 ErrorInvalidUser), the
app's rights on the mailbox through `authz.authorize(protocol="graph")` (403 ErrorAccessDenied: application access
policies and RBAC for Applications, with the policy delay as for EWS), Outlook's throttling per app and mailbox
(429), then the operation. `$batch` runs its requests through the same steps. Every request counts as
`graph:<operation>` and takes injected faults (protocol "graph").
"""

from __future__ import annotations

import concurrent.futures
import copy
import datetime as dt
import json
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from roomsops.lab import authz
from roomsops.lab.bearer import BearerTokenError, bearer_token, verify_bearer_token
from roomsops.lab.context import LabContext
from roomsops.lab.ews.common import store_of
from roomsops.lab.ews.create_item import check_times, normalise_all_day
from roomsops.lab.ews.delivery import cancel, cancel_occurrence, organizer_of, resolve_recipients, send
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.recurrence import format_utc, known_zone
from roomsops.lab.ews.series import (
    as_item,
    delete_occurrence,
    normalise_master,
    occurrence_from,
    occurrences_between,
    record_exception,
    reset_exceptions,
)
from roomsops.lab.ews.soap import format_datetime, utc_now
from roomsops.lab.ews.store import (
    CALENDAR,
    DELETED_ITEMS,
    CalendarItem,
    MailboxStore,
    OccurrenceItem,
    folder_id,
    new_item_id,
    new_uid,
)
from roomsops.lab.graph import errors
from roomsops.lab.graph.errors import GraphError, bad_request, not_found
from roomsops.lab.graph.events import View, apply_event, check_all_day, event_json, normal_property_id
from roomsops.lab.graph.ids import ews_id, find_event, immutable_id, is_lab_id, rest_id
from roomsops.lab.graph.subscriptions import Subscriptions
from roomsops.lab.graph.throttle import Throttle
from roomsops.lab.graph.views import (
    DeltaStates,
    PendingPages,
    in_window,
    matches,
    offset,
    page_size,
    parse_filter,
    parse_window,
    select,
)
from roomsops.lab.tenant import Mailbox, TenantState
from roomsops.lab.token import GRAPH_RESOURCE
from roomsops.lab.web import LabHandler, Request, Response

log = logging.getLogger("roomsops.lab.graph")

PREFIX = "/v1.0"
READ = ("Calendars.Read", "Calendars.ReadWrite")
WRITE = ("Calendars.ReadWrite",)
MAX_BATCH = 20
#: How many unordered requests of a batch Graph sends to Outlook at a time (graph/throttling-limits).
BATCH_PARALLEL = 4
#: What a PATCH of one occurrence may change (it becomes an exception; other properties follow the master). The
#: reminder is an exception's own in Exchange's store (MS-OXOCAL 2.2.1.44.2 ExceptionInfo: ARO_REMINDERDELTA,
#: ARO_REMINDER).
OCCURRENCE_PROPERTIES = {
    "subject",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "showAs",
    "sensitivity",
    "reminderMinutesBeforeStart",
    "isReminderOn",
}

#: /users/{id | userPrincipalName}, or /users('{userPrincipalName}') (a single quote doubled), the form Graph
#: requires for a userPrincipalName that begins with `$` (graph/api/user-get: `/users/$x@y.com` is 400 Bad Request,
#: the URL convention of OData reserving `$` for system query options).
_USER = re.compile(
    r"^/v1\.0/users(?:/(?P<user>[^/]+)|\('(?P<key>(?:[^']|'')*)'\))(?P<rest>/.*)?$", re.IGNORECASE
)
_SUBSCRIPTION = re.compile(r"^/v1\.0/subscriptions(?:/(?P<id>[^/]+))?/?$", re.IGNORECASE)
_REAUTHORIZE = re.compile(r"^/v1\.0/subscriptions/(?P<id>[^/]+)/reauthorize/?$", re.IGNORECASE)
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^$"), "users.get"),
    # The user's default calendar (graph/api/calendar-get; metadata: user → calendar).
    ("GET", re.compile(r"^/calendar/?$", re.I), "calendar.get"),
    ("GET", re.compile(r"^/(?:calendar/)?events/?$", re.I), "events.list"),
    ("POST", re.compile(r"^/(?:calendar/)?events/?$", re.I), "events.create"),
    # /calendar/events/{id}: the event only if it is in the default calendar (graph/api/event-get).
    ("GET", re.compile(r"^/(?P<calendar>calendar/)?events/(?P<id>[^/]+)/?$", re.I), "events.get"),
    ("PATCH", re.compile(r"^/events/(?P<id>[^/]+)/?$", re.I), "events.update"),
    ("DELETE", re.compile(r"^/events/(?P<id>[^/]+)/?$", re.I), "events.delete"),
    ("POST", re.compile(r"^/events/(?P<id>[^/]+)/cancel/?$", re.I), "events.cancel"),
    ("GET", re.compile(r"^/events/(?P<id>[^/]+)/instances/?$", re.I), "events.instances"),
    ("GET", re.compile(r"^/(?:calendar/)?calendarView/?$", re.I), "calendarView"),
    ("GET", re.compile(r"^/(?:calendar/)?calendarView/delta(?:\(\))?/?$", re.I), "calendarView.delta"),
    ("POST", re.compile(r"^/translateExchangeIds/?$", re.I), "translateExchangeIds"),
]
WRITES = {"events.create", "events.update", "events.delete", "events.cancel"}


def user_segment(address: str) -> str:
    """/users/{address}; /users('{address}') for one beginning with `$`, as Graph wants it."""
    if address.startswith("$"):
        return "/users('" + urllib.parse.quote(address.replace("'", "''"), safe="@$'") + "')"
    return f"/users/{urllib.parse.quote(address)}"


def operation_of(method: str, path: str) -> tuple[str, dict[str, str], str | None]:
    """(operation, path parameters, user) of a Graph request; ("unknown", ...) when the lab has no such route."""
    if path.rstrip("/").lower() == "/v1.0/$batch":
        return "batch", {}, None
    found = _REAUTHORIZE.match(path)
    if found:
        name = "reauthorize" if method == "POST" else "unknown"
        return f"subscriptions.{name}", {"id": found.group("id")}, None
    found = _SUBSCRIPTION.match(path)
    if found:
        name = {"POST": "create", "GET": "get", "PATCH": "update", "DELETE": "delete"}.get(method, "unknown")
        if found.group("id") is None and method == "GET":
            name = "list"
        return f"subscriptions.{name}", {"id": found.group("id") or ""}, None
    found = _USER.match(path)
    if found is None:
        return "unknown", {}, None
    user = found.group("user")
    if user is None:
        user = found.group("key").replace("''", "'")
    elif user.startswith("$"):
        return "unknown", {}, None  # a `$` segment is a system query option to OData, never a user
    rest = found.group("rest") or ""
    for verb, pattern, name in _ROUTES:
        matched = pattern.match(rest)
        if matched and verb == method:
            return name, matched.groupdict(), user
    return "unknown", {}, user


def parse_prefer(request: Request) -> dict[str, str]:
    """The Prefer header's preferences (lower-cased names, unquoted values), from every Prefer header."""
    found: dict[str, str] = {}
    for key, value in request.headers:
        if key.lower() != "prefer":
            continue
        for part in value.split(","):
            name, _, raw = part.strip().partition("=")
            if name:
                found[name.strip().lower()] = raw.strip().strip('"')
    return found


@dataclass
class Caller:
    app_id: str
    roles: list[str]
    tenant_id: str


class GraphService(LabHandler):
    def __init__(self, ctx: LabContext) -> None:
        self.ctx = ctx
        self.throttle = Throttle()
        self.delta = DeltaStates()
        self.subscriptions = Subscriptions(ctx)

    def close(self) -> None:
        """The lab stops: held requests go on, notifications stop."""
        self.throttle.open_gate()
        self.subscriptions.stop()

    # --- LabHandler ----------------------------------------------------------------------------------

    def classify(self, request: Request) -> tuple[str, str]:
        return "graph", operation_of(request.method, request.path)[0]

    def handle(self, request: Request) -> Response:
        if operation_of(request.method, request.path)[0] == "batch":
            return self._batch(request)
        return self.serve(request)

    def fault_response(self, kind: str, back_off_ms: int, request: Request) -> Response | None:
        return _fault(kind, back_off_ms)

    # --- one request ---------------------------------------------------------------------------------

    def serve(self, request: Request) -> Response:
        try:
            caller = self._caller(request)
            name, params, user = operation_of(request.method, request.path)
            if name == "unknown":
                raise GraphError(
                    400,
                    "BadRequest",
                    f"Resource not found for the segment '{request.path.rsplit('/', 1)[-1]}'.",
                )
            if name.startswith("subscriptions."):
                self.throttle.hold_if_named(name)  # e.g. a DELETE held while a service shuts down
                return self.subscriptions.handle(
                    name,
                    params["id"],
                    request,
                    caller.app_id,
                    caller.roles,
                    caller.tenant_id,
                    self._authorize_user,
                    self._base(request),
                )
            assert user is not None
            if name == "users.get":
                return self._user(request, caller, user)
            mailbox = self._authorize_user(
                caller.app_id, caller.roles, user, WRITE if name in WRITES else READ
            )
            with self.throttle.slot(caller.app_id, mailbox.id, name):
                return self._operate(name, params, request, mailbox, caller)
        except GraphError as error:
            return error.response()

    def _caller(self, request: Request) -> Caller:
        token = bearer_token(request)
        challenge = [
            (
                "WWW-Authenticate",
                'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
            )
        ]
        if token is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", challenge)
        try:
            claims = verify_bearer_token(
                token, self.ctx.pki.signing, audiences=[GRAPH_RESOURCE], tenant_id=self.ctx.tenant.tenant_id
            )
        except BearerTokenError as error:
            message = {
                "expired": "Lifetime validation failed, the token is expired.",
                "wrong_audience": "Access token validation failure. Invalid audience.",
                "bad_signature": "Access token validation failure. Invalid signature.",
            }.get(error.reason, "Access token validation failure.")
            raise GraphError(401, "InvalidAuthenticationToken", message, challenge) from None
        if claims.get("idtyp") != "app":
            raise GraphError(403, "ErrorAccessDenied", "The lab's Graph accepts app-only tokens only.")
        return Caller(
            str(claims.get("appid", "")), [str(r) for r in claims.get("roles", [])], str(claims["tid"])
        )

    def _authorize_user(
        self, app_id: str, roles: list[str], user: str, permissions: tuple[str, ...]
    ) -> Mailbox:
        # The rights come first, as for EWS: a caller without them learns nothing about which users exist.
        with self.ctx.tenant.read() as state:
            named = _find_user(state, user)
            address = named.primary_smtp if named is not None else user
        decision = authz.authorize(
            self.ctx.tenant,
            app_id,
            address,
            token_roles=roles,
            protocol="graph",
            graph_permissions=permissions,
        )
        if decision.allowed:
            with self.ctx.tenant.read() as state:
                found = _find_user(state, address)
                if found is not None:
                    return copy.deepcopy(found)
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        if decision.reason == authz.DENIED_BY_POLICY:
            raise GraphError(403, "ErrorAccessDenied", errors.POLICY_DENIED)
        if decision.reason == authz.MAILBOX_NOT_FOUND:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        raise GraphError(403, "ErrorAccessDenied", errors.ACCESS_DENIED)

    def _user(self, request: Request, caller: Caller, user: str) -> Response:
        if not {"User.Read.All", "User.ReadBasic.All", "Directory.Read.All"} & set(caller.roles):
            raise GraphError(
                403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
            )
        with self.ctx.tenant.read() as state:
            mailbox = _find_user(state, user)
            if mailbox is None:
                raise GraphError(
                    404,
                    "Request_ResourceNotFound",
                    f"Resource '{user}' does not exist or one of its queried "
                    "reference-property objects are not present.",
                )
            body = {
                "@odata.context": f"{self._base(request)}/$metadata#users/$entity",
                "id": mailbox.object_id,
                "displayName": mailbox.display_name,
                "mail": mailbox.primary_smtp,
                "userPrincipalName": mailbox.primary_smtp,
                "mailNickname": mailbox.alias,
            }
        return Response.json(200, body)

    def _base(self, request: Request) -> str:
        return self.ctx.public_base(request.header("Host")) + PREFIX

    @contextmanager
    def _store(self, mailbox: Mailbox, *, writes: bool) -> Iterator[tuple[TenantState, MailboxStore]]:
        tenant = self.ctx.tenant
        with tenant.read() as state:
            missing = mailbox.id not in state.calendars
        if writes or missing:
            with tenant.change() as state:
                yield state, store_of(state, mailbox.id)
        else:
            with tenant.read() as state:
                yield state, state.calendars[mailbox.id]

    def _view(self, request: Request, mailbox: Mailbox) -> tuple[View, list[tuple[str, str]]]:
        prefer = parse_prefer(request)
        applied: list[tuple[str, str]] = []
        time_zone = "UTC"
        wanted_zone = prefer.get("outlook.timezone")
        if wanted_zone and (wanted_zone == "UTC" or known_zone(wanted_zone)):
            time_zone = wanted_zone
            applied.append(("Preference-Applied", f'outlook.timezone="{wanted_zone}"'))
        immutable = prefer.get("idtype", "").lower() == "immutableid"
        if immutable:
            applied.append(("Preference-Applied", 'IdType="ImmutableId"'))
        expand = _expand(request.query)
        return View(mailbox.id, time_zone, immutable, expand), applied

    def _operate(
        self, name: str, params: Mapping[str, str], request: Request, mailbox: Mailbox, caller: Caller
    ) -> Response:
        _check_query_options(request)
        view, applied = self._view(request, mailbox)
        handler: Callable[..., Response] = getattr(self, "_op_" + name.replace(".", "_"))
        with self._store(mailbox, writes=name in WRITES) as (state, store):
            response = handler(request, params, state, store, mailbox, view)
        if name != "calendarView.delta":  # a delta round answers in the view it started with: it says which
            response.headers.extend(applied)
        return response

    # --- operations ----------------------------------------------------------------------------------

    def _op_calendar_get(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        """The user's default calendar (graph/api/calendar-get): its id is the Calendar folder's EWS FolderId in
        URL-safe form, as an event's REST id is its ItemId's."""
        body = {
            "id": rest_id(folder_id(mailbox.id, CALENDAR)),
            "name": "Calendar",
            "color": "auto",
            "hexColor": "",
            "isDefaultCalendar": True,
            "changeKey": "AQAAAA==",
            "canShare": True,
            "canViewPrivateItems": True,
            "canEdit": True,
            "isRemovable": False,
            "isTallyingResponses": True,
            "allowedOnlineMeetingProviders": ["teamsForBusiness"],
            "defaultOnlineMeetingProvider": "teamsForBusiness",
            "owner": {"name": mailbox.display_name, "address": mailbox.primary_smtp},
        }
        names = _query(request, "$select")
        if names:
            by_lower = {k.lower(): k for k in body}
            wanted = {"id"}
            for name in names.split(","):
                canonical = by_lower.get(name.strip().lower())
                if canonical is None:
                    raise bad_request(
                        f"Could not find a property named '{name.strip()}' on type 'microsoft.graph.calendar'.",
                        "RequestBroker--ParseUri",
                    )
                wanted.add(canonical)
            body = {k: v for k, v in body.items() if k in wanted}
        context = f"users('{mailbox.primary_smtp}')/calendar" + (f"({names})" if names else "")
        return Response.json(
            200, {"@odata.context": f"{self._base(request)}/$metadata#{context}/$entity", **body}
        )

    def _op_events_list(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        wanted = parse_filter(_query(request, "$filter"))
        items = [i for i in store.in_folder(CALENDAR) if matches(i, wanted)]
        items.sort(key=lambda i: (i.created_seq, i.id))
        return self._collection(
            request, [event_json(i, view) for i in items], f"users('{mailbox.primary_smtp}')/events"
        )

    def _op_calendarView(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        start, end = parse_window(request.query)
        wanted = parse_filter(_query(request, "$filter"))
        items = [i for i in in_window(store, start, end) if matches(i, wanted)]
        return self._collection(
            request, [event_json(i, view) for i in items], f"users('{mailbox.primary_smtp}')/calendarView"
        )

    def _op_events_instances(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        start, end = parse_window(request.query)
        master = self._event(store, params["id"])
        found = occurrences_between(master, start, end) if master.recurrence is not None else []
        return self._collection(
            request,
            [event_json(i, view) for i in found],
            f"users('{mailbox.primary_smtp}')/events('{params['id']}')/instances",
        )

    def _collection(self, request: Request, events: list[dict[str, Any]], context: str) -> Response:
        size, skip = page_size(parse_prefer(request), request.query), offset(request.query)
        names = _query(request, "$select")
        chosen = [select(e, names.split(",") if names else None) for e in events[skip : skip + size]]
        body: dict[str, Any] = {
            "@odata.context": f"{self._base(request)}/$metadata#{context}",
            "value": chosen,
        }
        if skip + size < len(events):
            query = {k: v[0] for k, v in request.query.items() if k.lower() not in ("$skip",)}
            query["$skip"] = str(skip + size)
            body["@odata.nextLink"] = (
                f"{self._base(request)}{request.path[len(PREFIX) :]}?" + urllib.parse.urlencode(query)
            )
        return Response.json(200, body)

    def _op_calendarView_delta(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        # graph/delta-query-events: the window and Prefer: odata.maxpagesize shape a delta round; $select is not
        # supported, nor $expand (so no extended properties), $filter or $top: refused, never ignored.
        for key in request.query:
            if key.startswith("$") and key.lower() not in ("$skiptoken", "$deltatoken"):
                raise bad_request(
                    f"The query option '{key}' is not supported with calendarView delta.",
                    "ErrorInvalidUrlQuery",
                )
        skip, delta = _query(request, "$skiptoken"), _query(request, "$deltatoken")
        size = page_size(parse_prefer(request), {})
        used = view
        if skip:
            pending = self.delta.resume(skip, "skip")
            assert isinstance(pending, PendingPages)
            if pending.final.mailbox_id != mailbox.id:
                raise GraphError(410, "syncStateNotFound", "The token belongs to another mailbox.")
            used = pending.final.view
            entries, kind, token = self.delta.next_page(pending)
        elif delta:
            previous = self.delta.resume(delta, "delta")
            assert not isinstance(previous, PendingPages)
            if previous.mailbox_id != mailbox.id:
                raise GraphError(410, "syncStateNotFound", "The token belongs to another mailbox.")
            used = previous.view
            previous.page = size if parse_prefer(request).get("odata.maxpagesize") else previous.page
            entries, kind, token = self.delta.round(
                store, state=previous, window=None, view=view, page=previous.page
            )
        else:
            entries, kind, token = self.delta.round(
                store, state=None, window=parse_window(request.query), view=view, page=size
            )
        link = f"{self._base(request)}{user_segment(mailbox.primary_smtp)}/calendarView/delta"
        body: dict[str, Any] = {
            "@odata.context": f"{self._base(request)}/$metadata#Collection(event)",
            "value": entries,
        }
        if kind == "next":
            body["@odata.nextLink"] = f"{link}?$skiptoken={token}"
        else:
            body["@odata.deltaLink"] = f"{link}?$deltatoken={token}"
        # Preference-Applied names what this page is in: the round keeps the time zone and id type it started
        # with, whatever a later request of the round prefers (never claim a preference the page does not follow).
        applied: list[tuple[str, str]] = []
        asked_zone = parse_prefer(request).get("outlook.timezone")
        if used.time_zone != "UTC" or asked_zone == "UTC":
            applied.append(("Preference-Applied", f'outlook.timezone="{used.time_zone}"'))
        if used.immutable:
            applied.append(("Preference-Applied", 'IdType="ImmutableId"'))
        return Response.json(200, body, applied)

    def _op_events_get(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        item = self._event(store, params["id"])
        if params.get("calendar") and item.folder != CALENDAR:
            raise not_found()
        names = _query(request, "$select")
        event = select(event_json(item, view), names.split(",") if names else None)
        event = {
            "@odata.context": f"{self._base(request)}/$metadata#users('{mailbox.primary_smtp}')/events/$entity",
            **event,
        }
        return Response.json(200, event, [("ETag", f'W/"{item.change_key}"')])

    def _op_events_create(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        body = _json_object(request)
        transaction = body.get("transactionId")
        if transaction is not None and not isinstance(transaction, str):
            raise bad_request("transactionId must be a string.")
        if transaction:
            # Only an event the calendar still has: a deleted (or cancelled and deleted) one is not answered again.
            earlier = next((i for i in store.in_folder(CALENDAR) if i.transaction_id == transaction), None)
            if earlier is not None:
                return self._created(request, mailbox, earlier, view)
        now = format_datetime(utc_now())
        item = CalendarItem(
            id=new_item_id(mailbox.id),
            change_key="",
            folder=CALENDAR,
            uid=new_uid(),
            start="",
            end="",
            organizer=organizer_of(mailbox),
            created=now,
            modified=now,
            created_seq=store.seq + 1,
            modified_seq=store.seq + 1,
            delivered_to=[],
            transaction_id=transaction,
        )
        apply_event(item, body)
        if not item.start or not item.end:
            raise bad_request("An event needs start and end.", "ErrorPropertyValidationFailure")
        _check(item)
        check_all_day(item)
        normalise_all_day(item, None)
        normalise_master(item)
        item.is_meeting = bool(item.attendees())
        resolve_recipients(state, item)
        store.items.append(item)
        store.touch(item, now)
        if item.attendees():
            send(state, mailbox, item, now)
        return self._created(request, mailbox, item, view)

    def _created(self, request: Request, mailbox: Mailbox, item: CalendarItem, view: View) -> Response:
        event = event_json(item, view)
        location = f"{self._base(request)}/users('{mailbox.object_id}')/events('{event['id']}')"
        event = {
            "@odata.context": f"{self._base(request)}/$metadata#users('{mailbox.primary_smtp}')/events/$entity",
            **event,
        }
        return Response.json(201, event, [("Location", location), ("ETag", event["@odata.etag"])])

    def _op_events_update(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        body = _json_object(request)
        target = self._event(store, params["id"])
        _check_if_match(request, target)
        now = format_datetime(utc_now())
        if isinstance(target, OccurrenceItem):
            master = store.find(target.master_id)
            assert master is not None
            extra = set(body) - OCCURRENCE_PROPERTIES
            if extra:
                raise bad_request(
                    f"The lab keeps only {', '.join(sorted(OCCURRENCE_PROPERTIES))} on an occurrence; "
                    f"{', '.join(sorted(extra))} follow the series master.",
                )
            changed = copy.deepcopy(target)
            apply_event(changed, body)
            _check(changed)
            updated = copy.deepcopy(master)
            occurrence = occurrence_from(
                master, dt.datetime.fromisoformat(target.original_start.replace("Z", "+00:00"))
            )
            try:
                record_exception(updated, occurrence, changed, target, now)
            except EwsError as error:
                raise bad_request(error.text or error.code, error.code) from None
            before = master
        else:
            before = target
            updated = copy.deepcopy(target)
            apply_event(updated, body)
            if "transactionId" in body:
                updated.transaction_id = before.transaction_id  # set once, when the event is created
            _check(updated)
            if {"isAllDay", "start", "end"} & set(body):
                check_all_day(updated)
            normalise_all_day(updated, None)
            normalise_master(updated)
            reset_exceptions(before, updated)
            if "attendees" in body:
                _keep_answers(before, updated)
        updated.is_meeting = updated.is_meeting or bool(updated.attendees())
        resolve_recipients(state, updated)
        store.items[store.items.index(before)] = updated
        store.touch(updated, now)
        if updated.is_organizer and (updated.attendees() or before.attendees()):
            updated.sequence += 1
            send(state, mailbox, updated, now)
        shown: CalendarItem = updated
        if isinstance(target, OccurrenceItem):
            shown = as_item(
                updated,
                occurrence_from(
                    updated, dt.datetime.fromisoformat(target.original_start.replace("Z", "+00:00"))
                ),
            )
        event = {
            "@odata.context": f"{self._base(request)}/$metadata#users('{mailbox.primary_smtp}')/events/$entity",
            **event_json(shown, view),
        }
        return Response.json(200, event, [("ETag", event["@odata.etag"])])

    def _op_events_delete(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        target = self._event(store, params["id"])
        _check_if_match(request, target)
        now = format_datetime(utc_now())
        self._remove(state, store, mailbox, target, now, cancelling=False)
        return Response(204)

    def _op_events_cancel(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        body = _json_object(request)
        if set(body) - {"Comment", "comment"}:
            raise bad_request("cancel takes only a Comment.", "RequestBodyRead")
        target = self._event(store, params["id"])
        if not target.is_organizer:
            raise GraphError(
                400,
                "ErrorAccessDenied",
                "Your request can't be completed. You need to be an organizer to cancel a meeting.",
            )
        self._remove(state, store, mailbox, target, format_datetime(utc_now()), cancelling=True)
        return Response(202)

    def _remove(
        self,
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        target: CalendarItem,
        now: str,
        *,
        cancelling: bool,
    ) -> None:
        """Delete (or cancel) an event: an organizer's meeting sends a cancellation (graph/api/event-delete);
        the item goes to Deleted Items. An occurrence leaves its series, whose update reaches the attendees."""
        if isinstance(target, OccurrenceItem):
            master = store.find(target.master_id)
            assert master is not None
            original = dt.datetime.fromisoformat(target.original_start.replace("Z", "+00:00"))
            occurrence = occurrence_from(master, original)
            key = format_utc(occurrence.original_start)
            delete_occurrence(master, occurrence)
            store.touch(master, now)
            if master.is_organizer and master.is_meeting and not master.is_cancelled:
                # The cancellation of that occurrence, as over EWS (a room may keep it as a cancelled exception).
                master.sequence += 1
                cancel_occurrence(state, mailbox, master, key, now)
            return
        if target.is_organizer and target.is_meeting and not target.is_cancelled:
            cancel(state, mailbox, target, now)
            target.is_cancelled = True
        store.move(target, DELETED_ITEMS, now)

    def _op_translateExchangeIds(
        self,
        request: Request,
        params: Mapping[str, str],
        state: TenantState,
        store: MailboxStore,
        mailbox: Mailbox,
        view: View,
    ) -> Response:
        # graph/api/user-translateexchangeids (v1.0): "Application: Not supported", and every token the lab's
        # Graph accepts is app-only. Tests of the translation itself turn the lab setting on, saying why.
        if not state.flags.graph_translate_ids_app_only:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        body = _json_object(request)
        inputs, source, target = body.get("inputIds"), body.get("sourceIdType"), body.get("targetIdType")
        kinds = ("ewsId", "restId", "restImmutableEntryId")
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs) or len(inputs) > 1000:
            raise bad_request("inputIds must be a collection of at most 1000 strings.")
        if source not in kinds or target not in kinds:
            raise bad_request(f"The lab translates between {', '.join(kinds)} only.", "ErrorInvalidIdType")
        results = []
        for value in inputs:
            as_rest = value if source != "ewsId" else rest_id(value)
            item = find_event(store, as_rest)
            if item is None:
                results.append(
                    {
                        "sourceId": value,
                        "errorDetails": {"code": "ErrorInvalidIdMalformed", "message": "Id is malformed."},
                    }
                )
                continue
            converted = {
                "ewsId": ews_id(rest_id(item.id)),
                "restId": rest_id(item.id),
                "restImmutableEntryId": immutable_id(mailbox.id, item),
            }[str(target)]
            results.append({"sourceId": value, "targetId": converted})
        return Response.json(
            200,
            {
                "@odata.context": f"{self._base(request)}/$metadata#Collection(microsoft.graph.convertIdResult)",
                "value": results,
            },
        )

    def _event(self, store: MailboxStore, graph_id: str) -> CalendarItem:
        item = find_event(store, graph_id)
        # An event of any calendar of the mailbox (a second calendar too: events/{id} is not per calendar).
        if item is None or not store.is_calendar(item.folder):
            if not is_lab_id(graph_id):
                raise bad_request("Id is malformed.", "ErrorInvalidIdMalformed")
            raise not_found()
        return item

    # --- $batch --------------------------------------------------------------------------------------

    def _batch(self, request: Request) -> Response:
        """JSON batching (graph/json-batching): at most 20 requests, answered each with its own status inside a
        200; `dependsOn` orders them and a failed dependency answers 424. The lab runs them one after another."""
        try:
            # The batch itself is what Graph authenticates: a request inside it cannot bring its own token.
            self._caller(request)
        except GraphError as error:
            return error.response()
        try:
            body = request.json()
        except ValueError:
            return errors.error_response(400, "BadRequest", "Invalid batch payload format.")
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return errors.error_response(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > MAX_BATCH:
            return errors.error_response(
                400, "BadRequest", f"Batch request limit exceeded: at most {MAX_BATCH} requests."
            )
        ids = [str(r.get("id", "")) if isinstance(r, dict) else "" for r in requests]
        if "" in ids or len(set(ids)) != len(ids):
            return errors.error_response(400, "BadRequest", "Each request of a batch needs a unique id.")
        if any(not isinstance(r.get("headers") or {}, dict) for r in requests):
            return errors.error_response(
                400, "BadRequest", "The headers of a request in a batch must be an object."
            )
        # Checked before any request runs: a refused batch changes nothing.
        for position, entry in enumerate(requests):
            depends = entry.get("dependsOn") or []
            if not isinstance(depends, list) or any(str(d) not in ids[:position] for d in depends):
                return errors.error_response(
                    400,
                    "BadRequest",
                    f"Request {entry['id']}: dependsOn must name requests earlier in the batch.",
                )
        if not any(entry.get("dependsOn") for entry in requests):
            # graph/throttling-limits: Graph sends up to four unordered requests of a batch to Outlook at a time, and
            # Outlook may run them in parallel, so they hold up to four of the mailbox's concurrent slots.
            with concurrent.futures.ThreadPoolExecutor(
                BATCH_PARALLEL, thread_name_prefix="lab-graph-batch"
            ) as pool:
                done = list(pool.map(lambda entry: self._sub_request(request, entry), requests))
            return Response.json(
                200,
                {"responses": [_batch_answer(str(e["id"]), r) for e, r in zip(requests, done, strict=True)]},
            )
        statuses: dict[str, int] = {}
        answers = []
        for entry in requests:
            depends = entry.get("dependsOn") or []
            if any(not 200 <= statuses[str(d)] < 300 for d in depends):
                response = errors.error_response(424, "FailedDependency", "A request it depends on failed.")
            else:
                response = self._sub_request(request, entry)
            statuses[str(entry["id"])] = response.status
            answers.append(_batch_answer(str(entry["id"]), response))
        return Response.json(200, {"responses": answers})

    def _sub_request(self, outer: Request, entry: Mapping[str, Any]) -> Response:
        method, url = str(entry.get("method", "GET")).upper(), str(entry.get("url", ""))
        if not url.startswith("/"):
            url = "/" + url
        headers = [
            (str(k), str(v))
            for k, v in (entry.get("headers") or {}).items()
            if str(k).lower() != "authorization"
        ]
        body = b""
        if "body" in entry:
            body = json.dumps(entry["body"]).encode("utf-8")
            if not any(k.lower() == "content-type" for k, _ in headers):
                return errors.error_response(
                    400, "BadRequest", "A request with a body needs a Content-Type header."
                )
        auth = outer.header("Authorization")
        host = outer.header("Host")
        inner = Request.build(
            method,
            PREFIX + url,
            [*headers, *([("Authorization", auth)] if auth else []), *([("Host", host)] if host else [])],
            body,
            outer.client,
            outer.connection,
        )
        name = operation_of(method, inner.path)[0]
        if name == "batch":
            return errors.error_response(400, "BadRequest", "A batch cannot hold a batch.")
        self.ctx.counter.add(f"graph:{name}")
        fault = self.ctx.faults.take("graph", name)
        if fault is not None:
            if fault.kind == "drop_after":
                self.serve(inner)
            shaped = _fault(fault.kind, fault.back_off_ms)
            if shaped is not None:
                return shaped
            return errors.error_response(
                503,
                "ServiceUnavailable",
                "The service is unavailable (injected by the lab).",
                [("Retry-After", str(max(1, -(-fault.back_off_ms // 1000))))] if fault.back_off_ms else [],
            )
        return self.serve(inner)


def _batch_answer(request_id: str, response: Response) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for k, v in response.headers:
        if k.lower() in ("content-type", "retry-after", "location", "etag", "preference-applied"):
            # A header the answer has twice (Preference-Applied) is one comma-separated value, as HTTP joins it.
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
    answer: dict[str, Any] = {"id": request_id, "status": response.status, "headers": headers}
    if response.body:
        try:
            answer["body"] = json.loads(response.body)
        except ValueError:
            answer["body"] = response.body.decode("utf-8", "replace")
    return answer


def _fault(kind: str, back_off_ms: int) -> Response | None:
    seconds = str(max(1, -(-back_off_ms // 1000)))
    if kind == "server_busy":
        return errors.error_response(
            429,
            errors.THROTTLED,
            "Application is over its MailboxConcurrency limit.",
            [("Retry-After", seconds)],
        )
    if kind == "http_503":
        # graph/errors: a 503's delay "may be specified in a Retry-After header": back_off_ms 0 gives none (as the
        # token service's faults), so a client's exponential back-off for a bare 503 is tested too.
        return errors.error_response(
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable.",
            [("Retry-After", seconds)] if back_off_ms else [],
        )
    if kind == "http_500":
        return errors.error_response(500, "InternalServerError", "An internal server error occurred.")
    if kind == "http_401":
        return errors.error_response(
            401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."
        )
    return None


def _find_user(state: TenantState, user: str) -> Mailbox | None:
    wanted = user.strip().casefold()
    for mailbox in state.mailboxes:
        if mailbox.object_id.casefold() == wanted:
            return mailbox
    return state.find_mailbox(user)


def _query(request: Request, name: str) -> str | None:
    for key, values in request.query.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return None


def _expand(query: Mapping[str, list[str]]) -> tuple[str, ...] | None:
    value = next((v[0] for k, v in query.items() if k.lower() == "$expand" and v), None)
    if value is None:
        return None
    found = re.match(
        r"^\s*singleValueExtendedProperties\s*(?:\(\s*\$filter\s*=\s*(?P<f>.*)\)\s*)?$", value, re.I
    )
    if found is None:
        raise bad_request(f"The lab expands only singleValueExtendedProperties, not '{value}'.", "BadRequest")
    text = found.group("f")
    if not text:
        return ()
    ids = re.findall(r"id\s+eq\s+'((?:[^']|'')*)'", text, re.I)
    if not ids:
        raise bad_request(
            "$expand=singleValueExtendedProperties($filter=id eq '...') names the ids.", "BadRequest"
        )
    return tuple(normal_property_id(i.replace("''", "'")) for i in ids)


#: The OData system query options the lab evaluates; any other one is refused (400), never silently ignored.
QUERY_OPTIONS = {"$select", "$filter", "$expand", "$top", "$skip", "$skiptoken", "$deltatoken"}


def _check_query_options(request: Request) -> None:
    for key in request.query:
        if key.startswith("$") and key.lower() not in QUERY_OPTIONS:
            raise bad_request(
                f"The lab does not evaluate the query option '{key}' (it evaluates "
                f"{', '.join(sorted(QUERY_OPTIONS))}).",
                "ErrorInvalidUrlQuery",
            )


def _json_object(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    if request.content_type != "application/json":
        raise GraphError(415, "UnsupportedMediaType", "The request needs Content-Type: application/json.")
    try:
        body = request.json()
    except ValueError:
        raise bad_request("The request body is not valid JSON.", "BadRequest") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", "BadRequest")
    return body


def _check(item: CalendarItem) -> None:
    try:
        check_times(item)
    except EwsError as error:
        raise bad_request(
            "The end of the event is before its start."
            if "End" in error.code
            else (error.text or error.code),
            "ErrorPropertyValidationFailure",
        ) from None


def _check_if_match(request: Request, item: CalendarItem) -> None:
    """If-Match with the event's ETag (W/"changeKey") or changeKey: another value is 412 (graph/api/event-update)."""
    wanted = request.header("If-Match")
    if wanted is None or wanted.strip() == "*":
        return
    value = wanted.strip()
    if value.startswith("W/"):
        value = value[2:]
    if value.strip('"') != item.change_key:
        raise GraphError(
            412,
            "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change key passed in the request "
            "does not match the current change key for the item.",
        )


def _keep_answers(before: CalendarItem, updated: CalendarItem) -> None:
    """A PATCH of `attendees` replaces the collection, but an attendee listed again (same address, on any line)
    keeps the answer it gave (status and time) on the organizer's event: only the attendees added start without
    one. Graph changes only the values that differ ("the only things that are changed in an update is if the
    value itself is different - so you won't lose any status ... of an attendee", FIDELITY "Update")."""
    answers = {a.email.casefold(): a for a in before.attendees()}
    for attendee in updated.attendees():
        kept = answers.get(attendee.email.casefold())
        if kept is not None:
            attendee.response, attendee.last_response_time = kept.response, kept.last_response_time
