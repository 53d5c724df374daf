"""Who wants to know of each calendar service request and throttling wait (`roomsops serve`'s `/metrics`).

The EWS and Graph clients report here: `requested(protocol, operation)` before each request is sent (a request
sent again counts again) and `throttled(protocol, seconds)` before each wait the server asked for (429/503,
ErrorServerBusy). Nobody listens unless `observe` was called; the clients' own per-thread counts (a pass's
`requests`) are unaffected. Operations are bounded names (an EWS operation element, the Graph client's name for
what it does), never an address, an id or a secret."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

OnRequest = Callable[[str, str], None]  # (protocol, operation)
OnThrottled = Callable[[str, float], None]  # (protocol, seconds waited)

_lock = threading.Lock()
_on_request: list[OnRequest] = []
_on_throttled: list[OnThrottled] = []
#: what an operation name may be (anything else is counted as "other": labels stay few and hold no data)
_NAME = re.compile(r"^[A-Za-z$][A-Za-z0-9 $_-]{0,47}$")


def observe(on_request: OnRequest, on_throttled: OnThrottled) -> Callable[[], None]:
    """Register both callbacks (called from any thread; they must be quick and never raise); returns the undo."""
    with _lock:
        _on_request.append(on_request)
        _on_throttled.append(on_throttled)

    def forget() -> None:
        with _lock:
            if on_request in _on_request:
                _on_request.remove(on_request)
            if on_throttled in _on_throttled:
                _on_throttled.remove(on_throttled)

    return forget


def operation_name(name: str) -> str:
    return name if _NAME.match(name) else "other"


def requested(protocol: str, operation: str) -> None:
    if not _on_request:
        return
    name = operation_name(operation)
    with _lock:
        callbacks = list(_on_request)
    for callback in callbacks:
        callback(protocol, name)


def throttled(protocol: str, seconds: float) -> None:
    if not _on_throttled:
        return
    with _lock:
        callbacks = list(_on_throttled)
    for callback in callbacks:
        callback(protocol, seconds)
