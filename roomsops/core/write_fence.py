"""The check a calendar write request must pass before it is sent (issue 27.3, review27): a sync worker's lease.

A sync worker proves its lease on a mailbox right before each calendar write (`services/sync/fence.py`). One write
of the port may be several requests, each with a retry budget of its own: a series' master and then each of its
exceptions, a create sent again after a conflict, a $batch per 20 creates. Together they may outlast the lease, so
the EWS and Graph clients ask `before_write()` before each write request they send (not before a resend of the same
request after a throttling wait: that is within one write's longest time, which the lease outlasts). The check is
the current thread's (`checking`: a pass and its writes run on one thread); without one nothing is checked (a plain
sync, every other command).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local = threading.local()


@contextmanager
def checking(check: Callable[[], None]) -> Iterator[None]:
    """Run `check` before each write request this thread sends in the block (it raises to stop the request)."""
    previous = getattr(_local, "check", None)
    _local.check = check
    try:
        yield
    finally:
        _local.check = previous


def before_write() -> None:
    """Called by a client right before it sends a write request: the current check, if any (it may raise)."""
    check = getattr(_local, "check", None)
    if check is not None:
        check()
