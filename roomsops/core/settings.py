"""Settings: built-in defaults < roomsops.toml < ROOMSOPS_SECTION_KEY variables < command options.

One frozen dataclass per section, validated once when loaded: each choice and number carries its rule
(`choice`, `bounded`), checked for every source on its own, so a bad value is refused naming the file,
variable or option it came from (docs/settings.md). Secrets never live here: settings name the environment
variable or file that holds them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import sys
import tomllib
from collections.abc import Collection, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from roomsops.core.addresses import closest, is_address
from roomsops.core.errors import InputError
from roomsops.core.secrets import mask_url_secrets
from roomsops.core.secure_files import not_trusted
from roomsops.core.vocabulary import AUTOMATE_PROCESSING, CALENDAR_PROCESSING

WINDOWS_APP_SETTINGS = r"C:\Program Files (x86)\Garaio\ROOMS\Configuration\RoomsAppSettings.config"

#: Endpoint presets per cloud: (authority host, EWS URL, Exchange environment name).
CLOUDS: dict[str, tuple[str, str, str]] = {
    "global": (
        "https://login.microsoftonline.com",
        "https://outlook.office365.com/EWS/Exchange.asmx",
        "O365Default",
    ),
    "gcc-high": (
        "https://login.microsoftonline.us",
        "https://outlook.office365.us/EWS/Exchange.asmx",
        "O365USGovGCCHigh",
    ),
    "dod": ("https://login.microsoftonline.us", "https://webmail.apps.mil/EWS/Exchange.asmx", "O365USGovDoD"),
    "china": ("https://login.chinacloudapi.cn", "https://partner.outlook.cn/EWS/Exchange.asmx", "O365China"),
    "lab": ("", "", "O365Default"),
}
#: Microsoft Graph per cloud: the endpoint `cloud.graph_url` defaults to, and the resource a Graph token is asked
#: for (`<resource>/.default`). The lab serves Graph at its own address but issues tokens for Graph's resource.
GRAPH_HOSTS: dict[str, str] = {
    "global": "https://graph.microsoft.com",
    "gcc-high": "https://graph.microsoft.us",
    "dod": "https://dod-graph.microsoft.us",
    "china": "https://microsoftgraph.chinacloudapi.cn",
    "lab": "https://graph.microsoft.com",
}


@dataclass(frozen=True)
class Choice:
    """The values a setting may take; with `any_case`, any spelling is taken and stored as listed."""

    values: tuple[str, ...]
    any_case: bool = False

    def describe(self) -> str:
        return f"one of {', '.join(self.values)}"

    def pick(self, value: str) -> str | None:
        for allowed in self.values:
            if value == allowed or (self.any_case and value.casefold() == allowed.casefold()):
                return allowed
        return None


@dataclass(frozen=True)
class Range:
    """The bounds of a numeric setting (both included)."""

    low: int | float
    high: int | float

    def describe(self, kind: type) -> str:
        number = "a whole number" if kind is int else "a number"
        return f"{number} from {_bound(self.low)} to {_bound(self.high)}"

    def holds(self, value: float) -> bool:
        # An int is never nan or inf, and math.isfinite() of one beyond any float raises OverflowError.
        finite = isinstance(value, int) or math.isfinite(value)
        return finite and self.low <= value <= self.high


def _bound(value: int | float) -> str:
    """An int in full (2147483647, not 2.14748e+09); a float as short as it goes."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def url_problem(value: str) -> tuple[str, str] | None:
    """What keeps `value` from being read as a URL (an unbalanced or invalid [IPv6] host, text after its closing
    ], whitespace in the host, a port that is no number from 0 to 65535) and how to write it, or None. urlsplit
    raises on some of these only when a request is made, far from the setting (an "unexpected ValueError", or
    "could not connect"); others it never refuses, and the request goes to a host that cannot exist."""
    bracket = (
        "is not a URL: its host has an unbalanced [ or ], or [ ] that hold no IPv6 address",
        "write an IPv6 host in brackets, https://[2001:db8::5]/, and a name without them",
    )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - .port raises ValueError for a port that is no number or out of range
    except ValueError as exc:
        if "port" in str(exc).casefold():
            return (
                "has a port that is not a number from 0 to 65535",
                "write the port as :443, or leave it out",
            )
        return bracket
    host = parts.netloc.rpartition("@")[2]  # a user:password@ is no part of the host
    if any(char.isspace() or not char.isprintable() for char in host):
        return ("has a space or other blank in its host", "remove the blank from the host")
    if host.startswith("["):
        inside, _, after = host[1:].partition("]")
        try:
            ipaddress.IPv6Address(inside)
        except ValueError:
            return bracket
        if after and not after.startswith(":"):
            return (
                f"is not a URL: text follows its IPv6 host's ] ({after!r})",
                "after the ] write nothing but a port, https://[2001:db8::5]:443/",
            )
    return None


def lower_scheme(value: str) -> str:
    """`value` with its scheme in lower case (schemes are case-insensitive, RFC 3986 §3.1: HTTPS:// is https://)."""
    scheme, sep, rest = value.partition("://")
    return scheme.casefold() + sep + rest if sep and scheme.isalpha() else value


def url(default: str = "") -> Any:
    """A URL setting: checked when settings load (`url_problem`), naming the setting and where it came from."""
    return field(default=default, metadata={"url": True})


def choice(default: str, *values: str, any_case: bool = False) -> Any:
    """A setting that takes one of `values` (checked when settings load, naming where the value came from)."""
    return field(default=default, metadata={"rule": Choice(values, any_case)})


def bounded(default: int | float, low: int | float, high: int | float) -> Any:
    """A numeric setting within [low, high] (checked when settings load)."""
    return field(default=default, metadata={"rule": Range(low, high)})


#: Connect-ExchangeOnline sign-ins of the admin connection (`exo.auth`).
EXO_AUTHS = ("app-certificate", "app-token", "device-code")
#: pypsrp's WinRM authentications (`powershell.auth`); the first five take a password.
WINRM_AUTHS = ("negotiate", "kerberos", "ntlm", "credssp", "basic", "certificate")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: `log.format`: text lines for people, or one JSON object per line for log shippers.
LOG_FORMATS = ("text", "json")
#: `policy.engine`: application access policies, or RBAC for Applications.
POLICY_ENGINES = ("aap", "rbac")
#: `sync.send_invitations`: all sends meeting requests and cancellations; none sends no notices at all.
SEND_INVITATIONS = ("all", "none")
#: `sync.on_person_removed`: a person's meetings when the person leaves the sync (a sync mode roomsops does not
#: sync): reported once with the command that removes them, or removed by the pass.
ON_PERSON_REMOVED = ("report", "purge")
#: `sync.backend`: Exchange Web Services, or Microsoft Graph.
SYNC_BACKENDS = ("ews", "graph")
#: The most mailboxes a sync works in parallel (`sync.concurrency`, `--concurrency`); a server database's connection
#: pool holds at least this many (`adapters/store/db.py`).
SYNC_CONCURRENCY_MAX = 32


@dataclass(frozen=True)
class CloudSettings:
    """Which cloud, and its endpoints (each may be overridden; empty = the preset's)."""

    name: str = choice("global", *CLOUDS)
    authority_host: str = url()
    ews_url: str = url()
    exchange_environment: str = ""
    graph_url: str = url()  # Microsoft Graph's endpoint (without /v1.0); empty: the cloud's

    def __post_init__(self) -> None:
        if self.name not in CLOUDS:
            raise InputError(
                f"cloud.name {self.name!r} is not a known cloud", f"use one of: {', '.join(CLOUDS)}"
            )
        preset = CLOUDS[self.name]
        for attr, default in zip(("authority_host", "ews_url", "exchange_environment"), preset, strict=True):
            if not getattr(self, attr):
                object.__setattr__(self, attr, default)
        if not self.graph_url:
            object.__setattr__(self, "graph_url", GRAPH_HOSTS[self.name])
        for attr in ("authority_host", "ews_url", "graph_url"):
            value = lower_scheme(getattr(self, attr))
            object.__setattr__(self, attr, value)
            if not value:
                raise InputError(
                    f"cloud.{attr} is not set",
                    f"set cloud.{attr} in roomsops.toml for the {self.name!r} cloud",
                )
            if not value.startswith("https://"):
                raise InputError(
                    f"cloud.{attr} must be an https:// URL, got {value!r}",
                    "the identity platform, EWS and Microsoft Graph are only reached over TLS",
                )
        object.__setattr__(self, "authority_host", self.authority_host.rstrip("/"))
        object.__setattr__(self, "graph_url", self.graph_url.rstrip("/"))
        version = self.graph_url.rsplit("/", 1)[-1]
        if version.casefold() in {"v1.0", "beta"}:
            # roomsops adds /v1.0 itself: with it in the setting every request would go to /v1.0/v1.0/... .
            raise InputError(
                f"cloud.graph_url {self.graph_url!r} ends in Graph's version segment /{version}",
                f"leave out /{version}: set cloud.graph_url to {self.graph_url[: -len(version) - 1]!r}",
            )

    @property
    def ews_resource(self) -> str:
        """The resource whose `/.default` scope an EWS token is requested for (scheme and host)."""
        scheme, _, rest = self.ews_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"

    @property
    def graph_resource(self) -> str:
        """The resource whose `/.default` scope a Graph token is requested for: the cloud's Graph, whatever
        `graph_url` points at (a proxy or the lab answers for it)."""
        return GRAPH_HOSTS[self.name]


ProfileValue = bool | int | str


@dataclass(frozen=True)
class RoomProfileSettings:
    """`[rooms.profile]`: Set-CalendarProcessing values that replace the built-in profile's (`rooms check`), for
    every room (`values`, by parameter name) and for one room (`rooms`, by case-folded address)."""

    values: Mapping[str, ProfileValue] = field(default_factory=dict)
    rooms: Mapping[str, Mapping[str, ProfileValue]] = field(default_factory=dict)

    def for_room(self, address: str) -> dict[str, ProfileValue]:
        return {**self.values, **self.rooms.get(address.casefold(), {})}


@dataclass(frozen=True)
class RoomsSettings:
    app_settings: str = ""
    database: str = "sqlite:///rooms.db"
    time_zone: str = ""
    service_account: str = ""
    # How far ahead ROOMS books, and its longest booking: a room must accept at least these (`rooms check`).
    booking_horizon_days: int = bounded(365, 0, 1080)
    longest_booking_minutes: int = bounded(1440, 1, 2147483647)
    # `persons add|set --email` and `rooms add` look the address up in Exchange (false: offline, as --no-check).
    check_addresses: bool = True
    profile: RoomProfileSettings = field(default_factory=RoomProfileSettings, metadata={"table": True})


@dataclass(frozen=True)
class AuthSettings:
    """How the sync app authenticates (its ids and secret come from RoomsAppSettings.config)."""

    certificate_file: str = ""
    certificate_password_env: str = ""
    # False: RS256 assertion with the SHA-1 thumbprint (x5t); True: PS256 with x5t#S256 and the chain (x5c).
    certificate_sha256: bool = False


@dataclass(frozen=True)
class PolicySettings:
    """How the sync app's mailbox access is scoped."""

    group: str = "SyncIsAllowed"
    engine: str = choice("aap", *POLICY_ENGINES)

    def __post_init__(self) -> None:
        if self.engine not in {"aap", "rbac"}:
            raise InputError(f"policy.engine {self.engine!r} is not known", "use aap or rbac")


@dataclass(frozen=True)
class NetworkSettings:
    proxy: str = ""
    ca_bundle: str = ""  # empty: the system's trust store
    timeout_seconds: float = bounded(30.0, 1, 600)  # connect and read timeouts of every request


@dataclass(frozen=True)
class PowershellSettings:
    """The Windows management host reached over WinRM."""

    host: str = ""
    port: int = bounded(0, 0, 65535)  # 0: 5986 with ssl, 5985 without
    ssl: bool = True
    auth: str = choice("negotiate", *WINRM_AUTHS)
    username: str = ""
    password_env: str = "ROOMSOPS_WINRM_PASSWORD"
    ca_bundle: str = ""
    cert_validation: bool = True
    configuration_name: str = "Microsoft.PowerShell"
    certificate_file: str = ""  # auth = certificate: the client certificate (PEM)
    certificate_key_file: str = ""  # auth = certificate: its private key (PEM)


@dataclass(frozen=True)
class ExoSettings:
    """How the admin connection signs in to Exchange Online (never as the sync app)."""

    auth: str = choice("app-certificate", *EXO_AUTHS)
    app_id: str = ""
    organization: str = ""
    certificate_thumbprint: str = ""
    certificate_file: str = ""
    certificate_password_env: str = ""
    client_secret_env: str = ""


@dataclass(frozen=True)
class LogSettings:
    file: str = ""
    audit: str = ""
    level: str = choice("INFO", *LOG_LEVELS, any_case=True)
    format: str = choice("text", *LOG_FORMATS)  # also `roomsops --log-format`


@dataclass(frozen=True)
class SyncSettings:
    window_days_past: int = bounded(7, 0, 3650)
    window_days_future: int = bounded(90, 0, 3650)
    send_invitations: str = choice("all", *SEND_INVITATIONS)
    concurrency: int = bounded(
        4, 1, SYNC_CONCURRENCY_MAX
    )  # mailboxes in parallel; also `roomsops sync --concurrency`
    summary_file: str = ""
    full_every: int = bounded(24, 0, 100000)  # a full reconciliation every N passes per mailbox; 0: never
    rollback_attempts: int = bounded(5, 1, 100)  # SyncConflictBehaviour Rollback: resets before sync-disabled
    cancel_attempts: int = bounded(2, 1, 100)  # SyncConflictBehaviour Cancel: passes tried before cancelling
    on_person_removed: str = choice("report", *ON_PERSON_REMOVED)  # a person leaving the sync: their meetings
    # The calendar service O365/O365Pull persons are synced over; Microsoft365 persons always go over Graph.
    backend: str = choice("ews", *SYNC_BACKENDS)
    # Sync workers (`sync --worker`, PostgreSQL): seconds between two passes of one mailbox, and seconds a
    # worker's claim on a mailbox lasts without being extended (then another worker may take the mailbox over).
    worker_interval: int = bounded(300, 1, 86400)
    worker_lease: int = bounded(600, 10, 86400)


@dataclass(frozen=True)
class GraphSettings:
    """The calendar backend over Microsoft Graph."""

    # Requests in flight per mailbox (Outlook allows 4 per app and mailbox; a $batch takes them all).
    per_mailbox_concurrency: int = bounded(2, 1, 4)


@dataclass(frozen=True)
class ServeSettings:
    """`roomsops serve`: its schedule and its local status listener."""

    ews_interval: int = bounded(60, 1, 86400)  # seconds between passes of a mailbox synced over EWS
    graph_interval: int = bounded(900, 1, 86400)  # seconds between safety-net passes of a Graph mailbox
    # host:port of /healthz, /metrics and the status page; port 0: any free port (printed at start).
    status_listen: str = "127.0.0.1:8765"
    # Comma-separated addresses or networks (192.0.2.7, 10.0.0.0/8) allowed besides loopback.
    status_allow: str = ""
    # host:port of the Graph webhook (change and lifecycle notifications); empty: no webhook, no subscriptions.
    listen: str = ""
    # The webhook's URL as Graph reaches it (https://rooms.example.com/roomsops, a reverse proxy's); empty: the
    # listener's own address (http, or https with tls_cert_file).
    public_url: str = url()
    # PEM certificate (chain) and key for TLS on serve.listen; empty: plain HTTP (behind a reverse proxy).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # seconds a change notification waits for others of the same mailbox before its pass runs
    notification_debounce: int = bounded(1, 0, 300)
    # seconds between the healing reconciliations (full passes, docs/sync.md) of each mailbox; 0: by the count
    # of sync.full_every as `roomsops sync` does
    healing_interval: int = bounded(86400, 0, 2678400)


@dataclass(frozen=True)
class Settings:
    """All settings; `source` says which roomsops.toml was read (None: defaults only)."""

    rooms: RoomsSettings = field(default_factory=RoomsSettings)
    cloud: CloudSettings = field(default_factory=CloudSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    powershell: PowershellSettings = field(default_factory=PowershellSettings)
    exo: ExoSettings = field(default_factory=ExoSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    log: LogSettings = field(default_factory=LogSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    source: Path | None = None
    #: Where relative paths go without a settings file (`data_dir()`); None: the working folder.
    data_dir: Path | None = field(default=None, compare=False)
    #: $ROOMSOPS_DATA_DIR was set: the data paths (`DATA_PATHS`) go into the data folder even with a settings file.
    data_dir_set: bool = field(default=False, compare=False)
    #: "section.key" -> where its value came from (the file, $VARIABLE or "the command line"); unlisted: default.
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def origin(self, label: str) -> str:
        """Where the value of `label` ("section.key") came from, for messages that ask to correct it there."""
        return self.origins.get(label, "the built-in defaults")

    def setting_path(self, label: str, kind: str) -> Path | None:
        """The path setting `label` ("section.key") resolved, checked where it is first used: `kind` "file" must
        be an existing file (a CA bundle, a certificate); "output" must not be a folder (a log file, created
        when missing). None when the setting is empty. A bad path is exit 2 naming key, value and source."""
        section, name = label.split(".", 1)
        value = str(getattr(getattr(self, section), name))
        if not value:
            return None
        path = self.resolve_path(value, label)
        origin = self.origin(label)
        shown = f"{label} = {value!r} (from {origin})"
        if path.is_dir():
            raise InputError(
                f"{shown} is a folder, not a file",
                f"set {label} in {origin} to a file"
                + (f", e.g. {path / _EXAMPLE_NAMES[label]}" if label in _EXAMPLE_NAMES else ""),
            )
        if path.exists() and not path.is_file():
            # A named pipe, a socket or a device: reading or writing it may block for ever (a FIFO nobody
            # reads or writes), holding the sync lock the while.
            raise InputError(
                f"{shown}: {path} is not a regular file (a named pipe, socket or device); nothing was changed",
                f"set {label} in {origin} to a regular file"
                + (f", e.g. {path.parent / _EXAMPLE_NAMES[label]}" if label in _EXAMPLE_NAMES else ""),
                code="not_a_regular_file",
            )
        if kind == "file" and not path.is_file():
            raise InputError(f"{shown}: {path} does not exist", f"correct {label} in {origin}")
        blocker = next((p for p in path.parents if p.exists()), None)
        if kind == "output" and blocker is not None and not blocker.is_dir():
            # `roomsops.log/audit.jsonl`, a file where the folder should be: no file can be made under it.
            raise InputError(
                f"the {_OUTPUT_NOUNS.get(label, 'file')} {path} ({label}, from {origin}) cannot be written: "
                f"{blocker} is a file, not a folder; nothing was changed",
                f"point {label} in {origin} at a file in a folder (or move {blocker}), then run the command again",
                code="path_under_a_file",
            )
        return path

    def resolve_path(self, value: str, label: str | None = None) -> Path:
        """A path from the settings file is relative to that file's folder; without a settings file, to the data
        folder (`data_dir()`), never to the working folder (Task Scheduler starts in System32). A data path
        (`label` in `DATA_PATHS`: the database, the logs, the sync summary) goes into the data folder whenever
        $ROOMSOPS_DATA_DIR names it, settings file or not (a systemd unit's /etc/roomsops/roomsops.toml with
        ROOMSOPS_DATA_DIR=/var/lib/roomsops)."""
        path = Path(value).expanduser()
        if not path.is_absolute():
            if self.data_dir is not None and (
                self.source is None or (self.data_dir_set and label in DATA_PATHS)
            ):
                base: Path | None = self.data_dir
            else:
                base = self.source.parent if self.source is not None else None
            if base is not None:
                path = base / path
        return path


#: The settings whose relative paths are data (written by roomsops): into the data folder when it is named.
DATA_PATHS = frozenset({"rooms.database", "log.file", "log.audit", "sync.summary_file"})
#: What each output path setting names, in messages.
_OUTPUT_NOUNS = {"log.file": "log file", "log.audit": "audit log", "sync.summary_file": "sync summary file"}

#: File names suggested when an output path setting names a folder.
_EXAMPLE_NAMES = {
    "log.file": "roomsops.log",
    "log.audit": "audit.jsonl",
    "sync.summary_file": "roomsops-last-sync.json",
}

#: Section name -> its dataclass, in the order of `Settings`.
SECTIONS: dict[str, type] = {
    f.name: get_type_hints(Settings)[f.name]
    for f in fields(Settings)
    if f.name not in ("source", "data_dir", "data_dir_set", "origins")
}


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _typed(raw: Any, kind: type) -> Any:
    """`raw` (from TOML, or text from a variable or option) as `kind`, or None if it is not one.

    Numbers in text are ASCII digits only: "²" passes str.isdigit() and then fails int(), and float() would
    take "inf", "nan" and "1_0"."""
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
    elif kind is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
            with suppress(ValueError):  # more digits than int() reads (4300): no setting's range is that wide
                return int(raw.strip())
    elif kind is float:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            with suppress(OverflowError):  # an integer beyond any float: no setting's range is that wide
                return float(raw)
        if isinstance(raw, str) and _DECIMAL.fullmatch(raw.strip()):
            return float(raw.strip())
    elif kind is str and isinstance(raw, str):
        return raw
    return None


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def _shown(raw: Any, limit: int = 60) -> str:
    """`raw` as the error line quotes it: its repr, cut short so that a runaway value keeps the line short."""
    text = repr(raw)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


@dataclass(frozen=True)
class Key:
    """One setting: its section and name, its type, and the rule its values follow (if any)."""

    section: str
    name: str
    kind: type
    rule: Choice | Range | None
    #: A URL (`url()`): it must parse, or the first request would crash on it far from the setting.
    url: bool = False

    @property
    def label(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def allowed(self) -> str:
        if isinstance(self.rule, Choice):
            return self.rule.describe()
        if isinstance(self.rule, Range):
            return self.rule.describe(self.kind)
        return _KINDS[self.kind]

    def value(self, raw: Any, origin: str) -> Any:
        """The value `raw` from `origin` (a file, $VARIABLE or option); else exit 2 with one line that
        names the key, where the value came from, what it may be, and what it was."""
        if isinstance(raw, str) and not_utf8(raw):
            raise InputError(
                f"{self.label} in {origin} is not UTF-8 text: {raw!r}",
                f"give {self.label} in {origin} as UTF-8 text (check the encoding of the script or terminal)",
            )
        value = _typed(raw, self.kind)
        problem = url_problem(value) if self.url and isinstance(value, str) else None
        if problem:
            shown = _shown(mask_url_secrets(value))  # a user:password@ in a URL is never shown
            raise InputError(
                f"{self.label} in {origin} {problem[0]}, got {shown}",
                f"correct {self.label} in {origin}: {problem[1]}",
            )
        if self.url and isinstance(value, str):
            value = lower_scheme(value)
        if isinstance(self.rule, Choice) and isinstance(value, str):
            value = self.rule.pick(value)
        elif isinstance(self.rule, Range) and value is not None and not self.rule.holds(value):
            value = None
        if value is None:
            raise InputError(
                f"{self.label} in {origin} must be {self.allowed}, got {_shown(raw)}",
                f"correct {self.label} in {origin}",
            )
        return value


#: "section.key" -> Key, for every setting, in the order of `Settings`.
KEYS: dict[str, Key] = {
    f"{section}.{f.name}": Key(
        section, f.name, get_type_hints(cls)[f.name], f.metadata.get("rule"), bool(f.metadata.get("url"))
    )
    for section, cls in SECTIONS.items()
    for f in fields(cls)
    if not f.metadata.get("table")  # a sub-table such as [rooms.profile] has its own reader
}


def _profile_key(section: str, name: str) -> Key:
    kind, low, high = CALENDAR_PROCESSING[name]
    if kind == "bool":
        return Key(section, name, bool, None)
    if kind == "int":
        return Key(section, name, int, Range(low, high))
    return Key(section, name, str, Choice(AUTOMATE_PROCESSING))


def _profile_values(table: Mapping[str, Any], section: str, origin: str) -> dict[str, ProfileValue]:
    values: dict[str, ProfileValue] = {}
    for name, raw in table.items():
        if name not in CALENDAR_PROCESSING:
            raise InputError(
                f"unknown setting {section}.{name} in {origin}",
                f"known keys of [{section}] (Set-CalendarProcessing's parameters): {', '.join(CALENDAR_PROCESSING)}",
            )
        values[name] = _profile_key(section, name).value(raw, origin)
    return values


def _sub_tables(section: str, table: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """The sub-tables of a section, each with its own reader (`[rooms.profile]`)."""
    if section == "rooms" and "profile" in table:
        return {"profile": room_profile(table["profile"], origin)}
    return {}


def room_profile(raw: Any, origin: str) -> RoomProfileSettings:
    """`[rooms.profile]` (Set-CalendarProcessing parameter = value) with a sub-table per room address
    (`[rooms.profile."room@contoso.com"]`); each value checked like any setting, naming where it came from."""
    if not isinstance(raw, dict):
        raise InputError(
            f"rooms.profile in {origin} must be a table", "write it as [rooms.profile] with keys below"
        )
    rooms: dict[str, dict[str, ProfileValue]] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            if not is_address(key.strip()):
                raise InputError(
                    f"[rooms.profile.{key}] in {origin} is neither a Set-CalendarProcessing parameter nor a room's address",
                    'name a room as [rooms.profile."room@contoso.com"]',
                )
            rooms[key.strip().casefold()] = _profile_values(value, f'rooms.profile."{key.strip()}"', origin)
    settings = {k: v for k, v in raw.items() if not isinstance(v, dict)}
    return RoomProfileSettings(_profile_values(settings, "rooms.profile", origin), rooms)


def setting_value(label: str, raw: Any, origin: str) -> Any:
    """A value for the setting `label` from outside the settings files (e.g. a command option), checked by the
    same rule as in roomsops.toml."""
    return KEYS[label].value(raw, origin)


#: The variable that names the data folder (see `data_dir`).
DATA_DIR_VARIABLE = "ROOMSOPS_DATA_DIR"


def data_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The per-machine data folder: $ROOMSOPS_DATA_DIR, else on Windows %ProgramData%\\roomsops (one for the
    machine, as a scheduled task or service account runs it), elsewhere $XDG_DATA_HOME/roomsops
    (~/.local/share/roomsops of the account the timer runs as). Only named here: it is created when something
    is first written into it (the database, the log), never by a command that fails on its configuration."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get(DATA_DIR_VARIABLE):
        folder = Path(environ[DATA_DIR_VARIABLE]).expanduser()
        if not folder.is_absolute():  # relative: it would follow the working folder (System32 under a task)
            raise InputError(
                f"${DATA_DIR_VARIABLE} {environ[DATA_DIR_VARIABLE]!r} is not a full path",
                f"set {DATA_DIR_VARIABLE} to a full path (e.g. {Path.cwd() / folder}), or unset it",
            )
        return folder
    import platformdirs

    if platform.startswith("win"):
        return Path(platformdirs.site_data_dir("roomsops", appauthor=False))
    return Path(platformdirs.user_data_dir("roomsops", appauthor=False))


def settings_file(explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """--settings, else $ROOMSOPS_SETTINGS, else ./roomsops.toml if present, else roomsops.toml in the data
    folder if present."""
    if explicit is not None and not explicit.strip():
        # `--settings "$UNSET"`: not "no option", which would quietly read another file or none.
        raise InputError("--settings is empty", "give the path of roomsops.toml, or leave --settings out")
    if explicit:
        return Path(explicit)
    if environ.get("ROOMSOPS_SETTINGS"):
        return Path(environ["ROOMSOPS_SETTINGS"])
    local = Path("roomsops.toml")
    if local.is_file():
        return _trusted(local, "the working folder")
    machine = data_dir(environ) / "roomsops.toml"
    if not machine.is_file():
        return None
    return _trusted(machine, "the data folder")


def _trusted(found: Path, where: str) -> Path:
    """A settings file found, not named by the administrator: one that someone else may change would hand them
    powershell.host (and with it the WinRM credentials of the next tenant change), so it is refused (exit 2)."""
    shown = found.absolute()
    problem = not_trusted(shown)
    if problem is None:
        return found
    holder, why = problem
    what = "it" if holder == shown else f"its folder {holder}"
    remedy = (
        f"remove their write access (chmod go-w {holder})"
        if why.startswith("group")
        else "copy it into a folder of your own (or have root chown it to you)"
    )
    raise InputError(
        f"settings file {shown} (found in {where}) is not used: {why} {what}",
        f"check that it is yours, then {remedy}, or name a settings file with --settings",
        code="settings_not_private",
    )


def _read_toml(path: Path) -> dict[str, Any]:
    """The settings file's tables; exit 2 naming the file if it cannot be read or is not TOML."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"settings file {path} does not exist",
            "pass --settings with an existing file, or unset ROOMSOPS_SETTINGS",
        ) from None
    except IsADirectoryError:
        raise InputError(
            f"settings file {path} is a folder", "give the path of the roomsops.toml file itself"
        ) from None
    except OSError as exc:
        raise InputError(
            f"settings file {path} cannot be read: {exc.strerror}", "check the file's permissions"
        ) from None
    try:
        # utf-8-sig: Windows Notepad may save the file with a byte order mark, which TOML does not allow.
        return tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"settings file {path} is not UTF-8 text", "save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"settings file {path} is not valid TOML: {exc}", "correct the syntax at that line"
        ) from None
    except ValueError:  # tomllib's int() of an integer of more than 4300 digits (not a TOMLDecodeError)
        raise InputError(
            f"settings file {path} holds an integer too long to read", "correct the number in that file"
        ) from None


def not_utf8(text: str) -> bool:
    """Whether `text` holds bytes that were not UTF-8: Python hands them over as lone surrogates (U+DC80 to
    U+DCFF) from the command line and the environment, and no cmdlet, XML document or runbook can carry one."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def load_settings(
    explicit: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    named_variables: Collection[str] = (),
) -> Settings:
    """Resolve settings in rising priority; `overrides` are "section.key" -> value from options;
    `named_variables` are the variables the command line names (`--from-env VAR`): read, so no typo."""
    environ = os.environ if environ is None else environ
    path = settings_file(explicit, environ)
    data = _read_toml(path) if path is not None else {}
    origin = str(path) if path is not None else "roomsops.toml"
    sections: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, cls in SECTIONS.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise InputError(f"[{name}] in {origin} must be a table", f"write it as [{name}] with keys below")
        hints = get_type_hints(cls)
        unknown = set(table) - set(hints)
        if unknown:
            raise InputError(
                f"unknown setting {name}.{sorted(unknown)[0]} in {origin}",
                f"known keys of [{name}]: {', '.join(hints)}",
            )
        values: dict[str, Any] = _sub_tables(name, table, origin)
        for key in hints:
            setting = KEYS.get(f"{name}.{key}")
            if setting is None:  # a sub-table, read above
                continue
            if key in table:
                values[key] = setting.value(table[key], origin)
                origins[setting.label] = origin
            env_name = f"ROOMSOPS_{name.upper()}_{key.upper()}"
            if env_name in environ:
                values[key] = setting.value(environ[env_name], f"${env_name}")
                origins[setting.label] = f"${env_name}"
            if overrides and overrides.get(setting.label) is not None:
                values[key] = setting.value(overrides[setting.label], "the command line")
                origins[setting.label] = "the command line"
        sections[name] = cls(**values)
    unknown_sections = set(data) - set(SECTIONS)
    if unknown_sections:
        raise InputError(
            f"unknown section [{sorted(unknown_sections)[0]}] in {origin}",
            f"known sections: {', '.join(SECTIONS)}",
        )
    _refuse_unknown_variables(environ, sections, named_variables)
    return Settings(
        **sections,
        source=path.resolve() if path else None,
        data_dir=data_dir(environ),
        data_dir_set=bool(environ.get(DATA_DIR_VARIABLE)),
        origins=origins,
    )


#: ROOMSOPS_* variables that are no setting of roomsops.toml: where settings and data are, the lab's password.
OTHER_VARIABLES = frozenset(
    {"ROOMSOPS_SETTINGS", "ROOMSOPS_APP_SETTINGS", DATA_DIR_VARIABLE, PowershellSettings.password_env}
)


def _refuse_unknown_variables(
    environ: Mapping[str, str], sections: Mapping[str, Any], named_variables: Collection[str] = ()
) -> None:
    """A ROOMSOPS_<SECTION>_<KEY> variable that names no setting is a typo (ROOMSOPS_ROOMS_DATABSE): refused
    (exit 2) like `[rooms] databse` in roomsops.toml, with the variable meant, instead of leaving the setting at its
    default without a word. Variables that a `*_env` setting names (a secret's variable) are theirs, not typos;
    nor those the command line names (`config set KEY --from-env VAR`, `config init --client-secret-env VAR`);
    other ROOMSOPS_* variables are refused only when they are near a setting's."""
    settings_variables = {f"ROOMSOPS_{key.section.upper()}_{key.name.upper()}" for key in KEYS.values()}
    named = {
        str(getattr(section, name))
        for section in sections.values()
        for name in get_type_hints(type(section))
        if name.endswith("_env") and getattr(section, name)
    } | set(named_variables)
    prefixes = tuple(f"ROOMSOPS_{section.upper()}_" for section in SECTIONS)
    for variable in sorted(environ):
        if (
            not variable.startswith("ROOMSOPS_")
            or variable in settings_variables
            or variable in OTHER_VARIABLES
            or variable in named
        ):
            continue
        near = closest(variable, settings_variables | OTHER_VARIABLES, cutoff=0.85)
        if near is None and not variable.startswith(prefixes):
            continue
        raise InputError(
            f"${variable} is not a variable roomsops reads"
            + (f" (closest: ${near})" if near else "")
            + "; roomsops.toml's [section] key is ROOMSOPS_SECTION_KEY",
            f"rename it to {near}, or unset it"
            if near
            else "unset it, or rename it after the setting it is for "
            "(docs/settings.md lists every setting's variable)",
            code="unknown_variable",
        )


def app_settings_path(
    explicit: str | None,
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> Path:
    """--app-settings, else $ROOMSOPS_APP_SETTINGS, else rooms.app_settings, else the platform default."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if explicit is not None and not explicit.strip():
        # `--app-settings "$UNSET"`: not "no option", which would edit the default (ROOMS' production) file.
        raise InputError(
            "--app-settings is empty", "give the path of RoomsAppSettings.config, or leave --app-settings out"
        )
    if explicit:
        return Path(explicit)
    if environ.get("ROOMSOPS_APP_SETTINGS"):
        return Path(environ["ROOMSOPS_APP_SETTINGS"])
    if settings.rooms.app_settings:
        return settings.resolve_path(settings.rooms.app_settings)
    if platform.startswith("win"):
        return Path(WINDOWS_APP_SETTINGS)
    return Path("RoomsAppSettings.config")


def as_dict(settings: Settings) -> dict[str, Any]:
    """The settings as plain data (no secrets live in settings)."""
    out = dataclasses.asdict(settings)
    out.pop("origins", None)
    out.pop("data_dir_set", None)
    out["source"] = str(settings.source) if settings.source else None
    out["data_dir"] = str(settings.data_dir) if settings.data_dir else None
    return out


@dataclass(frozen=True)
class SettingInfo:
    """One row of `roomsops config settings`: a setting, its variable, default and what it may be."""

    key: str
    variable: str
    default: Any
    allowed: str


def setting_infos() -> list[SettingInfo]:
    """Every setting of roomsops.toml (the `Settings` dataclasses are the one source: docs/settings.md and
    `config settings` are checked against them), with its ROOMSOPS_<SECTION>_<KEY> variable and default."""
    defaults = Settings()
    return [
        SettingInfo(
            key.label,
            f"ROOMSOPS_{key.section.upper()}_{key.name.upper()}",
            getattr(getattr(defaults, key.section), key.name),
            key.allowed,
        )
        for key in KEYS.values()
    ]
