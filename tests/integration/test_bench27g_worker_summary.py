"""bench27g: `roomsops sync --worker --name NAME` writes a summary file per worker, and `roomsops sync status`
judges them all: a worker running (it holds the database's run lock, shared), one killed mid-batch (its summary
still says running, its session gone from pg_locks), one whose last run is older than --max-age; a bad name is
exit 2 in one line, nothing written.

Real parts: the lab over TLS, the PostgreSQL server of tests/postgres.py, workers as subprocesses; the killed worker
is provably mid-batch (the lab's Graph gate holds its first create), never timed."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, finished, graph_throttle, setup_persons, start_worker, until

pytestmark = pytest.mark.integration


def status(invoke: Invoke, env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any], str]:
    run = invoke("--json", "sync", "status", *extra, env=env)
    plain = invoke("sync", "status", *extra, env=env)
    assert plain.code == run.code, (plain.out, run.out)
    return run.code, json.loads(run.out), plain.out


@ON_POSTGRESQL
def test_bench27g_named_workers_write_summaries_and_sync_status_judges_each(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    people = setup_persons(invoke, env, fresh_lab, addr, 4, tmp_path, sync_mode="Microsoft365")
    # Two named workers share the work: each writes its own summary; no full run is needed where workers run.
    docs = [
        finished(w) for w in [start_worker(env, "--until-idle", "--batch", "1", "--name", n) for n in "ab"]
    ]
    assert [code for code, _ in docs] == [0, 0], docs
    assert sorted(m["mailbox"].lower() for _, d in docs for m in d["mailboxes"]) == sorted(people)
    code, doc, text = status(invoke, env)
    assert code == 0, text
    assert [(w["kind"], w["ok"], w["run_state"]) for w in doc["workers"]] == [
        ("worker a", True, None),
        ("worker b", True, None),
    ], doc
    assert "sync workers: ok (2, 0 running)" in text, text
    summary_a = Path(doc["workers"][0]["file"])
    assert summary_a.name.endswith(".worker-a.json"), summary_a
    assert json.loads(summary_a.read_text())["worker"] == "a"

    # Worker c mid-batch (its first create held by the lab's gate): running, the check passes.
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("bookings", "add", "--organizer", people[0], "--room", addr("room-zurich").lower(), "--title",
              "Late", "--start", "2030-01-07T09:00:00+00:00", "--end", "2030-01-07T09:30:00+00:00", env=env))  # fmt: skip
    ok(invoke("sync", "status", env=env))
    from .test_pg27b_workers import sql

    sql(env, "UPDATE mailbox_sync SET next_run_utc = now() AT TIME ZONE 'UTC' - interval '1 second'")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    try:
        doomed = start_worker(env, "--name", "c", "--batch", "4")
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, doomed)
        code, doc, text = status(invoke, env)
        assert code == 0, text
        states = {w["kind"]: w["run_state"] for w in doc["workers"]}
        assert states == {"worker a": None, "worker b": None, "worker c": "running"}, doc
        assert "sync workers: ok (3, 1 running)" in text, text
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=60)
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
    # Killed: its summary still says running, but no session of it holds the lock any more.
    code, doc, text = status(invoke, env)
    assert code == 1, text
    states = {w["kind"]: w["run_state"] for w in doc["workers"]}
    assert states["worker c"] == "interrupted", doc
    assert "worker c INTERRUPTED" in doc["problem"] and "sync.worker_lease" in doc["problem"], doc
    assert "worker a" not in doc["problem"], doc

    # Worker c runs again (its leases expired, by SQL): ok again; then a worker's last run older than --max-age.
    sql(env, "UPDATE mailbox_sync SET lease_until_utc = now() AT TIME ZONE 'UTC' - interval '1 second'")
    code, again = finished(start_worker(env, "--until-idle", "--name", "c"))
    assert code == 0, again
    assert status(invoke, env, "--max-age", "1h")[0] == 0
    old = json.loads(summary_a.read_text())
    old["started"] = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    summary_a.write_text(json.dumps(old))
    code, doc, text = status(invoke, env, "--max-age", "1h")
    assert code == 1 and "worker a started 180 min ago, longer than --max-age (60 min)" in doc["problem"], doc
    assert "worker b" not in doc["problem"] and "worker c" not in doc["problem"], doc


@ON_POSTGRESQL
def test_bench27g_a_bad_worker_name_is_refused_in_one_line_and_nothing_is_written(
    invoke: Invoke, env: dict[str, str], tmp_path: Path
) -> None:
    ok(invoke("db", "upgrade", env=env))
    for argv, said in (
        (["sync", "--worker", "--name", "a/b"], "is not a worker name"),
        (["sync", "--worker", "--name", "-x"], "is not a worker name"),
        (["sync", "--name", "a"], "belong to --worker"),
    ):
        run = invoke(*argv, env=env)
        assert run.code == 2, (argv, run.out, run.err)
        assert said in one_line_error(run), run.err
    code, doc, _ = status(invoke, env)
    assert doc["workers"] == [] and code == 1  # nothing written: no worker recorded, no full run either
