"""Review of issue 23, third round: Graph answers inside $batch."""

from __future__ import annotations

from collections.abc import Iterator

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


@pytest.fixture
def graph(fresh_lab: LabHelper) -> Iterator[GraphClient]:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    yield graph_client(fresh_lab)


def test_review23c_a_batch_answer_names_every_preference_applied(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """The same GET with `Prefer: outlook.timezone="...", IdType="ImmutableId"` answers both in
    Preference-Applied when sent alone, but inside $batch the answer's headers kept only the last of the two
    Preference-Applied headers the lab wrote (IdType): a client checking that its time zone was applied (the
    times are in that zone) saw it was not."""
    diego = address(fresh_lab, "DiegoS")
    made = graph.post(f"/users/{diego}/events", event("z", "2030-03-04T09:00:00", "2030-03-04T10:00:00"))
    assert made.status_code == 201, made.text
    prefer = 'outlook.timezone="Pacific Standard Time", IdType="ImmutableId"'
    path = f"/users/{diego}/events/{made.json()['id']}"
    alone = graph.call("GET", path, headers={"Prefer": prefer})
    assert "outlook.timezone" in alone.headers["Preference-Applied"]
    batch = graph.post(
        "/$batch", {"requests": [{"id": "1", "method": "GET", "url": path, "headers": {"Prefer": prefer}}]}
    )
    (answer,) = batch.json()["responses"]
    assert answer["body"]["start"]["timeZone"] == "Pacific Standard Time"
    applied = answer["headers"]["Preference-Applied"]
    assert "outlook.timezone" in applied and "IdType" in applied, applied
