"""Outlook's limits on Graph, per app and mailbox (graph/throttling-limits, "Outlook service limits"): at most 4
requests at once and 10,000 requests per 10 minutes; beyond either, 429 with Retry-After.

The gate lets tests hold requests inside the limit deterministically: while it is closed, a request that got its
slot waits (the admin API shows how many wait) until it opens; never a matter of timing. Closed for some operations
only (e.g. `events.create`), it holds those and lets the others go: a test can hold one chosen write.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from roomsops.lab.graph.errors import THROTTLED, GraphError

CONCURRENCY = 4
RATE_LIMIT = 10_000
RATE_WINDOW = 600.0
RETRY_AFTER_CONCURRENCY = 1  # seconds (unverified: Graph names its own value per answer)
#: How long a held request waits at most for the gate before it goes on (a forgotten gate cannot hang the lab).
GATE_BOUND = 120.0


class Throttle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str], int] = collections.defaultdict(int)
        self._recent: dict[tuple[str, str], collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._open = threading.Event()
        self._open.set()
        self._waiting = 0
        self._held_operations: frozenset[str] | None = None  # None: the closed gate holds every operation
        self.rate_limit = RATE_LIMIT
        self.throttled = 0  # answers 429 given so far

    @contextmanager
    def slot(self, app_id: str, mailbox_id: str, operation: str = "") -> Iterator[None]:
        """Hold one of the app's concurrent requests to the mailbox for the block; 429 (GraphError) beyond."""
        key = (app_id.casefold(), mailbox_id)
        now = time.monotonic()
        with self._lock:
            recent = self._recent[key]
            while recent and recent[0] <= now - RATE_WINDOW:
                recent.popleft()
            if len(recent) >= self.rate_limit:
                self.throttled += 1
                wait = max(1, int(recent[0] + RATE_WINDOW - now) + 1)
                raise GraphError(
                    429,
                    THROTTLED,
                    "Application is over its IncomingRequests limit.",
                    [("Retry-After", str(wait))],
                )
            if self._active[key] >= CONCURRENCY:
                self.throttled += 1
                raise GraphError(
                    429,
                    THROTTLED,
                    "Application is over its MailboxConcurrency limit.",
                    [("Retry-After", str(RETRY_AFTER_CONCURRENCY))],
                )
            recent.append(now)
            self._active[key] += 1
        try:
            self._pass_gate(operation)
            yield
        finally:
            with self._lock:
                self._active[key] -= 1

    def _pass_gate(self, operation: str) -> None:
        if self._open.is_set():
            return
        held = self._held_operations
        if held is not None and operation not in held:
            return
        with self._lock:
            self._waiting += 1
        try:
            self._open.wait(GATE_BOUND)
        finally:
            with self._lock:
                self._waiting -= 1

    def hold_if_named(self, operation: str) -> None:
        """A request outside the throttling slots (`subscriptions.*`): held by a closed gate only when the gate names
        its operation (a gate closed for every operation lets it go on, as before)."""
        if self._held_operations is not None:
            self._pass_gate(operation)

    def close_gate(self, operations: frozenset[str] | None = None) -> None:
        """Hold the requests of `operations` (e.g. `events.create`), or of every operation when None."""
        self._held_operations = operations
        self._open.clear()

    def open_gate(self) -> None:
        self._held_operations = None
        self._open.set()

    def state(self) -> dict[str, object]:
        with self._lock:
            return {
                "gate": "open" if self._open.is_set() else "closed",
                "gate_operations": sorted(self._held_operations)
                if self._held_operations is not None
                else None,
                "waiting": self._waiting,
                "active": sum(self._active.values()),
                "throttled": self.throttled,
                "rate_limit": self.rate_limit,
            }

    def reset(self) -> None:
        with self._lock:
            self._recent.clear()
            self.throttled = 0
            self.rate_limit = RATE_LIMIT
        self._open.set()
