"""review20h: `sync purge --person` and a ROOMS series whose first occurrence is over (issue 20 Deliver 7, with the
series sync of issue 25 merged since), against the lab, over EWS and over Microsoft Graph.

The purge leaves out "a meeting that is over" by the meeting's own end (`m.fields.end > now`); a recurring meeting's
fields are its first occurrence's, so a series that began two days ago counts as over although four occurrences lie
ahead. `sync purge --dry-run` says "no meetings of this installation", `sync purge --yes` says the same (exit 0)
and cancels nothing: the series stays live in the person's calendar and in the room (holding every future
occurrence, its attendees never told) — it is only the next `roomsops sync` that cancels it, which the purge's
output gave no hint of (an administrator purging a person before removing their mailbox, or without passes
scheduled, keeps the series for ever).

Why it is wrong: issue 20 Deliver 7 ("`--dry-run` lists what it would cancel"; the purge cancels this
installation's meetings); docs/sync.md and the purge's own rule leave out only a meeting that *is over* — for a
series, when its last occurrence is over (`bookings list` 'past': "a series: when its last occurrence is over").
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import live, synced_standup_series

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_purge_cancels_a_series_whose_first_occurrence_is_over(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: Zürich is a ROOMS room; DiegoS (`mode`) has booking 1 made in ROOMS, "Standup" daily from two days ago,
    six occurrences (the last three days ahead); one pass writes the series; the room answers. Then `sync purge
    --person DiegoS --dry-run`, and `sync purge --person DiegoS --yes` (no pass after it).
    Expected: the dry run lists "Standup"; the purge cancels it: DiegoS's calendar and Zürich's hold no live
    Standup. Actual: both say "no meetings of this installation"; the series stays live in both calendars."""
    diego, zurich = synced_standup_series(invoke, fresh_lab, env, addr, mode, days=-2, quiet_pass=False)

    dry = ok(invoke("sync", "purge", "--person", diego, "--dry-run", env=env))
    purged = ok(invoke("sync", "purge", "--person", diego, "--yes", env=env))
    assert (
        "Standup" in dry.out,
        "Standup" in purged.out,
        live(fresh_lab, diego, diego),
        live(fresh_lab, zurich, diego),
    ) == (True, True, [], []), (dry.out, purged.out)
