"""`serve.status_listen` and `serve.status_allow`, read once when `roomsops serve` starts (exit 2 naming the key)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from roomsops.core.errors import InputError
from roomsops.core.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class StatusListen:
    host: str
    port: int
    allow: tuple[Network, ...]
    #: host names (casefolded) the status listener may be called by (Host header) besides localhost
    names: tuple[str, ...] = ()


def status_listen(settings: Settings) -> StatusListen:
    return StatusListen(
        *_host_port(settings, "serve.status_listen", settings.serve.status_listen), *_allowed(settings)
    )


@dataclass(frozen=True)
class WebhookListen:
    """`serve.listen` and how Graph reaches it: `public_url` None until the listener is bound (its own address)."""

    host: str
    port: int
    public_url: str | None
    cert_file: Path | None
    key_file: Path | None

    def urls(self, bound: tuple[str, int]) -> tuple[str, str]:
        """(notificationUrl, lifecycleNotificationUrl) for subscriptions."""
        base = self.public_url
        if base is None:
            host, port = bound
            shown = f"[{host}]" if ":" in host else host
            base = f"{'https' if self.cert_file else 'http'}://{shown}:{port}"
        base = base.rstrip("/")
        return f"{base}{NOTIFY_PATH}", f"{base}{LIFECYCLE_PATH}"


#: Where the webhook takes change and lifecycle notifications (under `serve.public_url`'s path).
NOTIFY_PATH = "/graph/notifications"
LIFECYCLE_PATH = "/graph/lifecycle"


def webhook_listen(settings: Settings) -> WebhookListen | None:
    """The Graph webhook's settings; None when `serve.listen` is empty (no webhook: Graph mailboxes are synced on
    serve.graph_interval only). Bad values: exit 2 naming the key."""
    serve = settings.serve
    if not serve.listen.strip():
        for label, value in (
            ("serve.public_url", serve.public_url),
            ("serve.tls_cert_file", serve.tls_cert_file),
        ):
            if value.strip():
                raise InputError(
                    f"{label} in {settings.origin(label)} is set but serve.listen is empty",
                    "set serve.listen (HOST:PORT of the webhook), or remove " + label,
                )
        return None
    host, port = _host_port(settings, "serve.listen", serve.listen)
    public = serve.public_url.strip() or None
    if public is not None:
        label = "serve.public_url"
        try:
            parts = urlsplit(public)
        except ValueError:  # an unbalanced or invalid [IPv6] host
            raise InputError(
                f"{label} in {settings.origin(label)} is not a URL (its [host] is not an IPv6 address), "
                f"got {public!r}",
                f"correct {label}: the webhook's address as Graph reaches it, e.g. https://rooms.example.com/roomsops",
            ) from None
        if "@" in parts.netloc:
            # A user and password in the URL (a proxy's basic authentication) would be printed, logged and sent to
            # Graph as the notificationUrl: refused without echoing the value (secrets never appear in output).
            raise InputError(
                f"{label} in {settings.origin(label)} holds a user name or password (user:password@host); "
                "Graph notifications carry no credentials and the URL would be shown in output and logs",
                f"remove the credentials from {label}: the webhook checks each notification's clientState instead",
            )
        # Graph takes only https notification URLs: "notificationUrl ... must use the HTTPS protocol"
        # (graph/api/resources/subscription, graph/webhooks "The notification endpoint ... must be HTTPS").
        # A bare "?" or "#" leaves .query and .fragment empty, yet the notification URL (this + "/graph/...") would
        # then carry its path in a query or fragment: any "?" or "#" is refused.
        if parts.scheme != "https" or not parts.netloc or "?" in public or "#" in public:
            raise InputError(
                f"{label} in {settings.origin(label)} must be an https URL without query or fragment (Graph sends "
                f"notifications to https only), got {public!r}",
                f"correct {label}: the webhook's address as Graph reaches it, e.g. https://rooms.example.com/roomsops",
            )
        # A URL that names no host ("https://:8443/x"), a host no name or address can be ("rooms example.com") or a
        # port out of range would still parse: Graph's validation could never reach it, every subscription would
        # fail round after round.
        problem = _url_host_problem(parts)
        if problem:
            raise InputError(
                f"{label} in {settings.origin(label)} {problem}, got {public!r}",
                f"correct {label}: the webhook's address as Graph reaches it, e.g. https://rooms.example.com/roomsops",
            )
    cert = _file(settings, "serve.tls_cert_file", serve.tls_cert_file)
    key = _file(settings, "serve.tls_key_file", serve.tls_key_file)
    if key is not None and cert is None:
        raise InputError(
            "serve.tls_key_file is set without serve.tls_cert_file",
            "set serve.tls_cert_file to the certificate of that key, or remove serve.tls_key_file",
        )
    if public is None and cert is None:
        # The listener's own address would be an http URL, and Graph refuses to subscribe one (graph/api/resources/
        # subscription: notificationUrl "must make use of the HTTPS protocol").
        raise InputError(
            "serve.listen without serve.public_url or serve.tls_cert_file would give Graph an http notification URL "
            "(Graph sends notifications to https only)",
            "set serve.public_url to the https URL of the reverse proxy that forwards to serve.listen, or "
            "serve.tls_cert_file and serve.tls_key_file for https on serve.listen itself",
        )
    return WebhookListen(host, port, public, cert, key)


def _url_host_problem(parts: SplitResult) -> str | None:
    """What keeps an https URL's authority from naming a reachable host and port, None when nothing does."""
    try:
        port = parts.port
    except ValueError:
        return "has a port that is not a number from 1 to 65535"
    if port == 0:
        return "has a port that is not a number from 1 to 65535"
    host = parts.hostname or ""
    if not host:
        return "names no host"
    if parts.netloc.rsplit("@", 1)[-1].startswith("["):
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return "has an IPv6 host that is not an IPv6 address"
        return None
    if _HOST_NAME.match(host.rstrip(".")) is None:
        return "has a host that is neither a host name nor an IP address (letters, digits, '-' and '.' only)"
    return None


def _file(settings: Settings, label: str, value: str) -> Path | None:
    if not value.strip():
        return None
    path = Path(value.strip()).expanduser()
    if not path.is_file():
        raise InputError(
            f"{label} in {settings.origin(label)}: no file {str(path)!r}",
            f"correct {label}: a PEM file readable by the service",
        )
    return path


def _host_port(settings: Settings, label: str, raw: str) -> tuple[str, int]:
    value = raw.strip()
    origin = settings.origin(label)
    host, sep, port_text = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text) if port_text.isascii() and port_text.isdigit() else -1
        ipaddress.ip_address(host) if ":" in host else None
    except ValueError:
        port = -1
    if not sep or not host or not 0 <= port <= 65535 or (":" in host and not value.startswith("[")):
        raise InputError(
            f"{label} in {origin} must be HOST:PORT (port 0 to 65535; an IPv6 host in brackets), got {value!r}",
            f"correct {label} in {origin}, e.g. 127.0.0.1:8765",
        )
    return host, port


_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _allowed(settings: Settings) -> tuple[tuple[Network, ...], tuple[str, ...]]:
    """(the clients' addresses and networks, the host names the listener is called by) of serve.status_allow."""
    label = "serve.status_allow"
    origin = settings.origin(label)
    networks: list[Network] = []
    names: list[str] = []
    for part in settings.serve.status_allow.split(","):
        entry = part.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        name = entry.casefold().rstrip(".")
        if "/" in entry or _HOST_NAME.match(name) is None or name.replace(".", "").isdigit():
            raise InputError(
                f"{label} in {origin}: {entry!r} is neither an IP address, a network nor a host name",
                f"correct {label} in {origin}: comma-separated addresses, networks or host names, e.g. "
                "192.0.2.7, 10.0.0.0/8, status.example.com",
            )
        names.append(name)
    return tuple(networks), tuple(names)


def client_allowed(address: str, allow: tuple[Network, ...]) -> bool:
    """Loopback always; any other client only when `serve.status_allow` lists its address or network."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or any(ip in network for network in allow)


def host_allowed(host_header: str, names: tuple[str, ...]) -> bool:
    """The Host a request names (DNS rebinding: a page of another site whose name now resolves to this machine
    sends that name): an IP address literal (no rebinding through one), `localhost`, or a name of
    `serve.status_allow`. No Host header (HTTP/1.0): allowed, browsers always send one."""
    host = host_header.strip().casefold()
    if not host:
        return True
    if host.startswith("["):  # [IPv6]:port
        end = host.find("]")
        literal = host[1:end] if end > 0 else ""
        try:
            ipaddress.ip_address(literal.split("%", 1)[0])
        except ValueError:
            return False
        return True
    name, sep, port = host.rpartition(":")
    if not sep or not port.isdigit():
        name = host
    name = name.rstrip(".")
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    return name == "localhost" or name in names
