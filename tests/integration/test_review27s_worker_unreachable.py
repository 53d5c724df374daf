"""review27s: a sync worker that cannot reach Exchange at all (every mailbox of its batch unreachable: a wrong
cloud.graph_url, a firewall, a proxy that refuses) exits 1, "a mailbox failed", where a plain `sync` in the same
condition exits 3 ("cannot reach Microsoft Graph": cli/sync.py turns a pass whose every mailbox was unreachable into
a ConnectError; `_run_worker` does not). Exit codes: 3 is could not connect. A scheduler or monitor that tells a
network outage from a sync failure by the exit code sees the wrong one from every worker.

Real parts: the lab over TLS (its token service), the PostgreSQL server of tests/postgres.py, Graph pointed at a
port where nothing listens; the CLI in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, setup_persons, sql

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review27s_a_worker_that_cannot_reach_graph_at_all_exits_3_as_a_plain_sync(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    setup_persons(invoke, env, fresh_lab, addr, 2, tmp_path, sync_mode="Microsoft365")
    nowhere = env | {"ROOMSOPS_CLOUD_GRAPH_URL": "https://127.0.0.1:1"}
    worker = invoke("sync", "--worker", "--until-idle", env=nowhere)
    assert "cannot reach Microsoft Graph" in worker.out + worker.err, worker.out + worker.err
    assert sql(env, "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NOT NULL") == [(0,)]
    plain = invoke("sync", env=nowhere)
    assert plain.code == 3, plain.out + plain.err  # the plain sync's verdict on the same condition
    assert worker.code == 3, worker.out + worker.err  # actual: 1
