"""A test hook: every answer the lab's EWS gives while a `capture()` block is open, recorded server-side.

Tests validate each captured SOAP body against Microsoft's schema. Labs run in the test process, so a
process-wide registry reaches the server threads; outside tests nothing listens and recording costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Captured:
    operation: str
    status: int
    content_type: str
    body: bytes


class ResponseLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Captured] = []

    def add(self, entry: Captured) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[Captured]:
        with self._lock:
            return list(self._entries)


_listeners: list[ResponseLog] = []
_listeners_lock = threading.Lock()


@contextmanager
def capture() -> Iterator[ResponseLog]:
    log = ResponseLog()
    with _listeners_lock:
        _listeners.append(log)
    try:
        yield log
    finally:
        with _listeners_lock:
            _listeners.remove(log)


def record(operation: str, status: int, content_type: str, body: bytes) -> None:
    with _listeners_lock:
        listeners = list(_listeners)
    for log in listeners:
        log.add(Captured(operation, status, content_type, body))
