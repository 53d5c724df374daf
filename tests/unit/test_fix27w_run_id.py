"""fix27w: `sync status` tells the process that wrote a summary by its run id, and still reads what an earlier
version wrote (a summary without `run_id`, a lock holder named `roomsops-worker|PID|SINCE|HOST`)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from roomsops.adapters.store.runlock import holder_name, parse_holder
from roomsops.core.run_id import run_id
from roomsops.services.diagnose.sync_status import read_status

SINCE = "2026-12-04T16:00:00Z"
POD = "roomsops-worker-7d9f8c6b5-x2k4q.rooms-sync.svc.cluster.local"


def worker_state(tmp_path: Path, summary: dict[str, object], holder_names: list[str]) -> str | None:
    path = tmp_path / "last-sync.worker-a.json"
    doc = {"started": "2026-12-04T16:00:00+00:00", "ok": False, "running": True, "mailboxes": []} | summary
    path.write_text(json.dumps(doc), encoding="utf-8")
    status = read_status(
        tmp_path / "last-sync.json",
        tmp_path / "last-sync.person.json",
        None,
        now=datetime(2026, 12, 4, 16, 5, tzinfo=UTC),
        workers=[("a", path)],
        holders=lambda: [parse_holder(n) for n in holder_names],
    )
    return status.workers[0].run_state


def test_fix27w_the_run_id_survives_the_cut_of_a_long_host_name() -> None:
    name = holder_name("worker")
    assert len(name.encode()) <= 63
    held = parse_holder(name)
    assert (held["run"], held["pid"], held["kind"]) == (run_id(), os.getpid(), "worker")
    assert "|" not in run_id() and len(run_id()) >= 8


def test_fix27w_a_replica_of_the_same_pid_and_host_prefix_is_not_the_worker_that_wrote_the_summary(
    tmp_path: Path,
) -> None:
    summary = {"pid": 1, "host": POD, "run_id": "AAAAAAAA"}
    replica = f"roomsops-worker|1|{SINCE}|BBBBBBBB|{POD}"[:63]
    itself = f"roomsops-worker|1|{SINCE}|AAAAAAAA|{POD}"[:63]
    assert worker_state(tmp_path, summary, [replica]) == "interrupted"
    assert worker_state(tmp_path, summary, [replica, itself]) == "running"


def test_fix27w_an_earlier_versions_summary_and_holder_are_matched_by_pid_and_host(tmp_path: Path) -> None:
    old_holder = f"roomsops-worker|1|{SINCE}|{POD}"[:63]
    assert parse_holder(old_holder)["run"] is None
    assert parse_holder(old_holder)["host"] == POD[: 63 - len(f"roomsops-worker|1|{SINCE}|")]
    assert worker_state(tmp_path, {"pid": 1, "host": POD}, [old_holder]) == "running"
    assert worker_state(tmp_path, {"pid": 2, "host": POD}, [old_holder]) == "interrupted"
    # a summary of this version, a holder of an earlier one (or the other way round): pid and host decide
    assert worker_state(tmp_path, {"pid": 1, "host": POD, "run_id": "AAAAAAAA"}, [old_holder]) == "running"
    new_holder = f"roomsops-worker|1|{SINCE}|BBBBBBBB|{POD}"[:63]
    assert worker_state(tmp_path, {"pid": 1, "host": POD}, [new_holder]) == "running"
