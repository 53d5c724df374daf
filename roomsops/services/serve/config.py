"""`serve.status_listen` and `serve.status_allow`, read once when `roomsops serve` starts (exit 2 naming the key)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from roomsops.core.errors import InputError
from roomsops.core.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class StatusListen:
    host: str
    port: int
    allow: tuple[Network, ...]


def status_listen(settings: Settings) -> StatusListen:
    return StatusListen(*_host_port(settings), _allowed(settings))


def _host_port(settings: Settings) -> tuple[str, int]:
    label = "serve.status_listen"
    value = settings.serve.status_listen.strip()
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


def _allowed(settings: Settings) -> tuple[Network, ...]:
    label = "serve.status_allow"
    origin = settings.origin(label)
    networks: list[Network] = []
    for part in settings.serve.status_allow.split(","):
        if not part.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise InputError(
                f"{label} in {origin}: {part.strip()!r} is neither an IP address nor a network",
                f"correct {label} in {origin}: comma-separated addresses or networks, e.g. 192.0.2.7, 10.0.0.0/8",
            ) from None
    return tuple(networks)


def client_allowed(address: str, allow: tuple[Network, ...]) -> bool:
    """Loopback always; any other client only when `serve.status_allow` lists its address or network."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or any(ip in network for network in allow)
