"""The lab's Microsoft Graph face (issue 23): tokens and authorization, events, calendarView and delta, writes as
Graph does them, all through `requests` (the Graph backend's client) against the lab on 127.0.0.1; every JSON
answer is checked against Graph's v1.0 metadata as it arrives (tests/graph_client.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.graph_client import CSDL, GRAPH, GraphClient

from .conftest import LabHelper, address

pytestmark = pytest.mark.integration

START, END = "2030-03-04T00:00:00Z", "2030-03-11T00:00:00Z"
WINDOW = f"startDateTime={START}&endDateTime={END}"


def graph_client(lab: LabHelper, app: str = "rooms") -> GraphClient:
    info = lab.app(app)
    return GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))


@pytest.fixture
def graph(fresh_lab: LabHelper) -> Iterator[GraphClient]:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    yield graph_client(fresh_lab)
    assert CSDL.violations == []


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def event(subject: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
        **extra,
    }


def test_an_app_only_token_for_graph_carries_the_graph_roles_and_opens_the_calendar(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    token = claims(graph.token())
    assert (token["aud"], token["idtyp"]) == (GRAPH, "app")
    assert token["roles"] == ["Calendars.ReadWrite", "User.Read.All"]
    diego = address(fresh_lab, "DiegoS")
    listed = graph.get(f"/users/{diego}/events")
    assert listed.status_code == 200 and listed.json()["value"] == []
    user = graph.get(f"/users/{diego}").json()
    # The user's object id names the same mailbox as its UPN.
    assert graph.get(f"/users/{user['id']}/events").status_code == 200
    counts = fresh_lab.requests()
    assert counts["graph:events.list"] == 2 and counts["graph:users.get"] == 1


def test_tokens_are_checked_and_refusals_have_graphs_error_body(graph: GraphClient, fresh_lab: LabHelper) -> None:
    diego = address(fresh_lab, "DiegoS")
    missing = graph.get(f"/users/{diego}/events", token="")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "WWW-Authenticate" in missing.headers
    # A token for the lab's Exchange (EWS) is not one for Graph.
    ews = graph.http.post(
        fresh_lab.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": graph.client_id,
            "client_secret": graph.secret,
            "scope": fresh_lab.scope,
        },
        timeout=30,
    ).json()["access_token"]
    wrong = graph.get(f"/users/{diego}/events", token=ews)
    assert wrong.status_code == 401 and "audience" in wrong.json()["error"]["message"]
    nobody = graph.get(f"/users/nobody@{fresh_lab.info['tenant']['domain']}/events")
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (404, "ErrorInvalidUser")
    # Calendars.Read only: reads pass, writes are refused.
    app_id = graph.client_id
    for permission, grant in (("Calendars.ReadWrite", False), ("Calendars.Read", True)):
        answer = fresh_lab.admin(
            "POST", "consent", {"app_id": app_id, "permission": permission, "grant": grant, "resource": "graph"}
        )
        assert answer.status_code == 200, answer.text
    reader = graph.token(fresh=True)
    assert claims(reader)["roles"] == ["Calendars.Read", "User.Read.All"]
    assert graph.get(f"/users/{diego}/events").status_code == 200
    denied = graph.post(f"/users/{diego}/events", event("x", "2030-03-04T09:00:00", "2030-03-04T10:00:00"))
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "ErrorAccessDenied")
    assert fresh_lab.admin("GET", f"mailboxes/{diego}/calendar").json()["items"] == []
