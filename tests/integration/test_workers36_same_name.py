"""review27 (issue 27): two sync workers started with the same `--name` on one host wrote one summary file, each
overwriting the other's, so `sync status` judged whichever wrote last. The second is refused: exit 2 in one line
with a remedy, nothing written; the name is free again once the first has ended.

Real parts: the lab over TLS (its Graph gate holds the first worker's create: provably mid-batch, not timed), the
PostgreSQL server of tests/postgres.py, the first worker as a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, finished, graph_throttle, setup_persons, start_worker, until

pytestmark = pytest.mark.integration


@ON_POSTGRESQL
def test_workers36_a_second_worker_of_a_running_workers_name_is_refused(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    first = start_worker(env, "--batch", "1", "--name", "a")
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, first)  # the worker mid-batch
        [running] = json.loads(invoke("--json", "sync", "status", env=env).out)["workers"]
        summary = Path(running["file"])
        before = summary.read_bytes()
        second = invoke("sync", "--worker", "--name", "a", env=env)
        after = summary.read_bytes()  # before the first ends and writes its own
        other = invoke("--json", "sync", "--worker", "--name", "b", env=env)  # another name runs beside it
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        code, doc = finished(first)
    assert second.code == 2, (second.out, second.err)
    error = one_line_error(second)
    assert "'a'" in error and "running" in error and "--name" in error and f"pid {first.pid}" in error, error
    assert after == before  # the first worker's summary untouched (before the fix: the second's)
    assert running["run_state"] == "running" and running["pid"] == first.pid, running
    assert other.code == 0, (other.out, other.err)
    assert code == 0 and doc["mailboxes"], doc
    ended = summary.read_bytes()  # the first worker's own summary
    again = invoke("--json", "sync", "--worker", "--name", "a", env=env)  # the first ended: its name is free
    assert again.code == 0, (again.out, again.err)
    # The file is the new run's now (its start, not the first's summary; `started` has whole seconds, so the two
    # runs' starts may be equal: the bytes, not the start, tell the first's summary from the new one).
    assert json.loads(summary.read_text())["started"] == json.loads(again.out)["started"]
    assert summary.read_bytes() != ended
