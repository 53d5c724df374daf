"""The sync test of a person in ROOMS' Graph mode (Microsoft365), as steps: Graph token (its roles), Graph
connection, user lookup, primary SMTP address, calendar read and, with `--write-probe`, a probe write (an event
created in the mailbox's calendar with no attendee and deleted again). The first failing step names the cause;
the later ones are not run.

`uses_graph` tells which service the sync uses for a person's mode (the modes are read by
`services.rooms.common.person_modes`), so `auth test`, `sync test` and `doctor` test each person over it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from roomsops.adapters.entra.tokens import TokenProvider
from roomsops.core.calendar import AccessDenied, BackendError, Throttled
from roomsops.core.errors import ConnectError, RoomsopsError
from roomsops.core.results import Check, CheckReport, Status
from roomsops.core.settings import Settings
from roomsops.core.templates import shellword
from roomsops.core.vocabulary import EWS_SYNC_MODES, GRAPH_SYNC_MODES

if TYPE_CHECKING:
    from roomsops.adapters.graph.client import GraphClient
    from roomsops.services.diagnose.probe import AddressCheck

#: The Graph application permission the sync needs (or, with RBAC for Applications, the role of that name).
GRAPH_CALENDARS = "Calendars.ReadWrite"
GRAPH_RBAC_ROLE = "Application Calendars.ReadWrite"
CONSENT_REMEDY = (
    "API permissions → Microsoft Graph → Application permissions → Calendars.ReadWrite, then Grant admin "
    "consent (or, with RBAC for Applications: roomsops policy restrict --engine rbac --permission graph)"
)
MAILBOX_REMEDY = "check the address: it must be an Exchange Online mailbox of this tenant"
PROBE_SUBJECT = "roomsops sync test (probe, deleted at once)"
NETWORK = (
    "check the network between roomsops and Microsoft Graph (network.proxy, a proxy that cuts connections)"
)

STEPS = (
    "Graph token",
    "Graph connection",
    "user lookup",
    "primary SMTP address",
    "calendar read",
    "probe write",
)


def mode_of(modes: Mapping[str, str] | None, address: str) -> str | None:
    """The sync mode of the person at `address` (any case), None when not a known person."""
    wanted = address.casefold()
    return next((mode for email, mode in (modes or {}).items() if email.casefold() == wanted), None)


def uses_graph(settings: Settings, mode: str | None) -> bool:
    """Whether the sync reaches a person in `mode` (None: not a known person) over Microsoft Graph: ROOMS' Graph
    mode, or an EWS mode (or an unknown person) with `sync.backend = "graph"`."""
    if mode in GRAPH_SYNC_MODES:
        return True
    return str(settings.sync.backend) == "graph" and (mode is None or mode in EWS_SYNC_MODES)


def reached_over_graph(
    settings: Settings,
    modes: Mapping[str, str] | None,
    left: Mapping[str, tuple[str, str, int]] | None,
    address: str,
) -> bool:
    """Whether the sync reaches the mailbox at `address` over Microsoft Graph: a person who left the sync with
    meetings still in Exchange over the service whose item ids their links hold (`left_persons_meetings`, docs/sync.md
    "a person who left the sync is reached over the service whose item ids their mailbox's links hold"), any
    other person by their mode (`uses_graph`)."""
    wanted = address.casefold()
    service = next((s for email, (_, s, _) in (left or {}).items() if email.casefold() == wanted), None)
    if service is not None:
        return service == "graph"
    return uses_graph(settings, mode_of(modes, address))


def graph_role_checks(roles: tuple[str, ...], engine: str) -> Check:
    """The Graph token's roles judged for the scoping engine: with application access policies the app needs
    the consented Calendars.ReadWrite; with RBAC for Applications that grant would add up with the scopes."""
    if engine == "rbac":
        if GRAPH_CALENDARS in roles:
            return Check(
                "Graph roles",
                Status.WARNING,
                f"{GRAPH_CALENDARS} is consented tenant-wide: the app can open every calendar over Graph, "
                f"whatever the RBAC for Applications scopes say (the two add up)",
                f"remove the Graph permission {GRAPH_CALENDARS} (Entra admin center → Enterprise applications "
                "→ the sync app → Permissions); the role Application Calendars.ReadWrite grants it per scope",
            )
        return Check(
            "Graph roles",
            Status.OK,
            f"no tenant-wide {GRAPH_CALENDARS}: only RBAC for Applications grants it",
        )
    if GRAPH_CALENDARS in roles:
        return Check("Graph roles", Status.OK, f"{GRAPH_CALENDARS} present")
    return Check(
        "Graph roles",
        Status.FAILED,
        f"{GRAPH_CALENDARS} is missing: Graph will refuse the app for the Microsoft365 persons",
        CONSENT_REMEDY,
    )


def graph_token_checks(provider: TokenProvider, engine: str = "aap") -> tuple[Check, ...]:
    """The Graph token of the sync app (for the persons in ROOMS' Graph mode, Microsoft365) and its roles judged
    for the scoping engine (Calendars.ReadWrite: consented with aap; with rbac granted per scope instead)."""
    try:
        token = provider.token()
    except RoomsopsError as exc:
        return (Check("Graph token", Status.FAILED, exc.message, exc.remedy),)
    acquired = Check(
        "Graph token",
        Status.OK,
        f"acquired for {provider.scope}, roles: {', '.join(token.roles) or '(none)'}",
    )
    return (acquired, graph_role_checks(token.roles, engine))


def graph_sync_test(
    settings: Settings,
    provider: TokenProvider,
    client_factory: Callable[[], GraphClient],
    address: str,
    write_probe: bool = False,
    mode: str | None = None,
    persons: Mapping[str, str] | None = None,
) -> CheckReport:
    """ROOMS' sync test over Microsoft Graph: token and roles, connection, user lookup, primary address, calendar
    read, and (write_probe) an event created and deleted again. `persons` (the ROOMS persons by case-folded
    address, None: not known) words the remedy for an alias."""
    subject = f"sync test {address} (Microsoft Graph{', sync mode ' + mode if mode else ''})"
    steps = STEPS if write_probe else STEPS[:-1]
    checks: list[Check] = []

    def done(failed: Check, unreachable: bool = False) -> CheckReport:
        rest = tuple(
            Check(name, Status.WARNING, "not run: an earlier step failed")
            for name in steps[len(checks) + 1 :]
        )
        return CheckReport(
            subject=subject, checks=(*checks, failed, *rest), unreachable=unreachable, notes=notes
        )

    notes: tuple[str, ...] = () if write_probe else ("pass --write-probe to also create and delete an event",)
    try:
        token = provider.token()
    except RoomsopsError as exc:
        return done(
            Check("Graph token", Status.FAILED, exc.message, exc.remedy), isinstance(exc, ConnectError)
        )
    roles = graph_role_checks(token.roles, settings.policy.engine)
    if roles.status is Status.FAILED:
        return done(Check("Graph token", Status.FAILED, roles.message, roles.remedy))
    checks.append(
        Check(
            "Graph token",
            roles.status,
            f"app-only token for {provider.scope}, roles: {', '.join(token.roles) or '(none)'}"
            + ("" if roles.status is Status.OK else f"; {roles.message}"),
            roles.remedy,
        )
    )

    from roomsops.adapters.graph.client import user_path
    from roomsops.services.diagnose.probe import alias_remedy

    client = client_factory()
    user = user_path(address)

    def call(name: str, method: str, url: str, **kwargs: object) -> Mapping[str, object] | _Failed:
        try:
            answer = client.request(address, method, url, what=name, **kwargs)  # type: ignore[arg-type]
        except BackendError as exc:
            remedy = exc.remedy or (MAILBOX_REMEDY if exc.reason == "item_gone" else None)
            return _Failed(Check(name, Status.FAILED, exc.detail, remedy), reason=exc.reason)
        except RoomsopsError as exc:  # no connection, TLS, the token refused (401)
            return _Failed(Check(name, Status.FAILED, exc.message, exc.remedy), isinstance(exc, ConnectError))
        return answer.body if isinstance(answer.body, dict) else {}

    # The user lookup is also the connection test: the first request over TLS to cloud.graph_url.
    found = call("user lookup", "GET", f"{user}?$select=id,mail,userPrincipalName,displayName")
    if isinstance(found, _Failed) and found.unreachable:
        failed = found.check
        return done(Check("Graph connection", Status.FAILED, failed.message, failed.remedy), unreachable=True)
    checks.append(Check("Graph connection", Status.OK, f"{settings.cloud.graph_url} reached (TLS verified)"))
    if isinstance(found, _Failed):
        if "Authorization_RequestDenied" not in found.check.message:
            return done(found.check)
        # The sync reads no directory: the lookup is a check of its own, its refusal only a warning.
        checks.append(
            Check(
                "user lookup",
                Status.WARNING,
                "the app may not read users (User.Read.All is not consented); the address is taken as given",
                "grant the Graph permission User.Read.All for this check, or ignore this line",
            )
        )
        checks.append(Check("primary SMTP address", Status.WARNING, f"not checked: {address}"))
    else:
        checks.append(
            Check("user lookup", Status.OK, f"{found.get('displayName') or address} (id {found.get('id')})")
        )
        primary = str(found.get("mail") or "")
        if primary and primary.casefold() != address.casefold():
            return done(
                Check(
                    "primary SMTP address",
                    Status.FAILED,
                    f"{address} is an alias; the primary SMTP address is {primary}",
                    alias_remedy(address, primary, persons),
                )
            )
        checks.append(Check("primary SMTP address", Status.OK, primary or address))

    now = datetime.now(UTC)
    read = call("calendar read", "GET", f"{user}/calendarView?{_window(now)}&$select=id&$top=10")
    if isinstance(read, _Failed):
        return done(read.check)
    seen = read.get("value")
    count = len(seen) if isinstance(seen, list) else 0
    more = " or more" if read.get("@odata.nextLink") else ""
    checks.append(Check("calendar read", Status.OK, f"calendarView of the next 7 days: {count}{more} events"))
    if not write_probe:
        return CheckReport(subject=subject, checks=tuple(checks), notes=notes)

    probe = _probe_write(call, user, now)
    if probe.status is not Status.OK:
        return done(probe)
    checks.append(probe)
    return CheckReport(subject=subject, checks=tuple(checks))


def graph_connection_check(
    settings: Settings, client_factory: Callable[[], GraphClient], address: str
) -> tuple[Check, bool]:
    """`doctor` without --mailbox: is Microsoft Graph reached, and does it answer? One read of a Graph person's
    default calendar (`address`; graph/api/calendar-get). Reached and ok only when Graph answers 200 with the
    calendar's id; a 403 is reached, not permitted (with the remedy); another answer of Graph is reached but
    failing. (the check, whether it could not connect or authenticate: exit 3)."""
    from roomsops.adapters.graph.client import user_path

    graph = settings.cloud.graph_url
    try:
        answer = client_factory().request(
            address, "GET", f"{user_path(address)}/calendar?$select=id", what="calendar"
        )
    except BackendError as exc:  # Graph answered, but not with the calendar
        if isinstance(exc, AccessDenied):
            return Check(
                "Graph connection",
                Status.FAILED,
                f"{graph} reached (TLS verified), not permitted to read {address}'s calendar: {exc.detail}",
                exc.remedy or CONSENT_REMEDY,
            ), False
        if isinstance(exc, Throttled):
            return Check(
                "Graph connection",
                Status.WARNING,
                f"{graph} reached (TLS verified), throttled: {exc.detail}",
                exc.remedy,
            ), False
        remedy = exc.remedy or (
            MAILBOX_REMEDY if exc.reason == "item_gone" else f"run roomsops sync test {shellword(address)}"
        )
        return Check(
            "Graph connection", Status.FAILED, f"{graph} reached (TLS verified), but: {exc.detail}", remedy
        ), False
    except RoomsopsError as exc:  # no connection, TLS, the token refused
        return Check("Graph connection", Status.FAILED, exc.message, exc.remedy), isinstance(
            exc, ConnectError
        )
    body = answer.body if isinstance(answer.body, dict) else {}
    if not body.get("id"):
        return Check(
            "Graph connection",
            Status.FAILED,
            f"{graph} reached (TLS verified), but its answer for {address}'s calendar has no id "
            f"(HTTP {answer.status})",
            f"check cloud.graph_url: it must be Microsoft Graph's endpoint; then run roomsops sync test {shellword(address)}",
        ), False
    return Check(
        "Graph connection", Status.OK, f"{graph} reached (TLS verified), {address}'s calendar read"
    ), False


def _probe_write(call: Callable[..., Mapping[str, object] | _Failed], user: str, now: datetime) -> Check:
    """The probe write: an event with no attendee (nothing sent) created in the calendar tomorrow and deleted."""
    start = (now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    transaction = str(uuid.uuid4())
    event = {
        "subject": PROBE_SUBJECT,
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "showAs": "free",
        "isReminderOn": False,
        "transactionId": transaction,
    }
    made = call("probe write", "POST", f"{user}/events", body=event, write=True)
    if isinstance(made, _Failed) and made.reason == "write_outcome_unknown":
        # The create's answer was lost: it may have made the event. Never sent again blindly: the probe's own slot
        # is looked up for the event with its transactionId, and what is found is deleted.
        return _probe_lost(call, user, start, transaction, made.check.message)
    if isinstance(made, _Failed):
        return made.check
    removed = call("probe write", "DELETE", f"{user}/events/{made.get('id')}", write=True)
    if isinstance(removed, _Failed):
        # The DELETE failed or its answer was lost (it may have landed): the slot is read before saying anything is
        # left, as after a lost create.
        left = _probe_found(call, user, start, transaction)
        if isinstance(left, _Failed):
            return Check(
                "probe write",
                Status.FAILED,
                f"the probe event was created; its DELETE failed or got no answer ({removed.check.message}), and its "
                f"slot could not be read ({left.check.message}): the probe event may be left in the calendar",
                f"delete the event '{PROBE_SUBJECT}' ({start:%Y-%m-%d %H:%M} UTC) in Outlook if it is there",
            )
        if left:
            return Check(
                "probe write",
                Status.FAILED,
                f"the probe event was created but not deleted: {removed.check.message}",
                f"delete the event '{PROBE_SUBJECT}' ({start:%Y-%m-%d %H:%M} UTC) in Outlook",
            )
        return Check(
            "probe write",
            Status.FAILED,
            f"the probe event was created and deleted, but the DELETE got no answer ({removed.check.message}): "
            "its slot, read again, holds nothing of the probe",
            f"{NETWORK}, and run the test again",
        )
    return Check("probe write", Status.OK, "an event created and deleted (no attendee, nothing sent)")


def _probe_found(
    call: Callable[..., Mapping[str, object] | _Failed], user: str, start: datetime, transaction: str
) -> list[str] | _Failed:
    """The ids of the events in the probe's slot that carry its transactionId (Graph keeps it on the event the POST
    made): what of the probe is in the calendar; or why the slot could not be read."""
    slot = f"startDateTime={_utc(start)}&endDateTime={_utc(start + timedelta(minutes=15))}"
    found = call("probe write", "GET", f"{user}/calendarView?{slot}&$select=id,transactionId&$top=50")
    if isinstance(found, _Failed):
        return found
    events = found.get("value")
    return [
        str(e.get("id"))
        for e in (events if isinstance(events, list) else [])
        if isinstance(e, dict) and e.get("transactionId") == transaction
    ]


def _probe_lost(
    call: Callable[..., Mapping[str, object] | _Failed],
    user: str,
    start: datetime,
    transaction: str,
    lost: str,
) -> Check:
    """The probe's create got no answer: its slot is read for the event carrying its transactionId (Graph keeps it
    on the event the POST made), which is deleted. The check fails (the connection to Graph lost an answer) and
    says truthfully whether a probe event is left."""
    left = f"delete the event '{PROBE_SUBJECT}' ({start:%Y-%m-%d %H:%M} UTC) in Outlook if it is there"
    made = _probe_found(call, user, start, transaction)
    if isinstance(made, _Failed):
        return Check(
            "probe write",
            Status.FAILED,
            f"the probe's create got no answer ({lost}), and its slot could not be read to find it "
            f"({made.check.message}): the probe event may be left in the calendar",
            f"{left}; {NETWORK}",
        )
    for item_id in made:
        removed = call("probe write", "DELETE", f"{user}/events/{item_id}", write=True)
        if isinstance(removed, _Failed):
            # Its answer lost, the DELETE may have landed: read again before saying the event is left.
            again = _probe_found(call, user, start, transaction)
            if isinstance(again, _Failed) or item_id in again:
                return Check(
                    "probe write",
                    Status.FAILED,
                    f"the probe's create got no answer ({lost}); the event it made was found by its transactionId "
                    f"but its DELETE failed or got no answer ({removed.check.message})"
                    + (
                        ": the probe event may be left in the calendar"
                        if isinstance(again, _Failed)
                        else ": the probe event is left in the calendar"
                    ),
                    f"{left}; {NETWORK}",
                )
    outcome = (
        "it had made the event, found by its transactionId and deleted"
        if made
        else "no event with its transactionId was made"
    )
    return Check(
        "probe write",
        Status.FAILED,
        f"the probe's create got no answer ({lost}); {outcome}: nothing is left in the calendar",
        f"{NETWORK}, and run the test again",
    )


def graph_live(client: GraphClient, address: str) -> str:
    """What Graph does for the mailbox now (`policy test --live --permission graph`): Granted when its calendar
    can be read, Denied when Graph refuses the app, else the reason (mailbox_not_found, connection, ...)."""
    from roomsops.adapters.graph.client import user_path

    try:
        client.request(
            address,
            "GET",
            f"{user_path(address)}/calendarView?{_window()}&$select=id&$top=1",
            what="calendar",
        )
    except BackendError as exc:
        return "Denied" if exc.reason in ("denied_by_policy", "access_denied") else exc.reason
    except RoomsopsError as exc:
        return "unauthorized" if exc.code == "graph_unauthorized" else "connection"
    return "Granted"


def graph_check_address(
    client: GraphClient, address: str, persons: Mapping[str, str] | None = None
) -> AddressCheck:
    """`persons check` of a Microsoft365 person over Graph: the user's primary address (`mail`) when the app may
    read users, else whether its calendar opens; or why Graph refused."""
    from roomsops.adapters.graph.client import user_path
    from roomsops.services.diagnose.probe import AddressCheck, alias_remedy

    def failed(exc: RoomsopsError) -> AddressCheck:
        if isinstance(exc, BackendError):
            reason = "mailbox_not_found" if exc.reason == "item_gone" else exc.reason
            remedy = exc.remedy or (MAILBOX_REMEDY if reason == "mailbox_not_found" else None)
            return AddressCheck(address, reason, detail=exc.detail, remedy=remedy)
        return AddressCheck(address, "connection", detail=exc.message, remedy=exc.remedy)

    try:
        answer = client.request(address, "GET", f"{user_path(address)}?$select=mail", what="user lookup")
        primary = str((answer.body or {}).get("mail") or address)
    except RoomsopsError as exc:
        if "Authorization_RequestDenied" not in str(getattr(exc, "detail", "")):
            return failed(exc)
        try:  # no directory read granted: the calendar itself answers for the address
            client.request(
                address,
                "GET",
                f"{user_path(address)}/calendarView?{_window()}&$select=id&$top=1",
                what="calendar",
            )
        except RoomsopsError as inner:
            return failed(inner)
        primary = address
    if primary.casefold() != address.casefold():
        return AddressCheck(
            address,
            "alias",
            primary,
            f"an alias; the primary SMTP address is {primary}",
            alias_remedy(address, primary, persons),
        )
    return AddressCheck(address, "ok", primary)


@dataclass(frozen=True)
class _Failed:
    check: Check
    unreachable: bool = False
    reason: str | None = None  # the port's reason of a BackendError (e.g. write_outcome_unknown)


def _window(now: datetime | None = None) -> str:
    """The query of a calendarView over the next 7 days."""
    start = now or datetime.now(UTC)
    return f"startDateTime={_utc(start)}&endDateTime={_utc(start + timedelta(days=7))}"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
