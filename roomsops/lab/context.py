"""What every protocol handler of a running lab shares: the tenant, keys, counts, faults and options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from roomsops.lab.faults import CmdletGate, FaultBook, RequestCounter
from roomsops.lab.pki import LabPki
from roomsops.lab.tenant import Tenant

LOOPBACK = "127.0.0.1"


@dataclass
class LabOptions:
    """Runtime switches; latency and delays may be changed while the lab runs (POST /lab/settings)."""

    latency_ms: int = 0
    policy_delay: float = 0.0  # seconds before a changed application access policy applies to EWS
    device_code_interval: int = 5  # the `interval` the device authorization answers with
    expired_tls: bool = False
    save_interval: float = 0.0  # tenant.json: 0 = written on every change; > 0 = at most once per interval
    room_answer_delay: float = 5.0  # seconds before a room's resource booking attendant answers (0: at once)
    # seconds before a failed Graph change notification's first retry, doubling (unverified: Graph retries for hours)
    notification_back_off: float = 0.5  # POST /lab/settings notification_back_off, 0 through 60


@dataclass
class LabContext:
    dir: Path
    tenant: Tenant
    pki: LabPki
    counter: RequestCounter
    faults: FaultBook
    options: LabOptions
    port: int
    # The admin API's bearer token: random per run, written to lab.json (0600) for the user who started the lab.
    admin_token: str = ""
    # Holds the answer of named cmdlets once they ran (POST /lab/cmdlet-gate): interruptions tested without timing.
    cmdlet_gate: CmdletGate = field(default_factory=CmdletGate)

    @property
    def base_url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    @property
    def hosts(self) -> tuple[str, ...]:
        """The host[:port] forms clients may use for this lab (the certificate covers both)."""
        return (f"{LOOPBACK}:{self.port}", f"localhost:{self.port}")

    @property
    def resources(self) -> tuple[str, ...]:
        """The Exchange resource identifiers of this lab (what `<resource>/.default` may name)."""
        return tuple(f"https://{host}" for host in self.hosts)

    def public_base(self, host_header: str | None) -> str:
        """The base URL as the client addressed us, so discovery documents point back the same way."""
        if host_header and host_header.lower() in self.hosts:
            return f"https://{host_header.lower()}"
        return self.base_url
