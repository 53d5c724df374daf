"""review20g: `sync purge --person ROOM` (issue 20 Deliver 7, round 6's `_primary`), against the lab.

`sync purge --person` takes a person's address or an alias of one (resolved with EWS ResolveNames). A room's
address is no person: `sync diff --person` and `sync --person` refuse it (exit 2, "is a room, not a person"), and
so does `sync purge` in a tenant where no person is synced over EWS (`_refuse_unknown_in(..., ask_exchange=False)`
knows the rooms). But with a person synced over EWS, ResolveNames answers the room's own primary address, which
`_primary` returns as if it were a person's: the purge then looks for meetings the room organized, finds none and
says "no meetings" with exit 0 — although the administrator named a room whose slots hold the persons' meetings,
and nothing at all was purged or held back.

Why it is wrong: the bad-input contract (style.md, the brief: bad input is one line `Error: <problem> — <remedy>`,
exit 2, nothing changed); issue 20 item 8 ("with an alias says 'no meetings' (exit 0) although there are some");
the same address is refused by `sync diff --person` and `sync --person` (docs/sync.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def test_purge_of_a_room_address_is_refused_as_a_room(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: Zürich is a ROOMS room; DiegoS (O365) has booking 1 in Zürich, synced. `sync purge --person
    <Zürich's address> --dry-run`, then `sync diff --person <Zürich's address>` for comparison.
    Expected: exit 2, the error names Zürich as a room, not a person (as `sync diff --person` does)."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    start = DAY + timedelta(hours=2)
    add_hour_booking(invoke, env, diego, zurich, start, "Planning")
    ok(invoke("sync", env=env))
    diff = invoke("sync", "diff", "--person", zurich, env=env)
    assert diff.code == 2 and "is a room" in diff.err, (diff.code, diff.out, diff.err)  # the reference

    run = invoke("sync", "purge", "--person", zurich, "--dry-run", env=env)
    assert (run.code, "is a room" in run.err) == (2, True), (run.code, run.out, run.err)
