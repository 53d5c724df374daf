"""Change notifications of the lab's Graph (issue 23): subscriptions to a user's events, the validation handshake
with a local receiver, notifications with clientState (retried when the receiver fails), lifecycle notifications
triggered through the admin API, and the maximum lifetime of an Outlook event subscription."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.graph_client import CSDL, GraphClient, report

from .conftest import LabHelper, address
from .test_lab_graph import event, graph_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def csdl_report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report(request)
    assert CSDL.violations == [], CSDL.violations


def serve_tls(server: ThreadingHTTPServer, lab_dir: Path) -> None:
    """Serve https with the lab's server certificate (127.0.0.1 and localhost, issued by the lab's CA, which the
    lab's Graph trusts): Graph calls only https endpoints."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(lab_dir / "pki" / "server.pem", lab_dir / "pki" / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)


class Receiver:
    """A subscriber's https endpoint on 127.0.0.1 (the certificate of the lab in `lab_dir`): answers validation
    requests, records notifications, and fails the first `fail_next` notification POSTs with 503."""

    def __init__(self, lab_dir: Path) -> None:
        self.validations: list[str] = []
        self.notifications: list[dict[str, Any]] = []
        self.posts = 0
        self.fail_next = 0
        self.hold_next = 0  # notification POSTs to hold until `release` is set (a slow subscriber)
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if "validationToken" in query:
                    token = query["validationToken"][0]
                    with receiver.lock:
                        receiver.validations.append(token)
                    self._answer(200, token.encode("utf-8"), "text/plain")
                    return
                with receiver.lock:
                    holding = receiver.hold_next > 0
                    receiver.hold_next -= 1 if holding else 0
                if holding:
                    receiver.release.wait(60)
                    self._answer(202, b"", "text/plain")
                    return
                with receiver.lock:
                    receiver.posts += 1
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= 1 if failing else 0
                    if not failing:
                        receiver.notifications.extend(json.loads(body)["value"])
                self._answer(503 if failing else 202, b"", "text/plain")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve_tls(self.server, lab_dir)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/notify"

    def wait(self, count: int, bound: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + bound
        while True:
            with self.lock:
                if len(self.notifications) >= count:
                    return list(self.notifications)
            assert time.monotonic() < deadline, f"{len(self.notifications)} of {count} notifications arrived"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(fresh_lab: LabHelper) -> Iterator[Receiver]:
    running = Receiver(fresh_lab.dir)
    yield running
    running.close()


@pytest.fixture
def graph(fresh_lab: LabHelper) -> Iterator[GraphClient]:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    yield graph_client(fresh_lab)
    fresh_lab.admin("POST", "graph/reset")


def delivered(lab: LabHelper, count: int, bound: float = 30.0) -> dict[str, Any]:
    """The lab's record of the one subscription once it counts `count` acknowledged notifications (the lab
    counts an answer after the receiver sent it: poll, with a generous bound)."""
    deadline = time.monotonic() + bound
    while True:
        (summary,) = lab.admin("GET", "graph").json()["subscriptions"]
        if summary["delivered"] >= count:
            return dict(summary)
        assert time.monotonic() < deadline, summary
        time.sleep(0.02)


def expires(minutes: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def test_a_subscription_is_validated_and_notifies_the_receiver_with_its_client_state(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    diego = address(fresh_lab, "DiegoS")
    created = graph.post(
        "/subscriptions",
        {
            "changeType": "created,updated,deleted",
            "notificationUrl": receiver.url,
            "lifecycleNotificationUrl": receiver.url,
            "resource": f"/users/{diego}/events",
            "expirationDateTime": expires(60),
            "clientState": "secret-state",
        },
    )
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert len(receiver.validations) == 2  # notificationUrl and lifecycleNotificationUrl
    receiver.fail_next = 1  # the first POST fails: the lab retries
    made = graph.post(
        f"/users/{diego}/events", event("Notify me", "2030-03-04T09:00:00", "2030-03-04T10:00:00")
    )
    (note,) = receiver.wait(1)
    assert CSDL.check_collection({"value": [note]}, "changeNotification") == []
    assert (note["changeType"], note["clientState"], note["subscriptionId"]) == (
        "created",
        "secret-state",
        subscription["id"],
    )
    assert note["resourceData"]["id"] == made.json()["id"]
    summary = delivered(fresh_lab, 1)
    assert summary["attempts"] >= 2
    graph.delete(f"/users/{diego}/events/{made.json()['id']}")
    kinds = [n["changeType"] for n in receiver.wait(2)]
    assert kinds == ["created", "deleted"]
    renewed = graph.patch(f"/subscriptions/{subscription['id']}", {"expirationDateTime": expires(120)})
    assert (
        renewed.status_code == 200
        and renewed.json()["expirationDateTime"] > subscription["expirationDateTime"]
    )
    assert [s["id"] for s in graph.get("/subscriptions").json()["value"]] == [subscription["id"]]
    assert graph.delete(f"/subscriptions/{subscription['id']}").status_code == 204
    assert graph.get(f"/subscriptions/{subscription['id']}").status_code == 404


def test_lifecycle_notifications_are_sent_when_the_lab_is_told(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    diego = address(fresh_lab, "DiegoS")
    subscription = graph.post(
        "/subscriptions",
        {
            "changeType": "created",
            "notificationUrl": receiver.url,
            "lifecycleNotificationUrl": receiver.url,
            "resource": f"users/{diego}/events",
            "expirationDateTime": expires(60),
            "clientState": "s",
        },
    ).json()
    for n, kind in enumerate(("reauthorizationRequired", "missed", "subscriptionRemoved"), start=1):
        answer = fresh_lab.admin(
            "POST", f"graph/subscriptions/{subscription['id']}/lifecycle", {"event": kind}
        )
        assert answer.status_code == 200, answer.text
        assert receiver.wait(n)[-1]["lifecycleEvent"] == kind
    assert CSDL.check_collection({"value": receiver.notifications}, "changeNotification") == []
    assert graph.get(f"/subscriptions/{subscription['id']}").status_code == 404  # removed
    unknown = fresh_lab.admin("POST", "graph/subscriptions/nope/lifecycle", {"event": "missed"})
    assert unknown.status_code == 404


def test_subscriptions_are_checked_before_they_are_made(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    diego = address(fresh_lab, "DiegoS")
    base = {"changeType": "created", "notificationUrl": receiver.url, "resource": f"/users/{diego}/events"}
    too_long = graph.post("/subscriptions", {**base, "expirationDateTime": expires(10080 + 5)})
    assert too_long.status_code == 400 and "10080" in too_long.json()["error"]["message"]
    assert graph.post("/subscriptions", {**base, "expirationDateTime": expires(10080 - 5)}).status_code == 201
    refused = graph.post(
        "/subscriptions",
        {**base, "notificationUrl": "https://127.0.0.1:9/none", "expirationDateTime": expires(60)},
    )
    assert refused.status_code == 400 and "validation" in refused.json()["error"]["message"]
    # Graph calls https endpoints only: a plain http one (the receiver's own address) is refused, not validated
    validations = len(receiver.validations)
    plain = receiver.url.replace("https://", "http://", 1)
    for field in ("notificationUrl", "lifecycleNotificationUrl"):
        http = graph.post("/subscriptions", {**base, field: plain, "expirationDateTime": expires(60)})
        assert http.status_code == 400, http.text
        assert (
            http.json()["error"]["code"] == "ValidationError" and "https" in http.json()["error"]["message"]
        )
    assert len(receiver.validations) == validations
    remote = graph.post(
        "/subscriptions",
        {**base, "notificationUrl": "https://example.com/notify", "expirationDateTime": expires(60)},
    )
    assert remote.status_code == 400 and "127.0.0.1" in remote.json()["error"]["message"]
    other = graph.post(
        "/subscriptions", {**base, "resource": "/users/x/messages", "expirationDateTime": expires(60)}
    )
    assert other.status_code == 400


def test_a_slow_subscriber_gets_the_notification_again(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    diego = address(fresh_lab, "DiegoS")
    fresh_lab.admin("POST", "graph/notifications", {"delivery_timeout": 0.3})
    graph.post(
        "/subscriptions",
        {
            "changeType": "created",
            "notificationUrl": receiver.url,
            "resource": f"/users/{diego}/events",
            "expirationDateTime": expires(60),
            "clientState": "slow",
        },
    )
    receiver.hold_next = 1  # the first POST hangs past the lab's patience; the lab sends it again
    try:
        graph.post(f"/users/{diego}/events", event("Slow", "2030-03-04T09:00:00", "2030-03-04T10:00:00"))
        (note,) = receiver.wait(1)
        assert note["changeType"] == "created" and note["clientState"] == "slow"
        assert delivered(fresh_lab, 1)["attempts"] >= 2
    finally:
        receiver.release.set()
