"""Request counts and injected faults, shared by every protocol of the lab (see /lab/requests, /lab/faults)."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from roomsops.lab.web import FAULT_KINDS

#: "cmdlet" is no wire protocol: its operation is a cmdlet's name, and its one kind (CMDLET_ERROR) makes that one
#: statement of a WinRM pipeline write a transient Exchange error while the others run (cmdlets/runner.py).
FAULT_PROTOCOLS = ("token", "ews", "wsman", "graph", "cmdlet")
CMDLET_ERROR = "cmdlet_error"


class RequestCounter:
    """Thread-safe counts under keys like `token:client_credentials`, `ews:GetFolder`, `cmdlet:Get-Mailbox`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass
class Fault:
    id: int
    protocol: str
    operation: str  # an operation as counted, or "*"
    kind: str
    back_off_ms: int
    count: int  # how many matching requests it was set for
    remaining: int

    def matches(self, protocol: str, operation: str) -> bool:
        return self.protocol == protocol and self.operation in ("*", operation)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultError(ValueError):
    """A fault specification the admin API refuses (HTTP 400)."""


class FaultBook:
    """Faults waiting for their next matching requests; each applies to exactly `count` of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, protocol: str, operation: str, kind: str, back_off_ms: int = 0, count: int = 1) -> Fault:
        if protocol not in FAULT_PROTOCOLS:
            raise FaultError(f"protocol must be one of {', '.join(FAULT_PROTOCOLS)}")
        if kind not in (*FAULT_KINDS, CMDLET_ERROR):
            raise FaultError(f"kind must be one of {', '.join((*FAULT_KINDS, CMDLET_ERROR))}")
        if (protocol == "cmdlet") != (kind == CMDLET_ERROR):
            raise FaultError(f'kind {CMDLET_ERROR} goes with protocol "cmdlet", and only it')
        if not operation:
            raise FaultError('operation must be an operation name as counted, or "*"')
        if count < 1:
            raise FaultError("count must be at least 1")
        if back_off_ms < 0:
            raise FaultError("back_off_ms must not be negative")
        with self._lock:
            fault = Fault(next(self._ids), protocol, operation, kind, back_off_ms, count, count)
            self._faults.append(fault)
            return fault

    def take(self, protocol: str, operation: str) -> Fault | None:
        """The first fault matching this request, used up by one; None when no fault applies."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(protocol, operation):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return Fault(**asdict(fault))
        return None

    def active(self) -> list[Fault]:
        with self._lock:
            return [Fault(**asdict(f)) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


#: How long a cmdlet held at the gate waits at most before it answers (a forgotten gate cannot hang the lab).
CMDLET_GATE_BOUND = 120.0


class CmdletGate:
    """Holds the answer of the named cmdlets after they ran (their change is made), until opened: a test can
    interrupt a client deterministically while such a cmdlet is under way (POST /lab/cmdlet-gate).

    The state counts what a test waits for instead of sleeping: `held` cmdlets, `received` Receive requests
    that arrived for a held pipeline (the client has its Command answer and waits in Receive: a Ctrl-C stops
    the pipeline), and `stopped` holds the client ended by stopping the pipeline (its Ctrl-C reached the lab)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = threading.Event()
        self._open.set()
        self._names: frozenset[str] = frozenset()
        self._held = 0
        self._received = 0
        self._stopped = 0
        self._holding: list[threading.Event] = []  # the stop events of the pipelines held now

    def close(self, names: frozenset[str]) -> None:
        with self._lock:
            self._names = frozenset(n.casefold() for n in names)
            self._held = self._received = self._stopped = 0
            self._open.clear()

    def open(self) -> None:
        with self._lock:
            self._names = frozenset()
        self._open.set()

    def hold(self, cmdlet: str, stop: threading.Event) -> None:
        """Wait (bounded) while the gate is closed for `cmdlet`, or until the client stops the pipeline."""
        with self._lock:
            if self._open.is_set() or cmdlet.casefold() not in self._names:
                return
            self._held += 1
            self._holding.append(stop)
        try:
            for _ in range(int(CMDLET_GATE_BOUND / 0.05)):
                if self._open.wait(0.05):
                    return
                if stop.is_set():
                    with self._lock:
                        self._stopped += 1
                    return
        finally:
            with self._lock:
                self._holding.remove(stop)

    def receiving(self, stop: threading.Event) -> None:
        """A Receive arrived for the pipeline whose stop event is `stop`; counted when that pipeline is held."""
        with self._lock:
            if any(held is stop for held in self._holding):
                self._received += 1

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "open": self._open.is_set(),
                "cmdlets": sorted(self._names),
                "held": self._held,
                "received": self._received,
                "stopped": self._stopped,
            }
