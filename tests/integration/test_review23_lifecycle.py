"""Review of issue 23, second round: answering a lifecycle notification as Microsoft's docs say."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.graph_client import CSDL, GraphClient, report

from .conftest import LabHelper, address
from .test_lab_graph_notifications import Receiver, expires
from .test_review23_graph import graph_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def csdl_report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report(request)
    assert CSDL.violations == [], CSDL.violations


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


def test_review23_a_reauthorization_required_is_answered_with_the_reauthorize_action(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    """graph/webhooks-lifecycle ("Responding to reauthorizationRequired notifications"): the app reauthorizes the
    subscription with `POST /subscriptions/{id}/reauthorize` (graph/api/subscription-reauthorize: 204 No Content)
    or renews it. The lab sent reauthorizationRequired but had no reauthorize action (400 "Resource not found for
    the segment 'reauthorize'"), so a client written from the docs failed against the lab. Another app's
    subscription stays another app's (404)."""
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
    told = fresh_lab.admin(
        "POST", f"graph/subscriptions/{subscription['id']}/lifecycle", {"event": "reauthorizationRequired"}
    )
    assert told.status_code == 200, told.text
    assert receiver.wait(1)[-1]["lifecycleEvent"] == "reauthorizationRequired"
    answer = graph.post(f"/subscriptions/{subscription['id']}/reauthorize", check=False)
    assert answer.status_code == 204, (answer.status_code, answer.text[:300])
    assert graph.get(f"/subscriptions/{subscription['id']}").status_code == 200
    unknown = graph.post("/subscriptions/00000000-0000-0000-0000-000000000000/reauthorize", check=False)
    assert unknown.status_code == 404, unknown.text[:300]
