"""review27w: `sync status` reports a killed named worker as running (a false green) while another worker of the same
Kubernetes Deployment runs.

A worker in a container is PID 1 (or another small number, the same in every replica), and a Deployment's pods are
named `DEPLOYMENT-REPLICASET_HASH-SUFFIX`. `sync status` tells a running worker from a killed one by the lock
holders' `application_name` (`roomsops-worker|PID|SINCE|HOST`, cut to 63 bytes: about 24 bytes of host are left)
matched on pid and on the host as a prefix (review27s's fix for long host names). Every replica's session then reads
back as `pid 1` on `roomsops-worker-7d9f8c6b` — the part the pods share — so the summary of a worker killed mid-run
(SIGKILL, OOM, a node lost: its file still says running) is matched by any live replica and judged "running": exit
0, no INTERRUPTED line, for as long as any replica runs. An operator expects the killed worker reported
interrupted (exit 1), as it is where the hosts differ within the 24 bytes (the control, a pod of another
Deployment, pid 1 all the same: interrupted, exit 1).

Real parts: the lab over TLS (its Graph gate holds both workers' creates: provably mid-batch, not timed), the
PostgreSQL server of tests/postgres.py, the two workers as subprocesses, each in a PID namespace of its own
(`unshare --pid`: PID 1, as in a container) with a pod's host name (sitecustomize sets socket.gethostname in that
process only)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, finished, graph_throttle, setup_persons, until, worker_cmd

pytestmark = pytest.mark.integration

A_POD = "roomsops-worker-7d9f8c6b5-x2k4q.rooms-sync.svc.cluster.local"
#: b: a replica of a's Deployment; or (control, passes) a pod of another Deployment, pid 1 all the same
B_PODS = {
    "replica": "roomsops-worker-7d9f8c6b5-m9p7z.rooms-sync.svc.cluster.local",
    "other-deployment": "roomsops-other-5c8d7f9b4-m9p7z.rooms-sync.svc.cluster.local",
}


def start_pod(env: dict[str, str], tmp: Path, name: str, host: str) -> subprocess.Popen[str]:
    """A named worker as PID 1 of a PID namespace of its own, on the pod's host name; killed with its namespace
    when this process is (`--kill-child`)."""
    site = tmp / f"site-{name}"
    site.mkdir()
    (site / "sitecustomize.py").write_text(f"import socket\nsocket.gethostname = lambda: {host!r}\n")
    pod_env = env | {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", *worker_cmd("--batch", "1", "--name", name)],
        env=os.environ | pod_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@ON_POSTGRESQL
@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare (util-linux)")
@pytest.mark.parametrize("b_pod", ["replica", "other-deployment"])
def test_review27w_sync_status_reports_a_killed_replica_interrupted_while_another_replica_runs(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path, b_pod: str
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    setup_persons(invoke, env, fresh_lab, addr, 2, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    a = start_pod(env, tmp_path, "a", A_POD)
    b: subprocess.Popen[str] | None = None
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, a)  # a mid-batch (its create at the gate)
        b = start_pod(env, tmp_path, "b", B_PODS[b_pod])
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 2, b)  # b mid-batch too, on the other mailbox
        a.send_signal(signal.SIGKILL)  # the node lost, the OOM killer: no handler runs
        a.communicate(timeout=60)
        status = invoke("--json", "sync", "status", env=env)
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        if b is not None:
            finished(b)
    doc = json.loads(status.out)
    workers = {w["kind"]: w for w in doc["workers"]}
    killed = workers["worker a"]
    assert killed["pid"] == 1, killed  # PID 1 in its namespace, as in a container
    # actual: "running" (b's session, pid 1 on 'roomsops-worker-7d9f8c6b', matches a's summary), exit 0
    assert (killed["run_state"], status.code) == ("interrupted", 1), (killed, status.code, status.out)
