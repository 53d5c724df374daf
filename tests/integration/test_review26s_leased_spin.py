"""review26s: on PostgreSQL, while a killed sync worker's lease on a mailbox is still live, `roomsops serve` runs
round after round with no wait at all. `_passes` drops the leased mailboxes ("they wait for the next round") but
neither marks them tried nor backs off, so they stay due, `seconds_to_next` is 0 and the next round starts at once:
for as long as the lease lives (`sync.worker_lease`, 600 s by default) the scheduler spins, each round reading the
database several times and logging a warning. The run lock's refusal has a back-off (review26); this refusal has
none.

In this process against the lab and the test's PostgreSQL database: one person synced once by a worker, their
lease then made another (killed) worker's by SQL, their last pass two hours ago (due). The service's wake-up
event records the timeout the scheduler asks for between rounds and returns at once: no timing is measured."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from roomsops.adapters import store as db
from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings
from roomsops.adapters.ews.client import EwsClient
from roomsops.core.logs import AuditLog
from roomsops.core.settings import app_settings_path, load_settings
from roomsops.services.serve.service import Serve
from roomsops.services.sync.factory import calendar_backend
from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, sql
from .test_review26s_round_errors import RecordedWaits
from .test_review27d_workers import LEASED_BY_ANOTHER, synced_once

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review26s_serve_waits_between_rounds_while_a_mailbox_is_leased(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    from roomsops.cli.sync import lock_path

    (person,) = synced_once(invoke, env, fresh_lab, addr, 1, tmp_path)
    assert sql(env, LEASED_BY_ANOTHER, person) == [(person,)]
    sql(env, "UPDATE mailbox_sync SET last_pass_utc = now() AT TIME ZONE 'UTC' - interval '2 hours'")
    settings = load_settings(environ={**os.environ, **env, "ROOMSOPS_SERVE_EWS_INTERVAL": "3600"})
    credentials = credentials_from_app_settings(app_settings_path(None, settings, {}), settings, os.environ)
    tokens = TokenProvider(credentials, settings)
    ews = EwsClient(settings, tokens)

    def open_backend(persons: list[tuple[str, str]], services: dict[str, str]) -> Any:
        return calendar_backend(settings, ews, persons, services)

    store = db.open_store(env["ROOMSOPS_ROOMS_DATABASE"])
    waits = RecordedWaits()
    serve = Serve(
        settings,
        store,
        AuditLog(None),
        lock_path(settings),
        open_backend,
        tokens.token,
        max_ticks=3,
        wake=waits,
    )
    serve.run()
    text = serve.metrics.text().decode()
    assert serve.ticks == 3 and "roomsops_serve_passes_total{" not in text  # no pass: the mailbox is leased
    # Between the rounds the scheduler waits (a back-off, or the interval), never 0 s.
    assert len(waits.asked) == 2 and all((t or 0) >= 1 for t in waits.asked), waits.asked
