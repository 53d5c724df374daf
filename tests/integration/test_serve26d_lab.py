"""`roomsops serve` against the lab (issue 26, serve26d): the healing reconciliation on its own schedule, and
/metrics' requests by protocol and operation and throttling waits.

Nothing here measures time: serve.ews_interval is an hour, so each service runs exactly its first round's pass
before the test reads /metrics; which kind of pass it was is counted (the lab's requests, the service's metrics)."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .test_lab_graph import graph_client
from .test_review26a_subscriptions import subs_of
from .test_serve_lab import book, metrics, passes, start, status_url, stopped, wait_for
from .test_serve_webhook_lab import diego_over_graph, subscriptions, title_of, webhook

pytestmark = pytest.mark.integration
__all__ = ["diego_over_graph", "stopped", "subs_of"]  # fixtures, used by name
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def first_round(
    env: dict[str, str],
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    mailbox: str,
    **settings: str,
) -> Samples:
    """Start the service (an hour between passes), read /metrics once `mailbox` had its first pass, stop it
    (SIGTERM: exit 0)."""
    process, err = start(env, tmp_path, ews_interval="3600", graph_interval="3600", **settings)
    stopped.append(process)
    url = status_url(err, process)
    samples: Samples = wait_for(lambda: (s := metrics(url)) and passes(s, mailbox) >= 1 and s, process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0, err.read_text()
    return samples


def synced_once(invoke: Invoke, env: dict[str, str], addr: Callable[[str], str]) -> str:
    """DiegoS over EWS with a booking, synced once by `roomsops sync` (its passes since a full one: 1), two hours
    ago as the database says (a service that was stopped meanwhile): its pass is due when the service starts."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    book(invoke, env, addr, "Healing", 9)
    ok(invoke("sync", env=env))
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        moved = conn.execute(
            "UPDATE mailbox_sync SET last_pass_utc = datetime(last_pass_utc, '-2 hours')"
        ).rowcount
    assert moved == 1
    return addr("DiegoS")


def counted(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.parametrize(
    ("healing", "full_every", "healed", "full"),
    [
        # one pass since the last full one, an hour apart: an hour's healing interval is due at the start
        ("3600", "0", 1, 1),
        # two hours: not yet; and sync.full_every's count (its 2nd pass) no longer makes the service's pass full
        ("7200", "2", 0, 0),
        # 0: no healing schedule, sync.full_every's count decides as for `roomsops sync`
        ("0", "2", 0, 1),
    ],
)
def test_serve_heals_on_its_own_schedule_not_by_sync_full_every(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    healing: str,
    full_every: str,
    healed: int,
    full: int,
) -> None:
    diego = synced_once(invoke, env, addr)
    fresh_lab.reset_requests()
    samples = first_round(
        env | {"ROOMSOPS_SYNC_FULL_EVERY": full_every}, tmp_path, stopped, diego, healing_interval=healing
    )
    assert counted(samples, "roomsops_serve_healing_passes_total", mailbox=diego, result="ok") == healed
    assert counted(samples, "roomsops_serve_full_passes_total", mailbox=diego) == full
    # A full reconciliation looks the tagged meetings up (FindItem); an incremental no-op pass does not.
    assert (fresh_lab.requests().get("ews:FindItem", 0) > 0) == bool(full)


def test_metrics_count_requests_by_protocol_and_operation_and_the_throttling_waits(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    """EWS answers the service's first two SyncFolderItems ErrorServerBusy (BackOffMilliseconds 50): two waits
    counted, the third attempt passes; every request is counted by its operation as the lab counts it."""
    diego = synced_once(invoke, env, addr)
    fresh_lab.reset_requests()
    fresh_lab.fault(protocol="ews", operation="SyncFolderItems", kind="server_busy", back_off_ms=50, count=2)
    samples = first_round(env, tmp_path, stopped, diego, healing_interval="0")
    assert counted(samples, "roomsops_serve_throttle_waits_total", protocol="ews") == 2
    assert counted(samples, "roomsops_serve_throttle_wait_seconds_total", protocol="ews") == pytest.approx(
        0.1
    )
    assert counted(samples, "roomsops_serve_passes_total", mailbox=diego, service="ews", result="ok") == 1
    lab = {k.removeprefix("ews:"): v for k, v in fresh_lab.requests().items() if k.startswith("ews:")}
    ours = {
        dict(labels)["operation"]: v
        for (name, labels), v in samples.items()
        if name == "roomsops_serve_requests_total" and dict(labels)["protocol"] == "ews"
    }
    assert ours["SyncFolderItems"] == 3 and ours == lab
    labels = {v for (name, ls), _ in samples.items() if name.startswith("roomsops_serve_") for _, v in ls}
    secrets = [v for k, v in fresh_lab.app("rooms").items() if "secret" in k and isinstance(v, str) and v]
    assert secrets and not any(s in label for s in secrets for label in labels)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_restarted_service_adopts_its_subscription_and_loses_no_outlook_edit(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    """serve stops (SIGTERM, subscriptions left as they are) and starts again at the same webhook address: the
    subscription and its clientState come back from the private state file, so Graph's subscription is adopted,
    not made again (none left behind), an Outlook edit made while no service ran reaches ROOMS (the pass each
    Graph mailbox gets at the start), and the next edit's notification is accepted with the kept clientState."""
    booking, diego = diego_over_graph, addr("DiegoS")
    settings = {**webhook(fresh_lab), "listen": f"127.0.0.1:{free_port()}"}
    first, err = start(env, tmp_path, **settings)
    stopped.append(first)
    url = status_url(err, first)
    wait_for(lambda: passes(metrics(url), diego) >= 1 and subscriptions(fresh_lab), first)
    (sub,) = subscriptions(fresh_lab)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == 0, err.read_text()
    state = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///") + ".serve-subscriptions.json")
    assert stat.S_IMODE(state.stat().st_mode) == 0o600  # it holds the clientState
    assert [s["id"] for s in json.loads(state.read_text())["subscriptions"]] == [sub["id"]]

    graph = graph_client(fresh_lab)
    (event,) = graph.get(f"/users/{diego}/events").json()["value"]
    edit = graph.patch(f"/users/{diego}/events/{event['id']}", {"subject": "Edited while down"})
    assert edit.status_code == 200

    second, err = start(env, tmp_path, **settings)
    stopped.append(second)
    url = status_url(err, second)
    wait_for(lambda: title_of(invoke, env, booking) == "Edited while down", second)
    assert [s["id"] for s in subscriptions(fresh_lab)] == [sub["id"]]  # adopted: none made, none left behind
    edit = graph.patch(f"/users/{diego}/events/{event['id']}", {"subject": "Edited while up"})
    assert edit.status_code == 200
    wait_for(lambda: title_of(invoke, env, booking) == "Edited while up", second)
    samples = metrics(url)
    operations = {
        (dict(labels)["operation"], dict(labels)["result"]): v
        for (name, labels), v in samples.items()
        if name == "roomsops_serve_subscription_operations_total"
    }
    assert operations.get(("adopt", "ok")) == 1 and ("create", "ok") not in operations, operations
    assert counted(samples, "roomsops_serve_notifications_total", kind="change") >= 1
    assert counted(samples, "roomsops_serve_notifications_ignored_total", reason="client_state") == 0
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=120) == 0, err.read_text()
    assert [s["id"] for s in subscriptions(fresh_lab)] == [
        sub["id"]
    ]  # left to expire (no --unsubscribe-on-exit)


def test_the_state_file_leaves_no_subscription_behind_when_the_url_changes_or_the_person_leaves(
    fresh_lab: Any, addr: Callable[[str], str], subs_of: Callable[..., Any], tmp_path: Path
) -> None:
    """Three processes one after the other, with one state file: the second has another notification URL (a
    changed serve.public_url: the first's subscription is deleted, not adopted, though at another URL), the third
    no Graph mailbox (the person left: the second's is deleted)."""
    diego, state = addr("DiegoS"), tmp_path / "rooms.db.serve-subscriptions.json"
    now = [datetime.now(UTC)]
    assert subs_of(now, "/notify", state).keep([diego]) == [diego]
    (first,) = subscriptions(fresh_lab)
    moved = subs_of(now, "/moved", state)
    assert moved.keep([diego]) == [diego]  # made anew: a pass follows
    (second,) = subscriptions(fresh_lab)
    assert second["id"] != first["id"]
    assert (
        graph_client(fresh_lab)
        .get(f"/subscriptions/{second['id']}")
        .json()["notificationUrl"]
        .endswith("/moved")
    )
    again = subs_of(now, "/moved", state)
    assert again.keep([diego]) == [diego]  # adopted (a pass follows all the same: changes while down)
    assert [s["id"] for s in subscriptions(fresh_lab)] == [second["id"]]
    assert again.lookup(second["id"], json.loads(state.read_text())["subscriptions"][0]["client_state"]) == (
        diego,
        None,
    )
    assert subs_of(now, "/moved", state).keep([]) == []
    assert subscriptions(fresh_lab) == []
    assert json.loads(state.read_text())["subscriptions"] == []
