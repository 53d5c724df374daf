"""review26e: a `missed` lifecycle notification (graph/webhooks-lifecycle: Graph dropped notifications; "run a full
delta") whose full pass fails. Against the lab with serve started as a process; serve.graph_interval is an hour, so
every pass after the first is scheduled by a notification."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .helpers import serve_started
from .test_lab_graph import event, graph_client
from .test_serve_lab import DAY, metrics, passes, stopped, wait_for
from .test_serve_webhook_lab import subscriptions, webhook

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


def test_review26e_a_failed_full_pass_after_missed_is_full_again(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    """DiegoS over Graph with nothing to write (so his first pass makes no change notification): every pass after
    his first is one a notification asked for, the test's own."""
    diego = addr("DiegoS")
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    process, _, url = serve_started(env, tmp_path, stopped, **webhook(fresh_lab))
    wait_for(lambda: passes(metrics(url), diego) >= 1 and subscriptions(fresh_lab), process)
    (sub,) = subscriptions(fresh_lab)
    full = ("roomsops_serve_full_passes_total", (("mailbox", diego),))
    failed = ("roomsops_serve_passes_total", (("mailbox", diego), ("result", "failed"), ("service", "graph")))

    # Graph is down for the pass `missed` brings (every request answered 500: a read is sent again twice, 1.5 s of
    # back-off, and fails; a bare 503 would be waited out for the client's 60 s retry budget, 30 s of sleep)
    fresh_lab.fault(protocol="graph", operation="*", kind="http_500", count=1000)
    lifecycle = f"graph/subscriptions/{sub['id']}/lifecycle"
    assert fresh_lab.admin("POST", lifecycle, json={"event": "missed"}).status_code == 200
    wait_for(lambda: metrics(url).get(failed, 0.0) >= 1, process)
    fresh_lab.clear_faults()
    before = metrics(url).get(full, 0.0)  # (whether the failed pass counted as full or not)

    # Graph is back; Diego makes a meeting in Outlook, which notifies: its pass is the full one still owed
    done = passes(metrics(url), diego)
    made = graph_client(fresh_lab).post(
        f"/users/{diego}/events",
        event("After missed", f"{DAY:%Y-%m-%d}T14:00:00", f"{DAY:%Y-%m-%d}T15:00:00"),
    )
    assert made.status_code == 201, made.text
    wait_for(lambda: passes(metrics(url), diego) >= done + 1, process)
    assert metrics(url).get(full, 0.0) >= before + 1
