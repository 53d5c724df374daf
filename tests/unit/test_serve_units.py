"""`roomsops serve`'s pure parts: the schedule, the status listener's settings and its WSGI application."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from roomsops.core.errors import InputError
from roomsops.core.settings import load_settings
from roomsops.services.serve.config import client_allowed, host_allowed, status_listen
from roomsops.services.serve.metrics import ServeMetrics
from roomsops.services.serve.schedule import Schedule
from roomsops.services.serve.service import back_off, lock_back_off
from roomsops.services.serve.status import Board, DeclinedRow, MailboxRow, Snapshot, status_app

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
INTERVALS = {"ews": timedelta(seconds=60), "graph": timedelta(minutes=15)}


def test_a_mailbox_never_synced_is_due_at_once_and_then_after_its_services_interval() -> None:
    schedule = Schedule(INTERVALS)
    schedule.update({"a@x.ch": "ews", "g@x.ch": "graph"}, {"g@x.ch": T0})
    assert [d.mailbox for d in schedule.due(T0)] == ["a@x.ch"]
    schedule.done("a@x.ch", T0)
    assert schedule.due(T0 + timedelta(seconds=59)) == []
    assert schedule.seconds_to_next(T0 + timedelta(seconds=50), 60) == 10
    assert [d.mailbox for d in schedule.due(T0 + timedelta(seconds=60))] == ["a@x.ch"]
    assert [d.mailbox for d in schedule.due(T0 + timedelta(minutes=15))] == ["a@x.ch", "g@x.ch"]


def test_the_last_pass_in_the_database_counts_after_a_restart_and_a_failed_attempt_waits_too() -> None:
    schedule = Schedule(INTERVALS)
    schedule.update({"A@x.ch": "ews"}, {"a@x.ch": T0})  # addresses compared without case
    assert schedule.due(T0 + timedelta(seconds=30)) == []
    schedule.done("a@x.ch", T0 + timedelta(seconds=61))  # tried (and failed: the database's last pass stays)
    assert schedule.due(T0 + timedelta(seconds=90)) == []
    assert schedule.seconds_to_next(T0 + timedelta(seconds=90), 600) == 31
    assert schedule.seconds_to_next(T0, 5) == 5  # capped: a person added meanwhile is picked up


def test_without_persons_the_wait_is_the_cap() -> None:
    assert Schedule(INTERVALS).seconds_to_next(T0, 60) == 60


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8765", ("127.0.0.1", 8765)),
        ("[::1]:0", ("::1", 0)),
        ("localhost:9000", ("localhost", 9000)),
    ],
)
def test_status_listen_takes_host_and_port(value: str, expected: tuple[str, int]) -> None:
    listen = status_listen(load_settings(environ={"ROOMSOPS_SERVE_STATUS_LISTEN": value}))
    assert (listen.host, listen.port) == expected


@pytest.mark.parametrize("value", ["8765", "127.0.0.1", "127.0.0.1:65536", "::1:80", "127.0.0.1:８０", ":80"])
def test_a_bad_status_listen_is_exit_2_naming_the_key_and_its_origin(value: str) -> None:
    with pytest.raises(InputError) as caught:
        status_listen(load_settings(environ={"ROOMSOPS_SERVE_STATUS_LISTEN": value}))
    assert caught.value.one_line().startswith(
        "serve.status_listen in $ROOMSOPS_SERVE_STATUS_LISTEN must be HOST:PORT"
    )


def test_a_bad_status_allow_entry_is_exit_2_naming_it() -> None:
    with pytest.raises(InputError) as caught:
        status_listen(load_settings(environ={"ROOMSOPS_SERVE_STATUS_ALLOW": "10.0.0.0/8, no where"}))
    assert "'no where' is neither an IP address, a network nor a host name" in caught.value.message
    with pytest.raises(InputError):
        status_listen(load_settings(environ={"ROOMSOPS_SERVE_STATUS_ALLOW": "10.0.0.0/33"}))


def test_loopback_always_others_only_when_listed() -> None:
    allow = status_listen(
        load_settings(environ={"ROOMSOPS_SERVE_STATUS_ALLOW": "10.1.0.0/16, 192.0.2.7"})
    ).allow
    assert (
        client_allowed("127.0.0.1", ())
        and client_allowed("::1", ())
        and client_allowed("::ffff:127.0.0.1", ())
    )
    assert not client_allowed("10.1.2.3", ()) and not client_allowed("", ()) and not client_allowed("x", ())
    assert client_allowed("10.1.2.3", allow) and client_allowed("::ffff:192.0.2.7", allow)
    assert not client_allowed("10.2.0.1", allow) and not client_allowed("192.0.2.8", allow)


def test_the_host_header_must_be_an_address_localhost_or_a_listed_name() -> None:
    """DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 calls with Host: evil.example."""
    names = status_listen(
        load_settings(environ={"ROOMSOPS_SERVE_STATUS_ALLOW": "10.1.0.0/16, Status.Example.com"})
    ).names
    assert names == ("status.example.com",)
    for host in (
        "127.0.0.1:8765",
        "[::1]:8765",
        "localhost:8765",
        "LOCALHOST",
        "10.1.2.3",
        "",
        "status.example.com:1",
    ):
        assert host_allowed(host, names), host
    for host in (
        "evil.example:8765",
        "evil.example",
        "localhost.evil.example",
        "status.example.com.evil",
        "[x]:1",
    ):
        assert not host_allowed(host, names), host


def call(
    app: Any, path: str, remote: str = "127.0.0.1", method: str = "GET", host: str = "127.0.0.1:8765"
) -> tuple[str, dict[str, str], str]:
    said: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        said.update(status=status, headers=dict(headers))

    body: Iterable[bytes] = app(
        {"PATH_INFO": path, "REMOTE_ADDR": remote, "REQUEST_METHOD": method, "HTTP_HOST": host},
        start_response,
    )
    return said["status"], said["headers"], b"".join(body).decode("utf-8")


def test_the_status_app_refuses_other_clients_writes_and_unknown_paths() -> None:
    app = status_app(Board(), ServeMetrics(), (), {"ews": 60, "graph": 900})
    assert call(app, "/", remote="192.0.2.9")[0] == "403 Forbidden"
    assert call(app, "/", host="evil.example:8765")[0] == "403 Forbidden"
    assert call(app, "/metrics", remote="192.0.2.9")[0] == "403 Forbidden"
    assert call(app, "/", method="POST")[0] == "405 Method Not Allowed"
    assert call(app, "/admin")[0] == "404 Not Found"
    assert call(app, "/healthz")[2] == "ok: live, starting\n"


def test_metrics_parse_with_prometheus_parser_and_the_page_escapes_what_it_shows() -> None:
    metrics, board = ServeMetrics(), Board()
    metrics.ticks.inc()
    metrics.passes.labels("a@x.ch", "ews", "failed").inc()
    board.publish(
        Snapshot(
            taken=T0,
            ticks=1,
            mailboxes=(
                MailboxRow("a@x.ch", "ews", T0, "failed", "none", "<script>x</script>", "do <b>this</b>"),
            ),
            declined=(DeclinedRow(7, "a@x.ch", "room-declined", "the room declined: busy"),),
        )
    )
    app = status_app(board, metrics, (), {"ews": 60, "graph": 900})
    status, headers, text = call(app, "/metrics")
    assert status == "200 OK" and headers["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["roomsops_serve_ticks"].samples[0].value == 1
    assert families["roomsops_serve_passes"].samples[0].labels == {
        "mailbox": "a@x.ch",
        "service": "ews",
        "result": "failed",
    }
    assert call(app, "/healthz")[2] == "ok: live, ready\n"
    page = call(app, "/")[2]
    assert (
        "<script>" not in page
        and "&lt;script&gt;x&lt;/script&gt;" in page
        and "do &lt;b&gt;this&lt;/b&gt;" in page
    )
    assert (
        '<tr data-booking="7"><td>7</td><td>a@x.ch</td><td>room-declined</td><td>the room declined: busy</td></tr>'
        in page
    )


def test_an_unexpected_error_in_a_round_is_counted_logged_and_the_service_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug (not a RoomsopsError) in a round: the round's mailbox is a failed pass with code `internal`, the
    round error is counted and logged with its traceback, and the next round runs (the backend works again)."""
    from roomsops.adapters import store as db
    from roomsops.core.logs import AuditLog, forget_secrets, register_secret
    from roomsops.services.serve.service import Serve

    store = db.open_store(f"sqlite:///{tmp_path / 'rooms.db'}")
    with store.write() as conn:
        db.insert_person(
            conn, db.PersonFields("diego@contoso.com", "", "O365", None, "Rollback"), db.now_utc()
        )
    register_secret("s3cret-value")
    calls: list[int] = []

    def open_backend(persons: object, services: object) -> Any:
        calls.append(1)
        raise KeyError("s3cret-value")  # a bug whose text holds a secret

    clock = iter([T0 + timedelta(hours=h) for h in range(100)])
    serve = Serve(
        load_settings(environ={}),
        store,
        AuditLog(None),
        tmp_path / "sync.lock",
        open_backend,
        lambda: None,
        max_ticks=2,
        clock=lambda: next(clock),
    )
    try:
        with caplog.at_level("ERROR", logger="roomsops"):
            serve.run()
    finally:
        forget_secrets()
    assert serve.ticks == 2 and len(calls) == 2  # the first round's bug did not stop the service
    text = serve.metrics.text().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("roomsops_serve_round_errors_total", (("code", "internal"),))] == 2
    assert (
        samples[
            (
                "roomsops_serve_mailbox_failures_total",
                (("code", "internal"), ("mailbox", "diego@contoso.com")),
            )
        ]
        == 2
    )
    row = serve.board.read()[0].mailboxes[0]
    assert row.result == "failed" and row.error and "unexpected KeyError" in row.error and row.remedy
    assert "s3cret-value" not in row.error  # the page shows it
    record = next(r for r in caplog.records if "round 1 failed" in r.getMessage())
    assert record.exc_info is not None or record.exc_text  # the traceback goes to the log file


def test_a_notification_makes_its_mailbox_due_after_the_debounce_and_its_pass_takes_the_later_ones() -> None:
    schedule = Schedule(INTERVALS)
    schedule.update({"g@x.ch": "graph"}, {"g@x.ch": T0})
    debounce = timedelta(seconds=2)
    schedule.push("G@x.ch", T0 + timedelta(seconds=10), debounce)
    schedule.push("g@x.ch", T0 + timedelta(seconds=11), debounce)  # within the debounce: the same pass
    assert schedule.due(T0 + timedelta(seconds=11)) == []
    assert schedule.seconds_to_next(T0 + timedelta(seconds=11), 60) == 1
    assert [d.mailbox for d in schedule.due(T0 + timedelta(seconds=12))] == ["g@x.ch"]
    assert schedule.take_pushed("g@x.ch") == T0 + timedelta(seconds=10)  # the lag counts from the first
    schedule.done("g@x.ch", T0 + timedelta(seconds=12))
    assert schedule.due(T0 + timedelta(seconds=13)) == []  # taken: the next pass is the interval's
    schedule.push("g@x.ch", T0 + timedelta(seconds=20), timedelta(0), full=True)
    assert "g@x.ch" in schedule.full and [d.mailbox for d in schedule.due(T0 + timedelta(seconds=20))]
    schedule.take_pushed("g@x.ch")
    assert schedule.full == {"g@x.ch"}  # owed until a full pass succeeds (a failed one leaves it owed)
    schedule.healed_at("g@x.ch", T0 + timedelta(seconds=21))
    assert schedule.full == set()


def test_a_rooms_change_makes_a_graph_mailbox_due_until_its_pass_was_tried() -> None:
    schedule = Schedule(INTERVALS)
    schedule.update({"g@x.ch": "graph"}, {"g@x.ch": T0})
    assert schedule.due(T0 + timedelta(seconds=5)) == []
    schedule.prompt("G@x.ch", T0 + timedelta(seconds=5))
    schedule.prompt("g@x.ch", T0 + timedelta(seconds=7))  # the earliest is kept
    assert [d.mailbox for d in schedule.due(T0 + timedelta(seconds=5))] == ["g@x.ch"]
    assert schedule.take_pushed("g@x.ch") is None  # no notification: no lag
    assert schedule.due(T0 + timedelta(seconds=6)) == []
    schedule.prompt("g@x.ch", T0 + timedelta(seconds=8))
    schedule.done("g@x.ch", T0 + timedelta(seconds=9))  # tried (and failed): its interval, not every round
    assert schedule.due(T0 + timedelta(seconds=10)) == []


def test_the_back_off_doubles_from_1_s_to_15_s_and_never_beyond_the_interval() -> None:
    assert [back_off(n) for n in range(1, 7)] == [1, 2, 4, 8, 15, 15]
    assert [back_off(n, 5) for n in range(1, 5)] == [1, 2, 4, 5]
    assert back_off(3, 0.5) == 1  # at least 1 s: the mailboxes stay due
    assert lock_back_off(4) == back_off(4)


def test_the_webhook_echoes_the_validation_token_and_checks_client_state() -> None:
    import io
    import queue
    import threading

    from roomsops.services.serve.webhook import webhook_app

    notices: queue.Queue[Any] = queue.Queue()
    wake = threading.Event()
    metrics = ServeMetrics()

    def lookup(sub: str, state: object) -> tuple[str | None, str | None]:
        if sub != "s1":
            return None, "unknown_subscription"
        return ("g@x.ch", None) if state == "right" else (None, "client_state")

    app = webhook_app(lookup, notices, wake, metrics, lambda: T0)

    def post(query: str, body: bytes, path: str = "/graph/notifications") -> tuple[str, bytes]:
        seen: list[str] = []
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        out = b"".join(app(environ, lambda status, headers: seen.append(status)))
        return seen[0], out

    assert post("validationToken=a%20b%26c", b"") == ("200 OK", b"a b&c")
    change = {"subscriptionId": "s1", "clientState": "right", "changeType": "updated"}
    assert post("", json.dumps({"value": [change]}).encode())[0] == "202 Accepted"
    assert notices.get_nowait().mailbox == "g@x.ch" and wake.is_set()
    wrong = {**change, "clientState": "wrong"}
    lifecycle = {"subscriptionId": "s1", "clientState": "right", "lifecycleEvent": "missed"}
    assert (
        post("", json.dumps({"value": [wrong, lifecycle]}).encode(), "/graph/lifecycle")[0] == "202 Accepted"
    )
    assert notices.get_nowait().kind == "missed" and notices.empty()
    assert post("", b"not json")[0] == "400 Bad Request"
    assert post("", b"{}", "/elsewhere")[0] == "404 Not Found"
    text = metrics.text().decode()
    assert 'roomsops_serve_notifications_ignored_total{reason="client_state"} 1.0' in text


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"ROOMSOPS_SERVE_PUBLIC_URL": "https://x.example"},
            "serve.public_url in $ROOMSOPS_SERVE_PUBLIC_URL is set but",
        ),
        (
            {"ROOMSOPS_SERVE_LISTEN": "0.0.0.0:8443", "ROOMSOPS_SERVE_PUBLIC_URL": "ftp://x.example"},
            "serve.public_url in $ROOMSOPS_SERVE_PUBLIC_URL must be an https URL",
        ),
        (
            {
                "ROOMSOPS_SERVE_LISTEN": "0.0.0.0:8443",
                "ROOMSOPS_SERVE_PUBLIC_URL": "http://rooms.example/hook",
            },
            "serve.public_url in $ROOMSOPS_SERVE_PUBLIC_URL must be an https URL",
        ),
        ({"ROOMSOPS_SERVE_LISTEN": "0.0.0.0"}, "serve.listen in $ROOMSOPS_SERVE_LISTEN must be HOST:PORT"),
        (
            {
                "ROOMSOPS_SERVE_LISTEN": "127.0.0.1:8443"
            },  # neither a proxy's https URL nor TLS: http for Graph
            "serve.listen without serve.public_url or serve.tls_cert_file would give Graph an http notification URL",
        ),
        (
            {
                "ROOMSOPS_SERVE_LISTEN": "0.0.0.0:8443",
                "ROOMSOPS_SERVE_TLS_CERT_FILE": "/nonexistent/cert.pem",
            },
            "serve.tls_cert_file in $ROOMSOPS_SERVE_TLS_CERT_FILE: no file",
        ),
    ],
)
def test_bad_webhook_settings_are_exit_2_naming_the_key(environ: dict[str, str], expected: str) -> None:
    from roomsops.services.serve.config import webhook_listen

    with pytest.raises(InputError) as caught:
        webhook_listen(load_settings(environ=environ))
    assert caught.value.one_line().startswith(expected), caught.value.one_line()


def test_the_webhook_urls_are_under_the_public_url_or_the_listeners_own_address() -> None:
    from roomsops.services.serve.config import webhook_listen

    assert webhook_listen(load_settings(environ={})) is None
    cert = Path(__file__)  # any file: only its existence is checked here
    own = webhook_listen(
        load_settings(
            environ={"ROOMSOPS_SERVE_LISTEN": "127.0.0.1:0", "ROOMSOPS_SERVE_TLS_CERT_FILE": str(cert)}
        )
    )
    assert own is not None and own.urls(("127.0.0.1", 4711)) == (
        "https://127.0.0.1:4711/graph/notifications",
        "https://127.0.0.1:4711/graph/lifecycle",
    )
    public = webhook_listen(
        load_settings(
            environ={
                "ROOMSOPS_SERVE_LISTEN": "127.0.0.1:0",
                "ROOMSOPS_SERVE_PUBLIC_URL": "https://r.example/rooms/",
            }
        )
    )
    assert (
        public is not None
        and public.urls(("127.0.0.1", 1))[0] == "https://r.example/rooms/graph/notifications"
    )


def test_the_service_lock_of_a_server_database_is_its_own_advisory_key() -> None:
    # The merge of fix26a (one service per database) and fix27a (the run lock in a server database): the service's
    # lock must not be the run lock (a round takes that one while the service holds its own) and must stay in the
    # database (every host meets it), not a file beside a path that a server database does not have.
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from roomsops.adapters.store.runlock import RUN_LOCK_KEY, SERVE_LOCK_KEY, DatabaseLock
    from roomsops.services.serve.run import serve_lock_path

    run = DatabaseLock.of(make_url("postgresql+psycopg://roomsops@127.0.0.1/test"))
    served = serve_lock_path(run)
    assert isinstance(served, DatabaseLock)
    assert (run.key, served.key) == (RUN_LOCK_KEY, SERVE_LOCK_KEY)
    assert served.url == run.url
    assert serve_lock_path(Path("/d/rooms.db.sync.lock")) == Path("/d/rooms.db.serve.lock")
