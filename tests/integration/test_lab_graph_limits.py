"""The lab's Graph under load and failure (issue 23): $batch with dependsOn and a 429 inside, Outlook's throttling
per app and mailbox (the fifth concurrent request, held deterministically by the lab's gate; the request budget),
and injected faults (429, 503 with Retry-After, a lost answer after an applied write, a dropped connection)."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.graph_client import CSDL, GraphClient, report

from .conftest import LabHelper, address
from .test_lab_graph import event, graph_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def csdl_report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report(request)
    assert CSDL.violations == [], CSDL.violations


@pytest.fixture
def graph(fresh_lab: LabHelper) -> Iterator[GraphClient]:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    yield graph_client(fresh_lab)
    fresh_lab.admin("POST", "graph/gate", {"open": True})


def graph_state(lab: LabHelper) -> dict[str, Any]:
    return dict(lab.admin("GET", "graph").json()["throttle"])


def wait_for(condition: Any, bound: float = 30.0) -> None:
    """Poll a lab-side condition (a count), with a generous bound; never a guess about timing."""
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.02)


def test_a_batch_runs_in_order_with_depends_on_and_answers_each_request(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego = address(fresh_lab, "DiegoS")
    fresh_lab.fault(
        protocol="graph", operation="events.create", kind="server_busy", back_off_ms=2000, count=1
    )
    requests_: list[dict[str, Any]] = [
        {
            "id": "1",
            "method": "POST",
            "url": f"/users/{diego}/events",
            "headers": {"Content-Type": "application/json"},
            "body": event("throttled", "2030-03-04T09:00:00", "2030-03-04T10:00:00"),
        },
        {
            "id": "2",
            "method": "POST",
            "url": f"/users/{diego}/events",
            "headers": {"Content-Type": "application/json"},
            "body": event("made", "2030-03-04T11:00:00", "2030-03-04T12:00:00"),
        },
        {"id": "3", "method": "GET", "url": f"/users/{diego}/events", "dependsOn": ["2"]},
        {"id": "4", "method": "GET", "url": f"/users/{diego}/events", "dependsOn": ["1"]},
        {"id": "5", "method": "GET", "url": "/users/nobody@example.com/events"},
    ]
    answer = graph.post("/$batch", {"requests": requests_})
    assert answer.status_code == 200
    by_id = {r["id"]: r for r in answer.json()["responses"]}
    assert by_id["1"]["status"] == 429 and by_id["1"]["headers"]["Retry-After"] == "2"
    assert by_id["1"]["body"]["error"]["code"] == "ApplicationThrottled"
    assert by_id["2"]["status"] == 201 and by_id["2"]["body"]["subject"] == "made"
    assert [e["subject"] for e in by_id["3"]["body"]["value"]] == ["made"]
    assert by_id["4"]["status"] == 424
    assert by_id["5"]["status"] == 404
    too_many = [{"id": str(n), "method": "GET", "url": f"/users/{diego}/events"} for n in range(21)]
    assert graph.post("/$batch", {"requests": too_many}).status_code == 400
    # A batch refused for a dependency that comes later runs none of its requests.
    backwards = [
        {**requests_[1], "id": "a"},
        {"id": "b", "method": "GET", "url": f"/users/{diego}/events", "dependsOn": ["c"]},
        {"id": "c", "method": "GET", "url": f"/users/{diego}/events"},
    ]
    assert graph.post("/$batch", {"requests": backwards}).status_code == 400
    counts = fresh_lab.requests()
    assert counts["graph:batch"] == 3 and counts["graph:events.create"] == 2
    assert len(graph.get(f"/users/{diego}/events").json()["value"]) == 1


def test_the_fifth_concurrent_request_to_a_mailbox_is_throttled(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego, adele = address(fresh_lab, "DiegoS"), address(fresh_lab, "AdeleV")
    token = graph.token()
    assert fresh_lab.admin("POST", "graph/gate", {"open": False}).status_code == 200
    clients = [graph_client(fresh_lab) for _ in range(4)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        held = [pool.submit(c.get, f"/users/{diego}/events", token=token) for c in clients]
        wait_for(lambda: graph_state(fresh_lab)["waiting"] == 4)
        fifth = graph.get(f"/users/{diego}/events")
        assert fifth.status_code == 429 and fifth.headers["Retry-After"] == "1"
        assert "MailboxConcurrency" in fifth.json()["error"]["message"]
        # Another mailbox has its own four.
        other = concurrent.futures.ThreadPoolExecutor(1).submit(graph.get, f"/users/{adele}/events")
        wait_for(lambda: graph_state(fresh_lab)["waiting"] == 5)
        fresh_lab.admin("POST", "graph/gate", {"open": True})
        assert [f.result().status_code for f in held] == [200, 200, 200, 200]
        assert other.result().status_code == 200
    assert graph.get(f"/users/{diego}/events").status_code == 200
    assert graph_state(fresh_lab)["throttled"] == 1
    # The gate is the lab's admin API: behind its token like every /lab/ call.
    assert (
        fresh_lab.session.post(f"{fresh_lab.base_url}/lab/graph/gate", json={"open": False}).status_code
        == 401
    )


def test_the_request_budget_per_app_and_mailbox(graph: GraphClient, fresh_lab: LabHelper) -> None:
    diego, adele = address(fresh_lab, "DiegoS"), address(fresh_lab, "AdeleV")
    assert graph_state(fresh_lab)["rate_limit"] == 10_000  # Outlook's 10,000 per 10 minutes
    fresh_lab.admin("POST", "graph/throttle", {"rate_limit": 3})  # the same count, smaller, to stay fast
    assert [graph.get(f"/users/{diego}/events").status_code for _ in range(4)] == [200, 200, 200, 429]
    over = graph.get(f"/users/{diego}/events")
    assert int(over.headers["Retry-After"]) > 500 and over.json()["error"]["code"] == "ApplicationThrottled"
    assert graph.get(f"/users/{adele}/events").status_code == 200


def test_injected_faults_have_graphs_shape(graph: GraphClient, fresh_lab: LabHelper) -> None:
    diego = address(fresh_lab, "DiegoS")
    fresh_lab.fault(protocol="graph", operation="events.list", kind="http_503", back_off_ms=3000, count=1)
    busy = graph.get(f"/users/{diego}/events")
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "3")
    assert busy.json()["error"]["code"] == "ServiceUnavailable"
    fresh_lab.fault(protocol="graph", operation="events.list", kind="server_busy", back_off_ms=1000, count=1)
    assert graph.get(f"/users/{diego}/events").status_code == 429
    # A lost answer after an applied write: the event exists, the client saw the connection end.
    fresh_lab.fault(protocol="graph", operation="events.create", kind="drop_after", count=1)
    with pytest.raises(requests.ConnectionError):
        graph.post(
            f"/users/{diego}/events", event("lost answer", "2030-03-04T09:00:00", "2030-03-04T10:00:00")
        )
    # A dropped connection before the request applies: nothing is written.
    fresh_lab.fault(protocol="graph", operation="events.create", kind="drop_before", count=1)
    with pytest.raises(requests.ConnectionError):
        graph.post(f"/users/{diego}/events", event("never", "2030-03-04T11:00:00", "2030-03-04T12:00:00"))
    subjects = [e["subject"] for e in graph.get(f"/users/{diego}/events").json()["value"]]
    assert subjects == ["lost answer"]
