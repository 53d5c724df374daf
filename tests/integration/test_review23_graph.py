"""Review of issue 23 (the lab's Microsoft Graph): behaviours where the lab answers otherwise than Graph does.
Every answer goes through the CSDL-checking client (tests/graph_client.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.graph_client import CSDL, GraphClient, report

from .conftest import LabHelper, address

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def csdl_report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report(request)
    assert CSDL.violations == [], CSDL.violations


def graph_client(lab: LabHelper, app: str = "rooms") -> GraphClient:
    info = lab.app(app)
    return GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))


@pytest.fixture
def graph(fresh_lab: LabHelper) -> Iterator[GraphClient]:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    yield graph_client(fresh_lab)


def event(subject: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
        **extra,
    }


def test_review23_a_transaction_id_is_the_organizers_not_the_attendees_copy(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """transactionId dedupes a client's retried POST in the mailbox it POSTs to. Diego's meeting reaches Adele's
    calendar as an attendee copy; Adele's own POST with the same transactionId (e.g. derived from the same booking)
    must create Adele's own event, not answer Diego's meeting copy (which Adele does not organize)."""
    diego, adele = address(fresh_lab, "DiegoS"), address(fresh_lab, "AdeleV")
    tx = "booking-4711"
    meeting = graph.post(
        f"/users/{diego}/events",
        event(
            "Diego's",
            "2030-03-05T09:00:00",
            "2030-03-05T10:00:00",
            attendees=[{"emailAddress": {"address": adele}, "type": "required"}],
            transactionId=tx,
        ),
    )
    assert meeting.status_code == 201
    (copy,) = graph.get(f"/users/{adele}/events").json()["value"]
    assert copy["isOrganizer"] is False
    own = graph.post(
        f"/users/{adele}/events",
        event("Adele's", "2030-03-06T09:00:00", "2030-03-06T10:00:00", transactionId=tx),
    )
    assert own.status_code == 201
    assert own.json()["subject"] == "Adele's", own.json()["subject"]
    assert own.json()["isOrganizer"] is True
    assert len(graph.get(f"/users/{adele}/events").json()["value"]) == 2


def test_review23_a_batch_entry_with_headers_that_are_not_an_object_is_a_400_not_a_lab_failure(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego = address(fresh_lab, "DiegoS")
    answer = graph.post(
        "/$batch",
        {"requests": [{"id": "1", "method": "GET", "url": f"/users/{diego}/events", "headers": ["x"]}]},
        check=False,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "BadRequest"


def test_review23_a_batch_without_a_valid_token_of_its_own_runs_nothing(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """The batch request is what Graph authenticates: without a valid bearer token on the POST to $batch, Graph
    answers 401 InvalidAuthenticationToken; an Authorization header inside a request of the batch does not stand in
    for it (the lab ran the request with the inner header's token)."""
    diego = address(fresh_lab, "DiegoS")
    inner = {"Authorization": f"Bearer {graph.token()}", "Content-Type": "application/json"}
    batch = {
        "requests": [
            {
                "id": "1",
                "method": "POST",
                "url": f"/users/{diego}/events",
                "headers": inner,
                "body": event("smuggled", "2030-03-04T09:00:00", "2030-03-04T10:00:00"),
            }
        ]
    }
    for token in ("", "not-a-token"):
        answer = graph.post("/$batch", batch, token=token, check=False)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert fresh_lab.admin("GET", f"mailboxes/{diego}/calendar").json()["items"] == []


def test_review23_select_of_a_property_the_event_does_not_have_is_refused(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """Graph refuses $select of a property its metadata does not declare on event (400, "Could not find a property
    named 'X' on type 'microsoft.graph.event'"); the lab answered 200 without it, so a client's typo goes unseen."""
    diego = address(fresh_lab, "DiegoS")
    made = graph.post(
        f"/users/{diego}/events", event("x", "2030-03-04T09:00:00", "2030-03-04T10:00:00")
    ).json()
    for path in (f"/users/{diego}/events", f"/users/{diego}/events/{made['id']}"):
        answer = graph.get(f"{path}?$select=subject,startTime", check=False)
        assert answer.status_code == 400, answer.text


def test_review23_orderby_is_applied_or_refused_never_ignored(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """The lab refuses the $filter it does not evaluate (400), but took $orderby and answered in its own order: a
    client asking for the latest events first got the oldest first, without a sign."""
    diego = address(fresh_lab, "DiegoS")
    for day in ("04", "05", "06"):
        graph.post(f"/users/{diego}/events", event(day, f"2030-03-{day}T09:00:00", f"2030-03-{day}T10:00:00"))
    answer = graph.get(f"/users/{diego}/events?$orderby=start/dateTime desc", check=False)
    if answer.status_code == 200:
        assert [e["subject"] for e in answer.json()["value"]] == ["06", "05", "04"]
    else:
        assert answer.status_code == 400, answer.text


def test_review23_a_graph_token_may_name_graph_by_its_application_id(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """Entra names a resource by its application ID URI or its application id: the scope
    00000003-0000-0000-c000-000000000000/.default is Microsoft Graph's (graph/auth-v2-service, "/.default"); the
    lab's token service answered invalid_resource (AADSTS500011)."""
    answer = graph.http.post(
        fresh_lab.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": graph.client_id,
            "client_secret": graph.secret,
            "scope": "00000003-0000-0000-c000-000000000000/.default",
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    assert graph.get(f"/users/{address(fresh_lab, 'DiegoS')}/events", token=token).status_code == 200


def test_review23_a_transaction_id_of_a_deleted_event_does_not_answer_the_deleted_event(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """A booking's meeting is deleted (or cancelled) and made again with the same transactionId: the lab answered
    201 with the deleted event from Deleted Items, whose id then answered 404, and the calendar stayed empty. The
    answer to a POST must be an event the calendar has."""
    diego, adele = address(fresh_lab, "DiegoS"), address(fresh_lab, "AdeleV")
    plain = event("again", "2030-03-04T09:00:00", "2030-03-04T10:00:00", transactionId="booking-1")
    first = graph.post(f"/users/{diego}/events", plain).json()
    assert graph.delete(f"/users/{diego}/events/{first['id']}").status_code == 204
    again = graph.post(f"/users/{diego}/events", plain)
    assert again.status_code == 201
    assert graph.get(f"/users/{diego}/events/{again.json()['id']}", check=False).status_code == 200
    meeting = event(
        "meeting again",
        "2030-03-05T09:00:00",
        "2030-03-05T10:00:00",
        transactionId="booking-2",
        attendees=[{"emailAddress": {"address": adele}, "type": "required"}],
    )
    made = graph.post(f"/users/{diego}/events", meeting).json()
    assert graph.post(f"/users/{diego}/events/{made['id']}/cancel", {}).status_code == 202
    remade = graph.post(f"/users/{diego}/events", meeting).json()
    assert remade["isCancelled"] is False
    assert graph.get(f"/users/{diego}/events/{remade['id']}", check=False).status_code == 200
    assert sorted(e["subject"] for e in graph.get(f"/users/{diego}/events").json()["value"]) == [
        "again",
        "meeting again",
    ]


def test_review23_a_show_as_that_is_not_a_string_is_a_400_not_a_lab_failure(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """A fuzz of 3,045 POST/PATCH bodies (every writable property × odd JSON values, on a single event, a series
    master and occurrences) found one kind of 500: showAs given an array or object."""
    diego = address(fresh_lab, "DiegoS")
    made = graph.post(
        f"/users/{diego}/events", event("x", "2030-03-04T09:00:00", "2030-03-04T10:00:00")
    ).json()
    for value in ([], {}, ["busy"], {"a": 1}):
        created = graph.post(
            f"/users/{diego}/events",
            {**event("y", "2030-03-04T09:00:00", "2030-03-04T10:00:00"), "showAs": value},
            check=False,
        )
        changed = graph.patch(f"/users/{diego}/events/{made['id']}", {"showAs": value}, check=False)
        assert (created.status_code, changed.status_code) == (400, 400), (created.text, changed.text)


def test_review23_a_body_content_type_outside_the_body_type_enum_is_refused(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """itemBody.contentType is a bodyType (text, html): Graph refuses other members as it does for showAs or
    sensitivity ("Requested value 'pdf' was not found."); the lab stored the body as text and answered 201."""
    diego = address(fresh_lab, "DiegoS")
    for value in ({"contentType": "pdf", "content": "x"}, {"contentType": "text", "content": 5}):
        answer = graph.post(
            f"/users/{diego}/events",
            {**event("x", "2030-03-04T09:00:00", "2030-03-04T10:00:00"), "body": value},
            check=False,
        )
        assert answer.status_code == 400, answer.text
    assert graph.get(f"/users/{diego}/events").json()["value"] == []


def test_review23_a_mailbox_s_delta_state_is_not_forgotten_because_other_mailboxes_were_synced(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """The lab kept at most 2000 delta states for all mailboxes together: a sync of a tenant (one deltaLink per
    mailbox and pass, one token per page) pushed out the deltaLinks of mailboxes synced earlier, so every pass of a
    large tenant answered 410 syncStateNotFound and started over. Graph keeps a mailbox's sync state (for days),
    whatever other mailboxes do."""
    diego, adele = address(fresh_lab, "DiegoS"), address(fresh_lab, "AdeleV")
    window = "startDateTime=2030-03-01T00:00:00Z&endDateTime=2030-03-31T00:00:00Z"
    kept = graph.get(f"/users/{diego}/calendarView/delta?{window}").json()["@odata.deltaLink"]
    link = graph.get(f"/users/{adele}/calendarView/delta?{window}").json()["@odata.deltaLink"]
    for _ in range(2000):  # another mailbox's passes (as 2000 mailboxes' would be)
        link = graph.get(link, check=False).json()["@odata.deltaLink"]
    again = graph.get(kept, check=False)
    assert again.status_code == 200, again.text
