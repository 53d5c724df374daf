"""The lab's JSON admin API under /lab/: state, reset, mailboxes, counts, faults, cmdlet gate, consent, settings.

Not an emulated service: tests and demos arrange and inspect the tenant with it; bad bodies get 400.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from roomsops.lab import calendar_processing
from roomsops.lab.context import LabContext
from roomsops.lab.ews import outlook
from roomsops.lab.ews.delivery import MAX_ROOM_ANSWER_DELAY, answer_due, valid_room_answer_delay
from roomsops.lab.ews.soap import format_datetime, utc_now
from roomsops.lab.faults import FaultError
from roomsops.lab.tenant import Mailbox, MailboxConflict, TenantState
from roomsops.lab.token import DeviceFlows
from roomsops.lab.web import LabHandler, Request, Response

#: The longest first retry wait of a failed Graph change notification that POST /lab/settings takes (seconds).
NOTIFICATION_BACK_OFF_MAX = 60.0

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Field:
    """A field of a JSON body: its name, accepted type(s), whether required, and its default."""

    name: str
    kind: type | tuple[type, ...]
    required: bool = False
    default: Any = None


def parse_body(request: Request, fields: Sequence[Field]) -> dict[str, Any]:
    """The validated JSON object of a request: known fields only, each of its type; defaults filled in."""
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {exc}") from None
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    known = {f.name: f for f in fields}
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ApiError(
            400, "unknown_field", f"unknown field(s): {', '.join(unknown)}; known: {', '.join(known)}"
        )
    values: dict[str, Any] = {}
    for f in fields:
        if f.name not in body:
            if f.required:
                raise ApiError(400, "missing_field", f"field {f.name!r} is required")
            values[f.name] = f.default
            continue
        value = body[f.name]
        kinds = f.kind if isinstance(f.kind, tuple) else (f.kind,)
        # bool is an int in Python; a JSON true is never a number here.
        if isinstance(value, bool) and bool not in kinds:
            raise ApiError(400, "bad_field", f"field {f.name!r} must be {_kind_names(kinds)}")
        if not isinstance(value, kinds):
            raise ApiError(400, "bad_field", f"field {f.name!r} must be {_kind_names(kinds)}")
        values[f.name] = value
    return values


def _kind_names(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


Endpoint = Callable[[Request, re.Match[str]], Response]

#: Paths answered without the admin token: readiness probes only (they learn nothing but "up").
OPEN_PATHS = frozenset({"/lab/health"})
TOKEN_HEADER = "X-Lab-Token"


def presented_token(request: Request) -> str | None:
    """The admin token a request carries: `Authorization: Bearer <token>` or `X-Lab-Token: <token>`."""
    direct = request.header(TOKEN_HEADER)
    if direct:
        return direct.strip()
    authorization = request.header("Authorization") or ""
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class TokenGuard(LabHandler):
    """The admin API's lock: every /lab/ path but /lab/health needs the lab's token, or 401 and nothing else.

    The admin API hands out every secret of the lab (lab.json's content, app secrets, passwords) and changes
    the tenant at will; 127.0.0.1 is shared by every local user, so being local proves nothing. The token is
    random per run and lies in lab.json (0600), readable only by whoever started the lab."""

    def __init__(self, ctx: LabContext, inner: LabHandler) -> None:
        self.ctx = ctx
        self.inner = inner

    def classify(self, request: Request) -> tuple[str, str]:
        return self.inner.classify(request)

    def handle(self, request: Request) -> Response:
        if request.path in OPEN_PATHS or self._authorized(request):
            return self.inner.handle(request)
        return _error(
            401,
            "unauthorized",
            "the lab's admin API needs its token: send `Authorization: Bearer <token>` (or X-Lab-Token) "
            "with admin_api.token from DIR/lab.json",
            [("WWW-Authenticate", 'Bearer realm="roomsops-lab"')],
        )

    def _authorized(self, request: Request) -> bool:
        expected = self.ctx.admin_token
        presented = presented_token(request)
        if not expected or presented is None:
            return False
        return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


class AdminApi(LabHandler):
    """/lab/... ; mounted uninstrumented (no latency, counts or faults apply to it)."""

    def __init__(self, ctx: LabContext, device_flows: DeviceFlows) -> None:
        self.ctx = ctx
        self.device_flows = device_flows
        self.routes: list[tuple[str, re.Pattern[str], Endpoint]] = [
            ("GET", re.compile(r"^/lab/health$"), self._health),
            ("GET", re.compile(r"^/lab/info$"), self._info),
            ("GET", re.compile(r"^/lab/state$"), self._state),
            ("POST", re.compile(r"^/lab/reset$"), self._reset),
            ("GET", re.compile(r"^/lab/mailboxes$"), self._mailboxes),
            ("POST", re.compile(r"^/lab/mailboxes$"), self._add_mailbox),
            ("GET", re.compile(r"^/lab/mailboxes/(?P<email>[^/]+)/calendar$"), self._calendar),
            ("GET", re.compile(r"^/lab/mailboxes/(?P<email>[^/]+)/folders$"), self._folders),
            (
                "POST",
                re.compile(r"^/lab/mailboxes/(?P<email>[^/]+)/external-meeting-requests$"),
                self._external_request,
            ),
            ("POST", re.compile(r"^/lab/mailboxes/(?P<email>[^/]+)/folders$"), self._create_folder),
            ("POST", re.compile(r"^/lab/mailboxes/(?P<email>[^/]+)/calendar$"), self._create_calendar_item),
            # EWS item ids are base64 and may hold "/": the id is the rest of the path.
            # Before the PATCH/DELETE routes: "<id>/move" would otherwise read as an id with a slash.
            (
                "POST",
                re.compile(
                    r"^/lab/mailboxes/(?P<email>[^/]+)/calendar/(?P<item_id>.+)/(?P<verb>move|restore)$"
                ),
                self._move_calendar_item,
            ),
            (
                "PATCH",
                re.compile(r"^/lab/mailboxes/(?P<email>[^/]+)/calendar/(?P<item_id>.+)$"),
                self._edit_calendar_item,
            ),
            (
                "DELETE",
                re.compile(r"^/lab/mailboxes/(?P<email>[^/]+)/calendar/(?P<item_id>.+)$"),
                self._delete_calendar_item,
            ),
            (
                "GET",
                re.compile(r"^/lab/mailboxes/(?P<email>[^/]+)/calendar-processing$"),
                self._calendar_processing,
            ),
            (
                "PATCH",
                re.compile(r"^/lab/mailboxes/(?P<email>[^/]+)/calendar-processing$"),
                self._change_calendar_processing,
            ),
            ("GET", re.compile(r"^/lab/room-answers$"), self._room_answers),
            ("POST", re.compile(r"^/lab/room-answers/process$"), self._process_room_answers),
            ("GET", re.compile(r"^/lab/requests$"), self._requests),
            ("POST", re.compile(r"^/lab/requests/reset$"), self._reset_requests),
            ("GET", re.compile(r"^/lab/faults$"), self._faults),
            ("POST", re.compile(r"^/lab/faults$"), self._add_fault),
            ("DELETE", re.compile(r"^/lab/faults$"), self._clear_faults),
            ("POST", re.compile(r"^/lab/consent$"), self._consent),
            ("GET", re.compile(r"^/lab/device$"), self._device),
            ("POST", re.compile(r"^/lab/device/approve$"), self._approve_device),
            ("GET", re.compile(r"^/lab/cmdlet-gate$"), self._cmdlet_gate),
            ("POST", re.compile(r"^/lab/cmdlet-gate$"), self._change_cmdlet_gate),
            ("GET", re.compile(r"^/lab/settings$"), self._settings),
            ("POST", re.compile(r"^/lab/settings$"), self._change_settings),
        ]

    def classify(self, request: Request) -> tuple[str, str]:
        return "lab", request.path

    def handle(self, request: Request) -> Response:
        allowed = []
        for method, pattern, endpoint in self.routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            try:
                return endpoint(request, match)
            except ApiError as err:
                return _error(err.status, err.code, str(err))
        if allowed:
            return _error(
                405, "method_not_allowed", f"use {', '.join(allowed)}", [("Allow", ", ".join(allowed))]
            )
        return _error(404, "not_found", f"no such admin endpoint: {request.method} {request.path}")

    # endpoints ---------------------------------------------------------------------------------------

    def _health(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(200, {"status": "ok"})

    def _info(self, request: Request, match: re.Match[str]) -> Response:
        try:
            info = json.loads((self.ctx.dir / "lab.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ApiError(503, "not_ready", "lab.json is not written yet") from None
        return Response.json(200, info)

    def _state(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(200, self.ctx.tenant.snapshot())

    def _reset(self, request: Request, match: re.Match[str]) -> Response:
        parse_body(request, [])
        self.ctx.tenant.reset()
        self.ctx.cmdlet_gate.open()
        return Response.json(200, {"status": "reset"})

    def _mailboxes(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(200, self.ctx.tenant.snapshot()["mailboxes"])

    def _add_mailbox(self, request: Request, match: re.Match[str]) -> Response:
        body = parse_body(
            request,
            [
                Field("email", str, required=True),
                Field("display_name", str),
                Field("kind", str, default="user"),
                Field("aliases", list, default=[]),
            ],
        )
        email = body["email"].strip()
        aliases = body["aliases"]
        if not EMAIL.match(email):
            raise ApiError(400, "bad_field", f"email {email!r} is not an e-mail address")
        if not all(isinstance(a, str) and EMAIL.match(a.strip()) for a in aliases):
            raise ApiError(400, "bad_field", "aliases must be a list of e-mail addresses")
        if body["kind"] not in ("user", "room"):
            raise ApiError(400, "bad_field", "kind must be 'user' or 'room'")
        display_name = (body["display_name"] or email.split("@", 1)[0]).strip()
        try:
            mailbox = self.ctx.tenant.add_mailbox(
                email, display_name, body["kind"], [a.strip() for a in aliases]
            )
        except MailboxConflict as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        return Response.json(201, asdict(mailbox))

    def _calendar(self, request: Request, match: re.Match[str]) -> Response:
        folder = request.query.get("folder", ["calendar"])[0]
        expand = request.query.get("expand", [None])[0]
        return _calendar_edit(
            lambda: outlook.calendar_json(self.ctx.tenant, match["email"], folder, expand), 200
        )

    def _folders(self, request: Request, match: re.Match[str]) -> Response:
        return _calendar_edit(lambda: outlook.folders_json(self.ctx.tenant, match["email"]), 200)

    def _create_folder(self, request: Request, match: re.Match[str]) -> Response:
        body = _json_object(request)
        return _calendar_edit(lambda: outlook.create_folder(self.ctx.tenant, match["email"], body), 201)

    def _external_request(self, request: Request, match: re.Match[str]) -> Response:
        body = _json_object(request)
        return _calendar_edit(lambda: outlook.external_request(self.ctx.tenant, match["email"], body), 202)

    def _create_calendar_item(self, request: Request, match: re.Match[str]) -> Response:
        body = _json_object(request)
        return _calendar_edit(lambda: outlook.create(self.ctx.tenant, match["email"], body), 201)

    def _edit_calendar_item(self, request: Request, match: re.Match[str]) -> Response:
        body = _json_object(request)
        return _calendar_edit(
            lambda: outlook.update(self.ctx.tenant, match["email"], match["item_id"], body), 200
        )

    def _move_calendar_item(self, request: Request, match: re.Match[str]) -> Response:
        if match["verb"] == "restore":
            parse_body(request, [])
            folder = "calendar"
        else:
            folder = parse_body(request, [Field("folder", str, required=True)])["folder"]
        return _calendar_edit(
            lambda: outlook.move(self.ctx.tenant, match["email"], match["item_id"], folder), 200
        )

    def _delete_calendar_item(self, request: Request, match: re.Match[str]) -> Response:
        mode = request.query.get("mode", ["MoveToDeletedItems"])[0]
        cancel = request.query.get("cancel", ["true"])[0]
        if cancel not in ("true", "false"):
            # Anything else used to mean true: `cancel=no` sent the cancellations it meant to keep back.
            raise ApiError(400, "bad_field", "cancel must be true or false")
        cancellations = cancel == "true"
        return _calendar_edit(
            lambda: outlook.delete(self.ctx.tenant, match["email"], match["item_id"], mode, cancellations),
            200,
        )

    def _calendar_processing(self, request: Request, match: re.Match[str]) -> Response:
        with self.ctx.tenant.read() as state:
            mailbox = _mailbox_of(state, match["email"])
            return Response.json(200, calendar_processing.as_json(mailbox))

    def _change_calendar_processing(self, request: Request, match: re.Match[str]) -> Response:
        body = _json_object(request)
        changes = calendar_processing.from_json(body, lambda text: ApiError(400, "unknown_field", text))
        with self.ctx.tenant.change() as state:
            mailbox = _mailbox_of(state, match["email"])
            try:
                calendar_processing.apply(mailbox, changes)
            except calendar_processing.SettingError as exc:
                raise ApiError(400, "bad_field", str(exc)) from None
            return Response.json(200, calendar_processing.as_json(mailbox))

    def _room_answers(self, request: Request, match: re.Match[str]) -> Response:
        with self.ctx.tenant.read() as state:
            addresses = {m.id: m.primary_smtp for m in state.mailboxes}
            pending = []
            for p in state.pending_answers:
                store = state.calendars.get(p.organizer_id)
                item = p.request or (store.by_uid(p.uid) if store else None)  # the request as it was sent
                pending.append(
                    {
                        "room": addresses.get(p.room_id),
                        "organizer": addresses.get(p.organizer_id)
                        or (item.organizer.email if item else None),
                        "uid": p.uid,
                        "subject": item.subject if item else None,
                        "sent": p.sent,
                        "due": p.due,
                    }
                )
            answered = [asdict(a) for a in state.room_answers]
        return Response.json(200, {"pending": pending, "answered": answered})

    def _process_room_answers(self, request: Request, match: re.Match[str]) -> Response:
        parse_body(request, [])
        with self.ctx.tenant.change() as state:
            answers = answer_due(state, format_datetime(utc_now()), all_pending=True)
        return Response.json(200, {"answered": [asdict(a) for a in answers]})

    def _requests(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(200, self.ctx.counter.snapshot())

    def _reset_requests(self, request: Request, match: re.Match[str]) -> Response:
        parse_body(request, [])
        self.ctx.counter.reset()
        return Response.json(200, {})

    def _faults(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(200, [f.to_json() for f in self.ctx.faults.active()])

    def _add_fault(self, request: Request, match: re.Match[str]) -> Response:
        body = parse_body(
            request,
            [
                Field("protocol", str, required=True),
                Field("operation", str, default="*"),
                Field("kind", str, required=True),
                Field("back_off_ms", int, default=0),
                Field("count", int, default=1),
            ],
        )
        try:
            fault = self.ctx.faults.add(**body)
        except FaultError as exc:
            raise ApiError(400, "bad_field", str(exc)) from None
        return Response.json(201, fault.to_json())

    def _cmdlet_gate(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(200, self.ctx.cmdlet_gate.state())

    def _change_cmdlet_gate(self, request: Request, match: re.Match[str]) -> Response:
        body = parse_body(request, [Field("open", bool, required=True), Field("cmdlets", list, default=[])])
        if body["open"]:
            self.ctx.cmdlet_gate.open()
        else:
            names = body["cmdlets"]
            if not names or not all(isinstance(n, str) and n for n in names):
                raise ApiError(400, "bad_field", "cmdlets must name at least one cmdlet to hold")
            self.ctx.cmdlet_gate.close(frozenset(names))
        return Response.json(200, self.ctx.cmdlet_gate.state())

    def _clear_faults(self, request: Request, match: re.Match[str]) -> Response:
        self.ctx.faults.clear()
        return Response.json(200, [])

    def _consent(self, request: Request, match: re.Match[str]) -> Response:
        body = parse_body(
            request,
            [
                Field("app_id", str, required=True),
                Field("permission", str, required=True),
                Field("grant", bool, default=True),
                Field("resource", str, default="exchange"),
            ],
        )
        if not body["permission"].strip():
            raise ApiError(400, "bad_field", "permission must not be empty")
        if body["resource"] not in ("exchange", "graph"):
            raise ApiError(400, "bad_field", 'resource must be "exchange" or "graph"')
        try:
            permissions = self.ctx.tenant.set_consent(
                body["app_id"], body["permission"].strip(), body["grant"], body["resource"]
            )
        except KeyError:
            raise ApiError(404, "app_not_found", f"no application with id {body['app_id']}") from None
        key = "graph_permissions" if body["resource"] == "graph" else "application_permissions"
        return Response.json(200, {"app_id": body["app_id"], key: permissions})

    def _device(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(
            200,
            {
                "message": 'The lab signs the administrator in: POST /lab/device/approve {"user_code": ...}. '
                "In the default (auto) approval mode the first poll of a device code signs in by itself.",
                "pending": self.device_flows.pending(),
            },
        )

    def _approve_device(self, request: Request, match: re.Match[str]) -> Response:
        body = parse_body(
            request, [Field("user_code", str, required=True), Field("approve", bool, default=True)]
        )
        with self.ctx.tenant.read() as state:
            upn = state.admin_user.upn
        flow = self.device_flows.decide(body["user_code"], upn, approve=body["approve"])
        if flow is None:
            raise ApiError(
                404, "no_pending_code", f"no pending device code with user code {body['user_code']}"
            )
        return Response.json(200, flow.public())

    def _settings(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(200, self._current_settings())

    def _change_settings(self, request: Request, match: re.Match[str]) -> Response:
        body = parse_body(
            request,
            [
                Field("latency_ms", int),
                Field("policy_delay", (int, float)),
                Field("device_code_interval", int),
                Field("device_code_approval", str),
                Field("save_interval", (int, float)),
                Field("room_answer_delay", (int, float)),
                Field("graph_translate_ids_app_only", bool),
                Field("notification_back_off", (int, float)),
            ],
        )
        options = self.ctx.options
        if body["latency_ms"] is not None:
            if body["latency_ms"] < 0:
                raise ApiError(400, "bad_field", "latency_ms must not be negative")
            options.latency_ms = body["latency_ms"]
        if body["policy_delay"] is not None:
            if not 0 <= body["policy_delay"] <= MAX_ROOM_ANSWER_DELAY:  # also refuses NaN and infinity
                raise ApiError(
                    400, "bad_field", "policy_delay must be a number of seconds from 0 through a year"
                )
            options.policy_delay = float(body["policy_delay"])
        if body["notification_back_off"] is not None:
            if (
                not 0 <= body["notification_back_off"] <= NOTIFICATION_BACK_OFF_MAX
            ):  # also refuses NaN and infinity
                raise ApiError(
                    400,
                    "bad_field",
                    f"notification_back_off must be a number of seconds from 0 through {NOTIFICATION_BACK_OFF_MAX:.0f}",
                )
            options.notification_back_off = float(body["notification_back_off"])
        if body["device_code_interval"] is not None:
            if body["device_code_interval"] < 1:
                raise ApiError(400, "bad_field", "device_code_interval must be at least 1")
            options.device_code_interval = body["device_code_interval"]
        self._change_flags(body["device_code_approval"], body["graph_translate_ids_app_only"])
        if body["room_answer_delay"] is not None:
            if not valid_room_answer_delay(float(body["room_answer_delay"])):
                raise ApiError(
                    400,
                    "bad_field",
                    f"room_answer_delay must be a number of seconds from 0 through {MAX_ROOM_ANSWER_DELAY:.0f}",
                )
            options.room_answer_delay = float(body["room_answer_delay"])
            with self.ctx.tenant.change() as state:
                state.flags.room_answer_delay = options.room_answer_delay
                if options.room_answer_delay == 0:
                    answer_due(state, format_datetime(utc_now()), all_pending=True)
        if body["save_interval"] is not None:
            if not 0 <= body["save_interval"] <= MAX_ROOM_ANSWER_DELAY:  # also refuses NaN and infinity
                raise ApiError(
                    400, "bad_field", "save_interval must be a number of seconds from 0 through a year"
                )
            options.save_interval = float(body["save_interval"])
            self.ctx.tenant.save_interval = options.save_interval
            if options.save_interval == 0:
                self.ctx.tenant.flush()  # back to writing on every change: write what is waiting now
        return Response.json(200, self._current_settings())

    def _change_flags(self, approval: Any, translate_app_only: bool | None) -> None:
        """The settings kept in the tenant state (`POST /lab/reset` sets them back, but for the answer delay)."""
        if approval is not None:
            if approval not in ("auto", "manual"):
                raise ApiError(400, "bad_field", "device_code_approval must be 'auto' or 'manual'")
            with self.ctx.tenant.change() as state:
                state.flags.device_code_approval = approval
        if translate_app_only is not None:
            with self.ctx.tenant.change() as state:
                state.flags.graph_translate_ids_app_only = translate_app_only

    def _current_settings(self) -> dict[str, Any]:
        with self.ctx.tenant.read() as state:
            approval = state.flags.device_code_approval
            room_answer_delay = state.flags.room_answer_delay
            translate_app_only = state.flags.graph_translate_ids_app_only
        options = self.ctx.options
        return {
            "latency_ms": options.latency_ms,
            "policy_delay": options.policy_delay,
            "device_code_interval": options.device_code_interval,
            "device_code_approval": approval,
            "expired_tls": options.expired_tls,
            "save_interval": options.save_interval,
            "room_answer_delay": room_answer_delay,
            "graph_translate_ids_app_only": translate_app_only,
            "notification_back_off": options.notification_back_off,
        }


def _mailbox_of(state: TenantState, address: str) -> Mailbox:
    mailbox = state.find_mailbox(address)
    if mailbox is None:
        raise ApiError(404, "mailbox_not_found", f"no mailbox has the address {address}")
    return mailbox


def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return body


def _calendar_edit(action: Callable[[], dict[str, Any]], status: int) -> Response:
    """Run a calendar read or Outlook-style edit (roomsops.lab.ews.outlook), its refusals as API errors."""
    try:
        return Response.json(status, action())
    except outlook.EditError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None


def _error(status: int, code: str, message: str, headers: Sequence[tuple[str, str]] = ()) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message}}, headers)
