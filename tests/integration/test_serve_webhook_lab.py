"""`roomsops serve` with its Graph webhook against the lab: the lab's Graph validates the webhook, POSTs real change
and lifecycle notifications to it, and the service answers with passes and new subscriptions.

Nothing here measures time: serve.graph_interval is an hour, so every pass after the first of a Graph mailbox was
scheduled by a notification; the tests count passes, notifications and subscriptions (the waits' limits only end a
hung run)."""

from __future__ import annotations

import json
import re
import signal
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Invoke, ok

from .test_lab_graph import graph_client
from .test_serve_lab import book, meetings, metrics, passes, start, status_url, stopped, wait_for

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name
HUNG = 120.0
WEBHOOK = {"listen": "127.0.0.1:0", "graph_interval": "3600", "notification_debounce": "0"}


def webhook(lab: Any) -> dict[str, str]:
    """The webhook's settings: https on 127.0.0.1 with the lab's server certificate (issued by the lab's CA, which
    the lab's Graph trusts), as Graph calls https notification URLs only."""
    pki = Path(lab.dir) / "pki"
    return {**WEBHOOK, "tls_cert_file": str(pki / "server.pem"), "tls_key_file": str(pki / "server.key")}


def webhook_url(err: Path, process: subprocess.Popen[str]) -> str:
    def announced() -> str | None:
        match = re.search(r"Graph webhook on (https://127\.0\.0\.1:\d+/graph/notifications)", err.read_text())
        return match.group(1) if match else None

    return str(wait_for(announced, process))


def claimed_too_big(url: str, ca: str) -> int:
    """POST to `url` claiming a body of 1 MiB + 1 byte and sending none: the status of the answer."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=ca)
    connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=10, context=context)
    try:
        connection.putrequest("POST", parts.path)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(1024 * 1024 + 1))
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def subscriptions(lab: Any) -> list[dict[str, Any]]:
    return list(lab.admin("GET", "graph").json()["subscriptions"])


def serve_subscribed(
    env: dict[str, str],
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    lab: Any,
    diego: str,
    *args: str,
) -> tuple[subprocess.Popen[str], Path, str, str, dict[str, Any]]:
    """`roomsops serve` with its webhook (and `args`), once Diego's first pass ran and he is subscribed: (the
    process, its stderr file, its status url, its webhook url, his subscription as the lab holds it)."""
    process, err = start(env, tmp_path, *args, **webhook(lab))
    stopped.append(process)
    url, hook = status_url(err, process), webhook_url(err, process)
    wait_for(lambda: passes(metrics(url), diego) >= 1 and subscriptions(lab), process)
    (sub,) = subscriptions(lab)
    return process, err, url, hook, sub


def counted(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def title_of(invoke: Invoke, env: dict[str, str], booking: int) -> str:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return str(next(b["title"] for b in found if b["id"] == booking))


@pytest.fixture
def diego_over_graph(invoke: Invoke, env: dict[str, str], addr: Callable[[str], str], fresh_lab: Any) -> int:
    """DiegoS synced over Graph (Microsoft365) with one booking; the lab's Graph reset (no subscriptions)."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "Microsoft365", env=env))
    return book(invoke, env, addr, "Webhook planning", 11)


def test_an_outlook_edit_over_graph_reaches_the_booking_by_its_notification(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    booking, diego = diego_over_graph, addr("DiegoS")
    process, err, url, _, sub = serve_subscribed(env, tmp_path, stopped, fresh_lab, diego)
    assert sub["resource"].endswith(f"/users/{diego}/events")
    assert meetings(fresh_lab, diego) == {str(booking): "Webhook planning"}

    # Outlook's edit, over Graph: the lab notifies the webhook, and a pass (not the hourly one) takes it over.
    graph = graph_client(fresh_lab)
    (event,) = graph.get(f"/users/{diego}/events").json()["value"]
    assert (
        graph.patch(f"/users/{diego}/events/{event['id']}", {"subject": "Webhook planning v2"}).status_code
        == 200
    )
    # the booking has the title once the pass wrote it; /metrics counts the pass once it ended: wait for both
    wait_for(
        lambda: title_of(invoke, env, booking) == "Webhook planning v2" and passes(metrics(url), diego) >= 2,
        process,
    )
    samples = metrics(url)
    assert counted(samples, "roomsops_serve_notifications_total", kind="change") >= 1
    assert (
        passes(samples, diego) >= 2
    )  # the first round's, and the notification's (graph_interval is an hour)
    assert (
        counted(samples, "roomsops_serve_subscription_operations_total", operation="create", result="ok") == 1
    )
    expiry = [
        v for (name, labels), v in samples.items() if name.startswith("roomsops_serve_subscription_expiry")
    ]
    assert expiry and expiry[0] > 0
    page = requests.get(url, timeout=10).text.split('id="subscriptions"')[1]
    assert f'data-subscription="{diego}"' in page
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0, err.read_text()
    assert [s["id"] for s in subscriptions(fresh_lab)] == [sub["id"]]  # left to expire without the flag


def test_a_removed_subscription_is_made_again_and_unsubscribe_on_exit_deletes_it(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    diego = addr("DiegoS")
    process, err, url, _, first = serve_subscribed(
        env, tmp_path, stopped, fresh_lab, diego, "--unsubscribe-on-exit"
    )
    done = passes(metrics(url), diego)

    removed = fresh_lab.admin(
        "POST", f"graph/subscriptions/{first['id']}/lifecycle", json={"event": "subscriptionRemoved"}
    )
    assert removed.status_code == 200, removed.text
    # Healed: a new subscription for Diego, and a pass for the changes nobody notified meanwhile.
    (second,) = wait_for(lambda: [s for s in subscriptions(fresh_lab) if s["id"] != first["id"]], process)
    assert second["resource"] == first["resource"]
    wait_for(lambda: passes(metrics(url), diego) >= done + 1, process)
    samples = metrics(url)
    assert counted(samples, "roomsops_serve_notifications_total", kind="subscriptionRemoved") == 1
    assert (
        counted(samples, "roomsops_serve_subscription_operations_total", operation="create", result="ok") == 2
    )

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0, err.read_text()
    assert subscriptions(fresh_lab) == []  # --unsubscribe-on-exit


def test_the_webhook_answers_validation_and_ignores_and_counts_bad_notifications(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    """A notification with a wrong clientState or of an unknown subscription is answered 202 (Graph would retry
    anything else) and ignored: counted, nothing queued; a body over 1 MiB is refused before it is read."""
    diego = addr("DiegoS")
    process, err, url, hook, sub = serve_subscribed(env, tmp_path, stopped, fresh_lab, diego)

    token = "Validation: Testing client application reachability for subscription Request-Id: 1 & <2>"
    echoed = requests.post(hook, params={"validationToken": token}, timeout=10, verify=fresh_lab.ca)
    assert (echoed.status_code, echoed.text) == (200, token)
    assert echoed.headers["Content-Type"].startswith("text/plain")

    note = {
        "subscriptionId": sub["id"],
        "clientState": "not-the-secret",
        "changeType": "updated",
        "resource": "x",
    }
    unknown = {**note, "subscriptionId": "00000000-0000-0000-0000-000000000000"}
    for body in ({"value": [note]}, {"value": [unknown]}):
        assert requests.post(hook, json=body, timeout=10, verify=fresh_lab.ca).status_code == 202
    assert claimed_too_big(hook, fresh_lab.ca) == 413  # answered from the headers: the body is never sent
    samples = metrics(url)
    assert counted(samples, "roomsops_serve_notifications_ignored_total", reason="client_state") == 1
    assert counted(samples, "roomsops_serve_notifications_ignored_total", reason="unknown_subscription") == 1
    for text in (requests.get(url, timeout=10).text, requests.get(url + "metrics", timeout=10).text):
        assert "not-the-secret" not in text and "clientState" not in text
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0, err.read_text()


def test_missed_brings_a_full_pass_and_reauthorization_required_a_reauthorize(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    diego = addr("DiegoS")
    process, err, url, _, sub = serve_subscribed(env, tmp_path, stopped, fresh_lab, diego)
    full = ("roomsops_serve_full_passes_total", (("mailbox", diego),))
    before = metrics(url).get(full, 0.0)

    lifecycle = f"graph/subscriptions/{sub['id']}/lifecycle"
    assert fresh_lab.admin("POST", lifecycle, json={"event": "missed"}).status_code == 200
    wait_for(lambda: metrics(url).get(full, 0.0) >= before + 1, process)  # a full pass, not the hourly one

    assert fresh_lab.admin("POST", lifecycle, json={"event": "reauthorizationRequired"}).status_code == 200
    reauthorized = (
        "roomsops_serve_subscription_operations_total",
        (("operation", "reauthorize"), ("result", "ok")),
    )
    wait_for(lambda: metrics(url).get(reauthorized, 0.0) == 1, process)
    samples = metrics(url)
    assert counted(samples, "roomsops_serve_notifications_total", kind="missed") == 1
    assert counted(samples, "roomsops_serve_notifications_total", kind="reauthorizationRequired") == 1
    assert [s["id"] for s in subscriptions(fresh_lab)] == [sub["id"]]  # the same subscription goes on
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0, err.read_text()


def test_a_subscription_is_renewed_at_half_the_lifetime_graph_returned(
    fresh_lab: Any, addr: Callable[[str], str]
) -> None:
    """serve's subscriptions in this process against the lab's Graph, with a clock the test moves: nothing is
    renewed before half the lifetime Graph answered; at it, one PATCH moves the expiry on."""
    import os
    from datetime import UTC, datetime, timedelta

    from roomsops.adapters.entra.tokens import credentials_from_app_settings, graph_token_provider
    from roomsops.adapters.graph.client import GraphClient
    from roomsops.core.settings import app_settings_path, load_settings
    from roomsops.services.serve.metrics import ServeMetrics
    from roomsops.services.serve.subscriptions import LIFETIME, Subscriptions, _parse

    from .test_lab_graph_notifications import Receiver

    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    diego = addr("DiegoS")
    loaded = load_settings(str(fresh_lab.settings_path), environ={})
    credentials = credentials_from_app_settings(app_settings_path(None, loaded, {}), loaded, os.environ)
    client = GraphClient(loaded, graph_token_provider(credentials, loaded))
    now = [datetime.now(UTC)]
    metrics_ = ServeMetrics()
    receiver = Receiver(fresh_lab.dir)
    try:
        subs = Subscriptions(client, receiver.url, receiver.url, metrics_, lambda: now[0])
        assert subs.keep([diego]) == [diego]
        (made,) = subscriptions(fresh_lab)
        expires = _parse(
            client.request(diego, "GET", f"/subscriptions/{made['id']}").body["expirationDateTime"]
        )
        assert expires is not None and abs(expires - (now[0] + LIFETIME)) < timedelta(seconds=1)
        half = now[0] + (expires - now[0]) / 2

        now[0] = half - timedelta(seconds=1)
        assert subs.keep([diego]) == []
        renewals = ("roomsops_serve_subscription_operations_total", "renew")
        assert count_operation(metrics_, renewals[1]) == 0
        now[0] = half
        assert subs.keep([diego]) == []
        assert count_operation(metrics_, renewals[1]) == 1
        renewed = _parse(
            client.request(diego, "GET", f"/subscriptions/{made['id']}").body["expirationDateTime"]
        )
        assert renewed is not None and renewed > expires
        assert [s["id"] for s in subscriptions(fresh_lab)] == [made["id"]]
        subs.close(unsubscribe=True)
        assert subscriptions(fresh_lab) == []
    finally:
        receiver.close()


def count_operation(metrics_: Any, operation: str) -> float:
    return sum(
        s.value
        for family in metrics_.registry.collect()
        for s in family.samples
        if s.name == "roomsops_serve_subscription_operations_total" and s.labels["operation"] == operation
    )


def test_the_webhook_serves_tls_from_a_certificate_file_and_graph_validates_it(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    """With serve.tls_cert_file/tls_key_file (here the lab's own server certificate for 127.0.0.1, issued by the
    lab's CA, which the lab's Graph trusts), the webhook is https: Graph's validation over TLS succeeds, so the
    subscription exists with an https notificationUrl."""
    process, err = start(env, tmp_path, **webhook(fresh_lab))
    stopped.append(process)
    url = status_url(err, process)

    def announced() -> str | None:
        match = re.search(r"Graph webhook on (https://127\.0\.0\.1:\d+/graph/notifications)", err.read_text())
        return match.group(1) if match else None

    hook = str(wait_for(announced, process))
    wait_for(lambda: passes(metrics(url), addr("DiegoS")) >= 1 and subscriptions(fresh_lab), process)
    echoed = requests.post(hook, params={"validationToken": "over TLS"}, timeout=10, verify=fresh_lab.ca)
    assert (echoed.status_code, echoed.text) == (200, "over TLS")
    samples = metrics(url)
    assert (
        counted(samples, "roomsops_serve_subscription_operations_total", operation="create", result="ok") == 1
    )
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0, err.read_text()
