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

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def live(lab: Any, mailbox: str, organizer: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == organizer.lower() and not i["is_cancelled"]]


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_purge_cancels_a_series_whose_first_occurrence_is_over(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: Zürich is a ROOMS room; DiegoS (`mode`) has booking 1 made in ROOMS, "Standup" daily from two days ago,
    six occurrences (the last three days ahead); one pass writes the series; the room answers. Then `sync purge
    --person DiegoS --dry-run`, and `sync purge --person DiegoS --yes` (no pass after it).
    Expected: the dry run lists "Standup"; the purge cancels it: DiegoS's calendar and Zürich's hold no live
    Standup. Actual: both say "no meetings of this installation"; the series stays live in both calendars."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    start = TODAY - timedelta(days=2) + timedelta(hours=8)
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            diego,
            "--room",
            zurich,
            "--start",
            start.isoformat(),
            "--end",
            (start + timedelta(hours=1)).isoformat(),
            "--title",
            "Standup",
            "--daily",
            "--count",
            "6",
            "--allow-past",
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    assert [i["subject"] for i in live(fresh_lab, diego, diego)] == ["Standup"]  # the series is in Exchange
    assert len(live(fresh_lab, zurich, diego)) == 1  # and the room holds it (its subject: the organizer)

    dry = ok(invoke("sync", "purge", "--person", diego, "--dry-run", env=env))
    purged = ok(invoke("sync", "purge", "--person", diego, "--yes", env=env))
    assert (
        "Standup" in dry.out,
        "Standup" in purged.out,
        live(fresh_lab, diego, diego),
        live(fresh_lab, zurich, diego),
    ) == (True, True, [], []), (dry.out, purged.out)
