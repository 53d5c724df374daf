"""review27: `roomsops sync status` (the check a monitor runs) on an installation worked by sync workers. Real
parts: the lab over TLS (its Graph gate holds the worker's create: provably mid-batch, not timed), the PostgreSQL
server of tests/postgres.py, a worker as a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, graph_throttle, setup_persons, start_worker, until

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_review27_sync_status_beside_a_running_worker_names_it_and_does_not_ask_for_a_plain_sync(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    worker = start_worker(env, "--batch", "1")
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, worker)  # the worker mid-batch
        status = invoke("--json", "sync", "status", env=env)
        said = invoke("sync", "status", env=env)  # the words a person reads
        plain = invoke("sync", env=env)
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        worker.communicate(timeout=120)
    assert plain.code == 1 and "worker" in plain.err, plain.err  # a plain sync is refused beside the worker
    doc = json.loads(status.out)
    # before the fix: "no full run recorded in …: run 'roomsops sync' (and schedule it)"
    assert "'roomsops sync'" not in str(doc["problem"]), doc["problem"]
    assert str(worker.pid) in status.out, status.out  # before the fix: no word of the running worker
    assert status.code == 1 and doc["running_workers"][0]["pid"] == worker.pid, doc  # unjudged: not "ok"
    assert said.code == 1 and f"pid {worker.pid}" in said.out and "--name" in said.out, said.out
