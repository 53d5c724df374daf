"""The lab tenant: one state object (apps, users, mailboxes, policies, calendars) behind one lock.

Persisted as JSON in DIR/tenant.json after every change; every protocol of the lab is a view of it.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import secrets
import string
import threading
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_type_hints

from cryptography import x509

from roomsops.lab.ews.store import MailboxStore, PendingAnswer, RoomAnswer
from roomsops.lab.pki import certificate_pem, sha1_thumbprint, sha256_thumbprint, write_private

DOMAIN = "roomslab.onmicrosoft.com"
SCHEMA = 1

JsonObject = dict[str, Any]
MailboxKind = Literal["user", "room"]

#: Directory role template ids (the `wids` claim); the same GUIDs in every tenant.
ROLE_TEMPLATE_IDS = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
}


@dataclass
class Secret:
    """A client secret. The lab keeps the value (Entra keeps only a hash) so lab.json can hand it out."""

    key_id: str
    display_name: str
    hint: str
    value: str = field(repr=False)
    end: str


@dataclass
class CertificateCredential:
    """A certificate registered on an app (the public part only), as the Entra portal lists it."""

    key_id: str
    display_name: str
    thumbprint_sha1: str
    thumbprint_sha256: str
    start: str
    end: str
    pem: str


@dataclass
class AppRegistration:
    """An app registration with its service principal, credentials and admin-consented permissions."""

    key: str  # the lab's own handle ("rooms", "admin"): keys of lab.json's "apps"
    display_name: str
    app_id: str
    object_id: str  # of the app registration
    sp_object_id: str  # of the service principal (enterprise application): the token's `oid`
    credential_name: str  # DIR/apps/<credential_name>.pem / .pfx
    public_client: bool = False  # "Allow public client flows" (device code flow)
    secrets: list[Secret] = field(default_factory=list)
    certificates: list[CertificateCredential] = field(default_factory=list)
    application_permissions: list[str] = field(default_factory=list)  # consented app roles on Exchange
    delegated_permissions: list[str] = field(default_factory=list)  # consented scopes on Exchange
    directory_roles: list[str] = field(default_factory=list)  # e.g. Exchange Administrator
    # Consented application permissions (app roles) on Microsoft Graph: the `roles` of a Graph token.
    graph_permissions: list[str] = field(default_factory=list)


@dataclass
class DirectoryUser:
    upn: str
    display_name: str
    given_name: str
    surname: str
    object_id: str
    password: str = field(repr=False)
    directory_roles: list[str] = field(default_factory=list)


@dataclass
class ManagementHost:
    """The Windows host roomsops reaches over WinRM to run ExchangeOnlineManagement."""

    winrm_username: str
    winrm_password: str = field(repr=False)
    # Cert:\LocalMachine\My (item shape: roomsops.lab.certstore); None until seeded from the apps' certificates.
    certificates: list[JsonObject] | None = None


@dataclass
class CalendarProcessing:
    """Set-CalendarProcessing and Set-MailboxCalendarConfiguration (working hours) of a mailbox: Microsoft's
    defaults for a new Exchange Online resource mailbox (Set-CalendarProcessing.md, each parameter's "This value
    is the default"). AutomateProcessing and AllowConflicts live on the Mailbox itself (older tenant.json)."""

    booking_window_in_days: int = 180
    maximum_duration_in_minutes: int = 1440  # 0 = unlimited
    allow_recurring_meetings: bool = True
    conflict_percentage_allowed: int = 0
    maximum_conflict_instances: int = 0
    enforce_scheduling_horizon: bool = True
    schedule_only_during_work_hours: bool = False
    add_organizer_to_subject: bool = True
    delete_subject: bool = True
    delete_comments: bool = True
    remove_private_property: bool = True
    process_external_meeting_messages: bool = False
    add_new_requests_tentatively: bool = True
    remove_canceled_meetings: bool = False
    # Set-MailboxCalendarConfiguration: WorkDays, WorkingHoursStartTime/EndTime, WorkingHoursTimeZone (defaults)
    work_days: list[str] = field(
        default_factory=lambda: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    )
    working_hours_start: str = "08:00:00"
    working_hours_end: str = "17:00:00"
    working_hours_time_zone: str = "Pacific Standard Time"


@dataclass
class Mailbox:
    id: str  # ExchangeGuid
    object_id: str  # ExternalDirectoryObjectId (the Entra user object)
    sid: str
    primary_smtp: str
    display_name: str
    alias: str  # mailNickname
    kind: MailboxKind
    aliases: list[str] = field(default_factory=list)  # further SMTP addresses, primary excluded
    ews_enabled: bool | None = None  # Set-CASMailbox -EwsEnabled; None = not set
    automate_processing: str = "AutoUpdate"  # Set-CalendarProcessing; rooms: AutoAccept
    allow_conflicts: bool = False  # rooms decline a request when the slot is taken
    calendar_processing: CalendarProcessing = field(default_factory=CalendarProcessing)

    def addresses(self) -> list[str]:
        return [self.primary_smtp, *self.aliases]

    def has_address(self, address: str) -> bool:
        wanted = address.strip().casefold()
        return any(a.casefold() == wanted for a in self.addresses())


@dataclass
class OrganizationConfig:
    ews_enabled: bool | None = None  # Set-OrganizationConfig -EwsEnabled; None = not set
    ews_allowed_app_ids: list[str] = field(default_factory=list)


@dataclass
class RbacState:
    """Exchange RBAC for Applications objects (shapes owned by the WinRM cmdlets)."""

    service_principals: list[JsonObject] = field(default_factory=list)
    management_scopes: list[JsonObject] = field(default_factory=list)
    role_assignments: list[JsonObject] = field(default_factory=list)


@dataclass
class LabFlags:
    """Switches of the lab itself that tests and demos flip through /lab/settings."""

    device_code_approval: Literal["auto", "manual"] = "auto"
    # Seconds before a room's resource booking attendant answers a meeting request (`--room-answer-delay`);
    # a run option like latency: `POST /lab/reset` keeps it.
    room_answer_delay: float = 5.0
    # Test-only: let app-only tokens call translateExchangeIds, which Graph v1.0 does not allow (Application:
    # Not supported). Off by default, as Graph; `POST /lab/reset` turns it off again.
    graph_translate_ids_app_only: bool = False


@dataclass
class TenantState:
    tenant_id: str
    domain: str
    display_name: str
    apps: list[AppRegistration]
    admin_user: DirectoryUser
    management_host: ManagementHost
    mailboxes: list[Mailbox] = field(default_factory=list)
    # The places below are filled by later protocols (cmdlets, EWS); their item shapes belong to them.
    groups: list[JsonObject] = field(default_factory=list)
    application_access_policies: list[JsonObject] = field(default_factory=list)
    rbac: RbacState = field(default_factory=RbacState)
    # EWS by mailbox id: calendar items, change log, pull subscriptions. Sync states and watermarks are tokens
    # checked against a store's generation, so a reset (new stores) invalidates them (roomsops.lab.ews.store).
    calendars: dict[str, MailboxStore] = field(default_factory=dict)
    organization: OrganizationConfig = field(default_factory=OrganizationConfig)
    flags: LabFlags = field(default_factory=LabFlags)
    # Meeting requests the rooms' resource booking attendant has not answered yet, and its answers (newest last).
    pending_answers: list[PendingAnswer] = field(default_factory=list)
    room_answers: list[RoomAnswer] = field(default_factory=list)
    next_rid: int = 1100
    schema: int = SCHEMA

    def find_mailbox(self, address: str) -> Mailbox | None:
        """By primary SMTP address or any alias address, case-insensitively (as Exchange resolves).

        Through an address index (a scan of every mailbox per lookup made a lab of 10,000 mailboxes answer in 20 ms
        per lookup, several per request, and seeding it quadratic). The index is rebuilt when the list of mailboxes
        is replaced or changes length; a hit is checked against the mailbox's addresses now, and a miss is checked
        by a scan (an alias added in place, as some tests do, is found, and the index rebuilt), so the index never
        answers differently from the scan: it only makes the hits cheap."""
        wanted = address.strip().casefold()
        index = self._address_index()
        found = index.get(wanted)
        if found is not None and found.has_address(wanted):
            return found
        for mailbox in self.mailboxes:
            if mailbox.has_address(wanted):
                self.__dict__.pop(
                    "_by_address", None
                )  # an address changed in place: rebuilt at the next lookup
                return mailbox
        if found is not None:
            self.__dict__.pop("_by_address", None)
        return None

    def _address_index(self) -> dict[str, Mailbox]:
        """Casefolded address → mailbox, kept beside the fields (never saved: `encode` takes the fields only), for
        this list of mailboxes at this length."""
        key = (id(self.mailboxes), len(self.mailboxes))
        cached = self.__dict__.get("_by_address")
        if cached is not None and cached[0] == key:
            index: dict[str, Mailbox] = cached[1]
            return index
        index = {}
        for mailbox in reversed(self.mailboxes):  # the first mailbox with an address wins, as the scan
            for a in mailbox.addresses():
                index[a.strip().casefold()] = mailbox
        self.__dict__["_by_address"] = (key, index)
        return index

    def app_by_id(self, app_id: str) -> AppRegistration | None:
        wanted = app_id.strip().casefold()
        return next((a for a in self.apps if a.app_id.casefold() == wanted), None)

    def app(self, key: str) -> AppRegistration:
        return next(a for a in self.apps if a.key == key)

    def sid(self, rid: int) -> str:
        # A domain SID derived from the tenant id, so the same tenant always yields the same SIDs.
        digest = hashlib.sha256(self.tenant_id.encode()).digest()
        parts = [int.from_bytes(digest[i : i + 4], "big") for i in (0, 4, 8)]
        return "S-1-5-21-" + "-".join(str(p) for p in parts) + f"-{rid}"


class MailboxConflict(ValueError):
    """An address is already used by another mailbox."""


class Tenant:
    """The one tenant of a lab: read under `read()`, change under `change()` (saved to disk on exit)."""

    def __init__(self, path: Path, state: TenantState, *, save_interval: float = 0.0) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._state = state
        # 0: every change is written when its block ends. > 0: a change only counts as unsaved and `flush()`
        # writes (the lab's autosave thread, at most once per interval, and when the lab stops).
        self.save_interval = save_interval
        self.saves = 0  # writes of the file so far
        self._version = 0  # changes made so far
        self._saved_version = 0  # the change the file holds

    @classmethod
    def open(
        cls, path: Path, app_certificates: Mapping[str, x509.Certificate], *, save_interval: float = 0.0
    ) -> Tenant:
        """Load DIR/tenant.json, or seed a new tenant; register the apps' current certificates."""
        exists = path.exists()
        state = cls._load(path) if exists else new_tenant_state()
        tenant = cls(path, state, save_interval=save_interval if exists else 0.0)
        with tenant.change() as s:
            for app in s.apps:
                cert = app_certificates.get(app.credential_name)
                if cert is not None:
                    register_certificate(app, cert)
            if s.management_host.certificates is None:
                s.management_host.certificates = _host_certificates(s.apps)
        tenant.save_interval = save_interval  # a new tenant is written at once, so that DIR is complete
        return tenant

    @property
    def tenant_id(self) -> str:
        return self._state.tenant_id

    @property
    def domain(self) -> str:
        return self._state.domain

    @contextmanager
    def read(self) -> Iterator[TenantState]:
        """The live state under the lock; do not keep references to it past the `with` block."""
        with self.lock:
            yield self._state

    @contextmanager
    def change(self) -> Iterator[TenantState]:
        """The live state under the lock; saved when the block ends (with `save_interval` > 0: by the next
        `flush()`), rolled back if it raises."""
        with self.lock:
            try:
                yield self._state
            except BaseException:
                self._roll_back()
                raise
            self._version += 1
            if self.save_interval <= 0:
                try:
                    self._save()
                except BaseException:
                    # A state that cannot be saved must not stay live (every later save would fail too).
                    self._version -= 1
                    self._roll_back()
                    raise

    def snapshot(self, *, include_secrets: bool = False) -> JsonObject:
        """A deep copy as JSON; secrets and passwords masked unless asked for."""
        with self.lock:
            data = encode(self._state)
        if not include_secrets:
            for app in data["apps"]:
                for s in app["secrets"]:
                    s["value"] = "********"
            data["admin_user"]["password"] = "********"
            data["management_host"]["winrm_password"] = "********"
        return data

    def copy_state(self) -> TenantState:
        with self.lock:
            return copy.deepcopy(self._state)

    def find_mailbox(self, address: str) -> Mailbox | None:
        """A copy of the mailbox with that primary or alias address, or None."""
        with self.lock:
            found = self._state.find_mailbox(address)
            return copy.deepcopy(found) if found else None

    def reset(self) -> None:
        """Back to the seed state, keeping the tenant id, apps, credentials and users (DIR stays valid)."""
        with self.change() as state:
            fresh = seed_state(
                state.tenant_id,
                apps=state.apps,
                admin_user=state.admin_user,
                management_host=state.management_host,
            )
            fresh.flags.room_answer_delay = state.flags.room_answer_delay
            self._state = fresh

    def add_mailbox(
        self, email: str, display_name: str, kind: MailboxKind = "user", aliases: list[str] | None = None
    ) -> Mailbox:
        with self.change() as state:
            addresses = [email, *(aliases or [])]
            lowered = [a.casefold() for a in addresses]
            if len(set(lowered)) != len(lowered):
                raise MailboxConflict("the same address is given twice")
            for address in addresses:
                other = state.find_mailbox(address)
                if other is not None:
                    raise MailboxConflict(f"{address} is already an address of {other.primary_smtp}")
            rid = state.next_rid
            state.next_rid += 1
            mailbox = _mailbox(state, email, display_name, kind, aliases or [], rid)
            state.mailboxes.append(mailbox)
            return copy.deepcopy(mailbox)

    def set_consent(self, app_id: str, permission: str, grant: bool, resource: str = "exchange") -> list[str]:
        """Grant or revoke a tenant-wide (admin-consented) application permission on Exchange Online or
        ("graph") Microsoft Graph; returns that resource's permissions."""
        with self.change() as state:
            app = state.app_by_id(app_id)
            if app is None:
                raise KeyError(app_id)
            held = app.graph_permissions if resource == "graph" else app.application_permissions
            if grant and permission not in held:
                held.append(permission)
            if not grant and permission in held:
                held.remove(permission)
            return list(held)

    def flush(self) -> bool:
        """Write the state if a change is not saved yet (only with `save_interval` > 0); True when it wrote."""
        with self.lock:
            if self._saved_version == self._version:
                return False
            self._save()
            return True

    # The file is `encode(state)` as compact JSON, written by the C encoder straight from the dataclasses
    # (asdict plus an indented dump took 20 s for 1,000 mailboxes x 200 items; this takes 2 s), and read
    # back like `decode()` with each type's plan built once (decode looks type hints up per object).

    def _save(self) -> None:
        """Write the whole state now (under the lock): temporary file, then rename."""
        data = json.dumps(self._state, ensure_ascii=False, separators=(",", ":"), default=Tenant._fields)
        write_private(self.path, data.encode("utf-8"))
        self._saved_version = self._version
        self.saves += 1

    def _roll_back(self) -> None:
        """Undo a change that raised: reload the file, which holds the state from before it unless changes are
        waiting for `flush()`; then the failed change's partial effects stay (and are saved with the rest)."""
        if self._saved_version != self._version:
            self._version += 1
            logging.getLogger(__name__).warning(
                "a tenant change failed while changes were waiting to be saved: what it changed stays"
            )
            return
        if self.path.exists():
            self._state = self._load(self.path)

    @staticmethod
    def _fields(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            # A dataclass's fields, in order (what `encode` gives); its __dict__ holds exactly those.
            fields = getattr(value, "__dict__", None)
            return (
                fields
                if fields is not None
                else {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            )
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    _plans: typing.ClassVar[dict[Any, Callable[[Any], Any] | None]] = {}

    @classmethod
    def _load(cls, path: Path) -> TenantState:
        build = cls._plan(TenantState)
        assert build is not None
        return typing.cast(TenantState, build(json.loads(path.read_bytes())))

    @classmethod
    def _plan(cls, tp: Any) -> Callable[[Any], Any] | None:
        """A function that builds `tp` from JSON data the way `decode` does (None: the value as it is)."""
        if tp in cls._plans:
            return cls._plans[tp]
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        plan: Callable[[Any], Any] | None = None  # Any, Literal, scalars
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            hints = get_type_hints(tp)
            fields = [(f.name, cls._plan(hints[f.name])) for f in dataclasses.fields(tp)]
            target = tp

            def build(value: Any) -> Any:
                if not isinstance(value, dict):
                    raise ValueError(f"expected an object for {target.__name__}")
                return target(
                    **{
                        name: value[name] if part is None else part(value[name])
                        for name, part in fields
                        if name in value
                    }
                )

            plan = build
        elif origin in (typing.Union, types.UnionType):
            optional = type(None) in args
            first = next((cls._plan(a) for a in args if a is not type(None)), None)
            if first is not None:
                plan = lambda value: None if value is None and optional else first(value)  # noqa: E731
        elif origin is list:
            item = cls._plan(args[0])
            plan = list if item is None else lambda value: [item(v) for v in value]
        elif origin is dict:
            entry = cls._plan(args[1])
            plan = lambda value: {str(k): v if entry is None else entry(v) for k, v in value.items()}  # noqa: E731
        cls._plans[tp] = plan
        return plan


# --- seed ------------------------------------------------------------------------------------------

_SEED_APPS: dict[str, JsonObject] = {
    "rooms": {
        "display_name": "ROOMS",
        "credential_name": "rooms",
        "public_client": False,
        "application_permissions": ["full_access_as_app"],
        "graph_permissions": ["Calendars.ReadWrite", "User.Read.All"],
        "delegated_permissions": [],
        "directory_roles": [],
    },
    "admin": {
        "display_name": "roomsops-admin",
        "credential_name": "roomsops-admin",
        # Public client flows on, so an administrator can sign in with the device code flow through it.
        "public_client": True,
        "application_permissions": ["Exchange.ManageAsApp"],
        "graph_permissions": [],
        "delegated_permissions": ["Exchange.Manage"],
        "directory_roles": ["Exchange Administrator"],
    },
}

# (alias, display name, kind, further alias local parts)
_SEED_MAILBOXES: list[tuple[str, str, MailboxKind, list[str]]] = [
    ("DiegoS", "Diego Siciliani", "user", ["diego.siciliani"]),
    ("AdeleV", "Adele Vance", "user", ["adele"]),
    ("AlexW", "Alex Wilber", "user", []),
    ("MeganB", "Megan Bowen", "user", ["megan.bowen"]),
    ("LeeG", "Lee Gu", "user", []),
    ("room-zurich", "Zürich", "room", []),
    ("room-bern", "Bern", "room", []),
]


def new_tenant_state() -> TenantState:
    """A brand-new tenant: fresh ids, secrets and passwords."""
    tenant_id = str(uuid.uuid4())
    apps = [_new_app(key) for key in _SEED_APPS]
    admin_user = DirectoryUser(
        upn=f"admin@{DOMAIN}",
        display_name="Lab Administrator",
        given_name="Lab",
        surname="Administrator",
        object_id=str(uuid.uuid4()),
        password=_password(),
        directory_roles=["Global Administrator", "Exchange Administrator"],
    )
    host = ManagementHost(winrm_username="labadmin", winrm_password=_password())
    return seed_state(tenant_id, apps=apps, admin_user=admin_user, management_host=host)


def seed_state(
    tenant_id: str, *, apps: list[AppRegistration], admin_user: DirectoryUser, management_host: ManagementHost
) -> TenantState:
    """The seed tenant around existing identities; mailbox ids derive from the tenant id (stable)."""
    seeded_apps = copy.deepcopy(apps)
    for app in seeded_apps:
        spec = _SEED_APPS.get(app.key)
        if spec is not None:
            app.application_permissions = list(spec["application_permissions"])
            app.graph_permissions = list(spec["graph_permissions"])
            app.delegated_permissions = list(spec["delegated_permissions"])
            app.directory_roles = list(spec["directory_roles"])
            app.public_client = bool(spec["public_client"])
    state = TenantState(
        tenant_id=tenant_id,
        domain=DOMAIN,
        display_name="Rooms Lab",
        apps=seeded_apps,
        admin_user=copy.deepcopy(admin_user),
        management_host=copy.deepcopy(management_host),
    )
    state.management_host.certificates = _host_certificates(seeded_apps)
    for rid, (alias, display_name, kind, extra) in enumerate(_SEED_MAILBOXES, start=1001):
        aliases = [f"{local}@{DOMAIN}" for local in extra]
        state.mailboxes.append(_mailbox(state, f"{alias}@{DOMAIN}", display_name, kind, aliases, rid))
    return state


#: The ROOMS service's account on the management host; `rooms.service_account` in the lab's roomsops.toml.
ROOMS_SERVICE_ACCOUNT = "LAB\\svc-rooms"
_KEY_READERS = {"rooms": ["NT AUTHORITY\\SYSTEM", "BUILTIN\\Administrators", ROOMS_SERVICE_ACCOUNT]}


def _host_certificates(apps: list[AppRegistration]) -> list[JsonObject] | None:
    """The seed Cert:\\LocalMachine\\My: each app's current certificate with its private key (None: none yet)."""
    if not any(app.certificates for app in apps):
        return None  # a new tenant registers its certificates after seeding; Tenant.open seeds the store then
    store = []
    for app in apps:
        for cert in app.certificates[-1:]:  # the current one (renewals append)
            store.append(
                {
                    "thumbprint": cert.thumbprint_sha1.upper(),
                    "subject": cert.display_name,
                    "issuer": cert.display_name,  # self-signed
                    "not_before": cert.start,
                    "not_after": cert.end,
                    "has_private_key": True,
                    "key_readers": list(_KEY_READERS.get(app.key, _KEY_READERS["rooms"][:2])),
                    "friendly_name": app.display_name,
                }
            )
    return store


def register_certificate(app: AppRegistration, cert: x509.Certificate) -> None:
    """Add the certificate to the app's credentials unless it is already registered."""
    sha1 = sha1_thumbprint(cert)
    if any(c.thumbprint_sha1 == sha1 for c in app.certificates):
        return
    app.certificates.append(
        CertificateCredential(
            key_id=str(uuid.uuid4()),
            display_name=cert.subject.rfc4514_string(),
            thumbprint_sha1=sha1,
            thumbprint_sha256=sha256_thumbprint(cert),
            start=_iso(cert.not_valid_before_utc),
            end=_iso(cert.not_valid_after_utc),
            pem=certificate_pem(cert),
        )
    )


def _new_app(key: str) -> AppRegistration:
    spec = _SEED_APPS[key]
    value = _client_secret()
    now = dt.datetime.now(dt.UTC)
    return AppRegistration(
        key=key,
        display_name=spec["display_name"],
        app_id=str(uuid.uuid4()),
        object_id=str(uuid.uuid4()),
        sp_object_id=str(uuid.uuid4()),
        credential_name=spec["credential_name"],
        secrets=[
            Secret(
                key_id=str(uuid.uuid4()),
                display_name="lab",
                hint=value[:3],
                value=value,
                end=_iso(now + dt.timedelta(days=730)),
            )
        ],
    )


def _mailbox(
    state: TenantState, email: str, display_name: str, kind: MailboxKind, aliases: list[str], rid: int
) -> Mailbox:
    local = email.split("@", 1)[0]
    namespace = uuid.UUID(state.tenant_id)
    key = email.casefold()
    return Mailbox(
        id=str(uuid.uuid5(namespace, f"mailbox:{key}")),
        object_id=str(uuid.uuid5(namespace, f"user:{key}")),
        sid=state.sid(rid),
        primary_smtp=email,
        display_name=display_name,
        alias=local,
        kind=kind,
        aliases=list(aliases),
        automate_processing="AutoAccept" if kind == "room" else "AutoUpdate",
        allow_conflicts=False,
    )


def _client_secret() -> str:
    # The shape of Entra's generated secrets: 40 characters with "Q~" after a 3-character hint prefix.
    alphabet = string.ascii_letters + string.digits + "_-.~"
    prefix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(3))
    return prefix + "8Q~" + "".join(secrets.choice(alphabet) for _ in range(34))


def _password() -> str:
    return secrets.token_urlsafe(18)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- JSON <-> dataclasses ----------------------------------------------------------------------------

T = TypeVar("T")


def encode(state: Any) -> JsonObject:
    return dataclasses.asdict(state)


def decode(cls: type[T], data: Any) -> T:
    """Build dataclass `cls` from JSON data by its type hints; unknown keys are dropped, missing ones defaulted."""
    return typing.cast(T, _decode(cls, data))


def _decode(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ValueError(f"expected an object for {tp.__name__}")
        hints = get_type_hints(tp)
        kwargs = {
            f.name: _decode(hints[f.name], value[f.name]) for f in dataclasses.fields(tp) if f.name in value
        }
        return tp(**kwargs)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is not type(None):
                return _decode(arg, value)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_decode(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(tp)
        return {str(k): _decode(item, v) for k, v in value.items()}
    if origin is Literal:
        return value
    return value
