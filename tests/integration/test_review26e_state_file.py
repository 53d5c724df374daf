"""review26e: where `roomsops serve` keeps its Graph subscriptions (rooms.db.serve-subscriptions.json beside an SQLite
database; in the data folder for a server database) when two installations share a data folder, as the sync
summary allows (`roomsops-last-sync-<digest>.json`, one per database). Against the lab's Graph with serve's
`Subscriptions` in this process (as test_review26a_subscriptions)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .test_review26a_subscriptions import subs_of
from .test_serve_webhook_lab import subscriptions

pytestmark = pytest.mark.integration
__all__ = ["subs_of"]  # the fixture, used by name


def state_file(lab: Any, data: Path, database: str) -> Path:
    """Where `roomsops serve` keeps its subscriptions for these settings (as `serve` works it out)."""
    from roomsops.cli.sync import lock_path
    from roomsops.core.settings import load_settings
    from roomsops.services.serve.run import subscriptions_file

    settings = load_settings(
        str(lab.settings_path), environ={"ROOMSOPS_ROOMS_DATABASE": database, "ROOMSOPS_DATA_DIR": str(data)}
    )
    return subscriptions_file(settings, lock_path(settings))


def test_review26e_two_databases_in_one_data_folder_keep_their_subscriptions_apart(
    fresh_lab: Any, addr: Callable[[str], str], subs_of: Callable[..., Any], tmp_path: Path
) -> None:
    """Production and staging on one PostgreSQL server (two databases, one Entra app, one data folder; each its
    own webhook URL). Staging's service starts with no Graph mailbox: it must leave production's subscription
    alone (it is not named by any file of staging's)."""
    from roomsops.cli.sync import summary_path
    from roomsops.core.settings import load_settings

    urls = {
        name: f"postgresql+psycopg://roomsops@127.0.0.1:5432/{name}" for name in ("production", "staging")
    }
    files = {name: state_file(fresh_lab, tmp_path, url) for name, url in urls.items()}
    summaries = {
        name: summary_path(
            load_settings(
                str(fresh_lab.settings_path),
                environ={"ROOMSOPS_ROOMS_DATABASE": url, "ROOMSOPS_DATA_DIR": str(tmp_path)},
            )
        )
        for name, url in urls.items()
    }
    assert summaries["production"] != summaries["staging"]  # the sync already tells them apart

    diego, now = addr("DiegoS"), [datetime.now(UTC)]
    production = subs_of(now, "/production", files["production"])
    assert production.keep([diego]) == [diego]
    (made,) = subscriptions(fresh_lab)
    staging = subs_of(now, "/staging", files["staging"])
    staging.keep([])  # its first round: nothing of its own to subscribe, none of its own left over
    assert [s["id"] for s in subscriptions(fresh_lab)] == [made["id"]]


def test_review26e_a_subscription_made_before_the_listing_worked_is_not_deleted_as_left_over(
    fresh_lab: Any, addr: Callable[[str], str], subs_of: Callable[..., Any], tmp_path: Path
) -> None:
    """The first round's GET /subscriptions fails (Graph 503, past the client's retries): the Graph mailbox is
    subscribed all the same (subscriptions.py: "new subscriptions are made anyway"); the next round lists them
    and cleans up. Only an earlier process's subscriptions are left over, not the one this process just made.
    The client's back-off before each 503's retry is counted, not slept (30 s of it before the budget ends)."""
    diego, now, waits = addr("DiegoS"), [datetime.now(UTC)], list[float]()
    subs = subs_of(now, "/notify", tmp_path / "rooms.db.serve-subscriptions.json", sleep=waits.append)
    fresh_lab.fault(
        protocol="graph", operation="subscriptions.list", kind="http_503", back_off_ms=0, count=10
    )
    assert subs.keep([diego]) == [diego]  # made, though the listing failed
    assert waits  # the listing was answered 503 and sent again until the retry budget ended
    fresh_lab.clear_faults()
    (made,) = subscriptions(fresh_lab)
    subs.keep([diego])  # the next round: the listing works now
    (sub,) = subs.health()
    assert (sub[0], sub[2]) == (diego, None)  # the service holds Diego subscribed ...
    assert [s["id"] for s in subscriptions(fresh_lab)] == [made["id"]]  # ... and Graph has it
