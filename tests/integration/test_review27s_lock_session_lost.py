"""review27s: on PostgreSQL the sync's run lock is a session advisory lock held by a connection of its own that stays
idle for the whole run. Whatever ends that one idle session — `idle_session_timeout`, a firewall or load balancer
dropping idle TCP connections (Azure's 4 minutes), an administrator's pg_terminate_backend — releases the lock
while the plain `sync` goes on working over its pool's other connections: it never asks whether it still holds it
(the check `run_lock` yields is used by sync workers only). The next scheduled `sync` then takes the lock and
works the same mailboxes at once: both send the same create, a duplicate meeting.

Real parts: the lab over TLS (its Graph gate holds both syncs' creates: provably both mid-pass at once, not timed),
the PostgreSQL server of tests/postgres.py, both syncs as subprocesses; the lock's session ended by
pg_terminate_backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, graph_throttle, meetings, setup_persons, sql, until

pytestmark = pytest.mark.integration


def _sync(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "roomsops", "sync", "--concurrency", "1"],
        env=os.environ | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@ON_POSTGRESQL
def test_review27s_a_plain_sync_whose_lock_session_ended_does_not_run_beside_the_next(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    [person] = setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    first = _sync(env)
    second: subprocess.Popen[str] | None = None
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, first)  # the first sync mid-pass
        ended = sql(
            env,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
            f"roomsops-sync|{first.pid}|%",
        )
        assert ended == [(True,)], ended  # its lock's idle session, and only that one
        second = _sync(env)
        until(lambda: second.poll() is not None or graph_throttle(fresh_lab)["waiting"] >= 2)
        both_writing = second.poll() is None
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        outs = [p.communicate(timeout=120) for p in (first, second) if p is not None]
    # actual: both syncs' creates waited at the gate together, and the booking's meeting is there twice
    assert not both_writing, (meetings(fresh_lab, person), outs)


@ON_POSTGRESQL
def test_review27s_a_plain_sync_that_lost_its_run_lock_sends_no_further_write_and_exits_1(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    """The fence of a plain sync (`core/write_fence.py`): its run lock is asked before each write request; the
    create already sent when the lock's session ends is answered, the next mailbox's create is never sent."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    people = setup_persons(invoke, env, fresh_lab, addr, 2, tmp_path, sync_mode="Microsoft365")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    first = _sync(env)
    try:
        until(lambda: graph_throttle(fresh_lab)["waiting"] >= 1, first)  # its first mailbox's create, held
        ended = sql(
            env,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
            f"roomsops-sync|{first.pid}|%",
        )
        assert ended == [(True,)], ended
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        out, err = first.communicate(timeout=120)
    assert first.returncode == 1, (out, err)
    assert "lost its run lock" in err, err
    made = [meetings(fresh_lab, person) for person in people]
    assert sorted(len(m) for m in made) == [0, 1], made  # the create in flight only
