"""`roomsops serve` (issue 26, serve26d): the healing schedule and the request/throttling observer, pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from roomsops.adapters.ews.client import _operation as ews_operation
from roomsops.adapters.graph.client import _operation as graph_operation
from roomsops.core import traffic
from roomsops.services.serve.metrics import ServeMetrics
from roomsops.services.serve.schedule import Schedule

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
INTERVALS = {"ews": timedelta(seconds=60), "graph": timedelta(minutes=15)}
DAY = timedelta(days=1)


def healing_schedule(passes_since_full: int = 1) -> Schedule:
    schedule = Schedule(INTERVALS, healing=DAY, started=T0)
    schedule.update({"a@x.ch": "ews"}, {"a@x.ch": T0 - timedelta(seconds=30)}, {"a@x.ch": passes_since_full})
    return schedule


def test_healing_is_counted_from_the_start_then_from_the_last_full_pass() -> None:
    schedule = healing_schedule()
    (due,) = schedule.mailboxes.values()
    assert schedule.heal_at(due) == T0 + DAY
    assert not schedule.heal_due(due, T0 + DAY - timedelta(seconds=1))
    assert schedule.heal_due(due, T0 + DAY)
    schedule.healed_at("A@x.ch", T0 + DAY + timedelta(seconds=5))
    assert schedule.heal_at(due) == T0 + 2 * DAY + timedelta(seconds=5)
    assert not schedule.heal_due(due, T0 + 2 * DAY)


def test_a_mailbox_overdue_by_the_databases_count_is_healed_by_its_first_pass_after_a_start() -> None:
    """1,440 passes a minute apart since the last full one: a day; a restart does not put healing off."""
    schedule = healing_schedule(passes_since_full=1440)
    (due,) = schedule.mailboxes.values()
    assert schedule.heal_due(due, T0)
    assert [d.mailbox for d in schedule.due(T0)] == ["a@x.ch"]  # its pass is due at once for it
    short = healing_schedule(passes_since_full=1439)
    assert not short.heal_due(short.mailboxes["a@x.ch"], T0)


def test_a_failed_healing_pass_waits_its_interval_and_a_mailbox_never_synced_needs_none() -> None:
    schedule = healing_schedule(passes_since_full=5000)
    schedule.done("a@x.ch", T0 + timedelta(seconds=1))  # tried, failed: not healed
    assert schedule.due(T0 + timedelta(seconds=2)) == []
    (due,) = schedule.mailboxes.values()
    assert schedule.heal_due(due, T0 + timedelta(seconds=61))  # its next pass is still the healing one
    assert [d.mailbox for d in schedule.due(T0 + timedelta(seconds=61))] == ["a@x.ch"]
    fresh = Schedule(INTERVALS, healing=DAY, started=T0)
    fresh.update({"n@x.ch": "ews"}, {})
    (new,) = fresh.mailboxes.values()
    assert fresh.heal_at(new) is None


def test_without_a_healing_interval_nothing_is_healed_by_the_schedule() -> None:
    schedule = Schedule(INTERVALS)
    schedule.update({"a@x.ch": "ews"}, {"a@x.ch": T0}, {"a@x.ch": 10**6})
    (due,) = schedule.mailboxes.values()
    assert schedule.heal_at(due) is None


def test_requests_and_throttling_waits_reach_the_metrics_by_protocol_and_operation() -> None:
    metrics = ServeMetrics()
    forget = traffic.observe(metrics.request, metrics.throttle)
    try:
        traffic.requested("ews", "SyncFolderItems")
        traffic.requested("ews", "SyncFolderItems")
        traffic.requested("graph", "calendarView delta")
        traffic.requested("graph", "user@x.ch/events/AAMk=")  # never an address or an id as a label
        traffic.throttled("graph", 1.5)
    finally:
        forget()
    traffic.requested("ews", "GetItem")  # after `forget`: not counted
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.text().decode())
        for s in family.samples
    }
    assert (
        samples[("roomsops_serve_requests_total", (("operation", "SyncFolderItems"), ("protocol", "ews")))]
        == 2
    )
    assert samples[
        ("roomsops_serve_requests_total", (("operation", "calendarView delta"), ("protocol", "graph")))
    ]
    assert samples[("roomsops_serve_requests_total", (("operation", "other"), ("protocol", "graph")))] == 1
    assert ("roomsops_serve_requests_total", (("operation", "GetItem"), ("protocol", "ews"))) not in samples
    assert samples[("roomsops_serve_throttle_waits_total", (("protocol", "graph"),))] == 1
    assert samples[("roomsops_serve_throttle_wait_seconds_total", (("protocol", "graph"),))] == 1.5


def test_the_operation_names_of_ews_and_graph_requests() -> None:
    body = (
        b'<?xml version="1.0"?><s:Envelope xmlns:s="x"><s:Header><t:RequestServerVersion Version="V2016"/>'
        b"</s:Header><s:Body><m:SyncFolderItems><m:ItemShape/></m:SyncFolderItems></s:Body></s:Envelope>"
    )
    assert ews_operation(body) == "SyncFolderItems"
    assert ews_operation(None) == "other" and ews_operation(b"<junk/>") == "other"
    assert (
        graph_operation("GET", "https://graph/v1.0/users/a/events", "calendarView delta")
        == "calendarView delta"
    )
    assert graph_operation("POST", "https://graph/v1.0/$batch", "get") == "$batch get"
    assert graph_operation("delete", "https://graph/v1.0/subscriptions/1", "") == "DELETE"


def test_the_status_page_shows_each_mailboxs_next_healing() -> None:
    from roomsops.services.serve.status import Board, MailboxRow, Snapshot, status_app

    board = Board()
    heal = T0 + DAY
    rows = (
        MailboxRow("a@x.ch", "ews", T0, "ok", "none", next_due=T0 + timedelta(minutes=1), next_healing=heal),
        MailboxRow("n@x.ch", "graph", None, "not yet"),
    )
    board.publish(Snapshot(taken=T0, ticks=1, mailboxes=rows))
    app = status_app(board, ServeMetrics(), (), {"ews": 60, "graph": 900})
    answers: list[str] = []
    body = b"".join(
        app(
            {"PATH_INFO": "/", "REQUEST_METHOD": "GET", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1"},
            lambda status, headers, *_: answers.append(status),
        )
    ).decode()
    assert answers == ["200 OK"] and "<th>next healing</th>" in body
    assert f"<td>{heal.isoformat(timespec='seconds')}</td></tr>" in body  # the row's last cell
    assert "<td>now</td><td>—</td></tr>" in body  # never synced: no healing due yet
