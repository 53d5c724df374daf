"""Review of issue 23: Graph change-notification subscriptions, against Graph's documented behaviour."""

from __future__ import annotations

import datetime as dt
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from roomsops.lab import Lab
from tests.graph_client import GraphClient

from .conftest import LabHelper, address
from .test_lab_graph_notifications import Receiver, serve_tls

pytestmark = pytest.mark.integration


def expires(minutes: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def client(lab: Lab) -> GraphClient:
    app = lab.info["apps"]["rooms"]
    return GraphClient(
        lab.base_url,
        str(lab.ca_path),
        str(lab.info["endpoints"]["token"]),
        str(app["app_id"]),
        str(app["secret"]),
    )


def event(subject: str, day: str) -> dict[str, object]:
    return {
        "subject": subject,
        "start": {"dateTime": f"2030-03-{day}T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"2030-03-{day}T10:00:00", "timeZone": "UTC"},
    }


@pytest.fixture
def receiver(fresh_lab: LabHelper) -> Iterator[Receiver]:
    running = Receiver(fresh_lab.dir)
    yield running
    running.close()


def test_review23_a_subscription_outlives_a_restart_of_the_lab(tmp_path: Path) -> None:
    """Graph keeps a subscription until it expires or is deleted; the lab keeps the tenant and its calendars in
    tenant.json across a restart, but forgot its subscriptions without a word (no subscriptionRemoved, no doc):
    the subscriber's renewal got 404 and changes after the restart were never notified."""
    directory = tmp_path / "lab"
    with Lab(directory, room_answer_delay=86400) as first:
        receiver = Receiver(directory)  # https with this lab's certificate (its PKI outlives the restart)
        graph = client(first)
        diego = f"DiegoS@{first.info['tenant']['domain']}"
        made = graph.post(
            "/subscriptions",
            {
                "changeType": "created,updated,deleted",
                "resource": f"users/{diego}/events",
                "notificationUrl": receiver.url,
                "expirationDateTime": expires(60),
                "clientState": "kept",
            },
        )
        assert made.status_code == 201, made.text
        sub = made.json()["id"]
    with Lab(directory, room_answer_delay=86400) as second:
        graph = client(second)
        assert graph.get(f"/subscriptions/{sub}", check=False).status_code == 200
        assert graph.post(f"/users/{diego}/events", event("after the restart", "05")).status_code == 201
        (note,) = receiver.wait(1)
        assert (note["subscriptionId"], note["changeType"], note["clientState"]) == (sub, "created", "kept")
    receiver.close()


def test_review23_a_subscription_s_notification_url_can_be_updated(
    fresh_lab: LabHelper, receiver: Receiver
) -> None:
    """Graph v1.0 (graph/api/subscription-update): PATCH renews expirationDateTime "or updates notificationUrl for
    delivery". The lab refused every property but expirationDateTime (400 ValidationError)."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    graph = client(fresh_lab.lab)
    diego = address(fresh_lab, "DiegoS")
    other = Receiver(fresh_lab.dir)
    try:
        sub = graph.post(
            "/subscriptions",
            {
                "changeType": "created",
                "resource": f"users/{diego}/events",
                "notificationUrl": receiver.url,
                "expirationDateTime": expires(60),
            },
        ).json()["id"]
        moved = graph.patch(f"/subscriptions/{sub}", {"notificationUrl": other.url}, check=False)
        assert moved.status_code == 200, moved.text
        assert moved.json()["notificationUrl"] == other.url
        assert graph.post(f"/users/{diego}/events", event("to the new url", "06")).status_code == 201
        (note,) = other.wait(1)
        assert note["subscriptionId"] == sub
        assert receiver.notifications == []
    finally:
        other.close()
        fresh_lab.admin("POST", "graph/reset")


def test_review23_a_subscription_made_with_immutable_ids_notifies_immutable_ids(
    fresh_lab: LabHelper, receiver: Receiver
) -> None:
    """graph/outlook-immutable-id: a subscription created with `Prefer: IdType="ImmutableId"` gets immutable ids in
    its change notifications (created, updated and deleted). The lab ignored the header: the notifications named
    REST ids, which a client working with immutable ids cannot match."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    graph = client(fresh_lab.lab)
    diego = address(fresh_lab, "DiegoS")
    immutable = {"Prefer": 'IdType="ImmutableId"'}
    try:
        made = graph.post(
            "/subscriptions",
            {
                "changeType": "created,updated,deleted",
                "resource": f"users/{diego}/events",
                "notificationUrl": receiver.url,
                "expirationDateTime": expires(60),
            },
            headers=immutable,
        )
        assert made.status_code == 201, made.text
        created = graph.post(f"/users/{diego}/events", event("immutable", "07"), headers=immutable).json()
        receiver.wait(1)
        assert (
            graph.patch(f"/users/{diego}/events/{created['id']}", {"subject": "changed"}).status_code == 200
        )
        receiver.wait(2)
        assert graph.delete(f"/users/{diego}/events/{created['id']}").status_code == 204
        notes = receiver.wait(3)
        assert sorted(n["changeType"] for n in notes) == ["created", "deleted", "updated"]
        assert {n["resourceData"]["id"] for n in notes} == {created["id"]}, notes
    finally:
        fresh_lab.admin("POST", "graph/reset")


class _Recorder:
    """An HTTP endpoint on `host` that records every request and answers 302 to `redirect` when given one; https
    with the certificate of the lab in `lab_dir` when given (Graph calls https notification URLs only)."""

    def __init__(self, host: str, redirect: str | None = None, lab_dir: Path | None = None) -> None:
        self.hits: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _any(self) -> None:
                recorder.hits.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if redirect is not None:
                    self.send_response(302)
                    self.send_header("Location", redirect + "?" + self.path.partition("?")[2])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                token = self.path.partition("validationToken=")[2]
                body = urllib.parse.unquote(token).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = _any
            do_POST = _any

        self.server = ThreadingHTTPServer((host, 0), Handler)
        if lab_dir is not None:
            serve_tls(self.server, lab_dir)
        scheme = "https" if lab_dir is not None else "http"
        self.url = f"{scheme}://{host}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_review23_the_lab_does_not_follow_a_subscriber_s_redirect_to_another_host(
    fresh_lab: LabHelper,
) -> None:
    """The lab calls only 127.0.0.1/localhost (FIDELITY "Subscriber URLs": it never calls out to the network), but its
    urllib opener followed redirects: a subscriber on 127.0.0.1 answering 302 sent the validation request to any
    host (here 127.0.0.2, which the lab refuses as a notificationUrl), and that host's answer validated the
    subscription. A validation request must be answered by the URL itself (graph/webhooks: 200 OK with the
    token)."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    graph = client(fresh_lab.lab)
    elsewhere = _Recorder("127.0.0.2")
    # elsewhere plain http: an opener that follows redirects would reach it even from https
    bouncer = _Recorder("127.0.0.1", redirect=elsewhere.url, lab_dir=fresh_lab.dir)
    try:
        answer = graph.post(
            "/subscriptions",
            {
                "changeType": "created",
                "resource": f"users/{address(fresh_lab, 'DiegoS')}/events",
                "notificationUrl": bouncer.url,
                "expirationDateTime": expires(60),
            },
            check=False,
        )
        assert len(bouncer.hits) == 1
        assert elsewhere.hits == []
        assert answer.status_code == 400, answer.text
    finally:
        bouncer.close()
        elsewhere.close()
        fresh_lab.admin("POST", "graph/reset")
