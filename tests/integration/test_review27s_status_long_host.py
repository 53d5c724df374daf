"""review27s: `sync status` on a host whose name is longer than about 20 characters (a Kubernetes pod, a fully
qualified host name) reports a running named worker as interrupted ("killed or crashed", exit 1): the worker's
database session names its holder in application_name, which roomsops cuts to 63 bytes (PostgreSQL's limit) after
`roomsops-worker|PID|SINCE|`, so the host read back from pg_locks is a prefix of the host its summary file says,
and the two never match. A monitor pages for every healthy worker on such hosts.

Real parts: the lab over TLS (its Graph gate holds the worker's create: provably mid-batch, not timed), the
PostgreSQL server of tests/postgres.py, the worker as a subprocess whose host name is a pod's (sitecustomize sets
socket.gethostname in that process only)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, finished, graph_throttle, setup_persons, start_worker, until

pytestmark = pytest.mark.integration

POD = "roomsops-worker-7d9f8c6b5-x2k4q.rooms-sync.svc.cluster.local"


@ON_POSTGRESQL
def test_review27s_sync_status_judges_a_running_worker_on_a_long_host_name_running(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path, sync_mode="Microsoft365")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(f"import socket\nsocket.gethostname = lambda: {POD!r}\n")
    pod_env = env | {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    worker = start_worker(pod_env, "--batch", "1", "--name", "a")
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, worker)  # the worker mid-batch, alive
        status = invoke("--json", "sync", "status", env=env)
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        code, doc = finished(worker)
    assert code == 0, doc
    [running] = json.loads(status.out)["workers"]
    assert running["pid"] == worker.pid and running.get("host") in (None, POD), running  # the pod's summary
    assert running["run_state"] == "running", running  # actual: "interrupted" (killed or crashed)
