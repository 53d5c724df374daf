"""The lab's Microsoft Graph face (issue 23): tokens and authorization, events, calendarView and delta, writes as
Graph does them, all through `requests` (the Graph backend's client) against the lab on 127.0.0.1; every JSON
answer is checked against Graph's v1.0 metadata as it arrives (tests/graph_client.py)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.graph_client import CSDL, GRAPH, GraphClient, report

from .conftest import LabHelper, address

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def csdl_report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report(request)
    assert CSDL.violations == [], CSDL.violations


START, END = "2030-03-04T00:00:00Z", "2030-03-11T00:00:00Z"
WINDOW = f"startDateTime={START}&endDateTime={END}"


def graph_client(lab: LabHelper, app: str = "rooms") -> GraphClient:
    info = lab.app(app)
    return GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))


@pytest.fixture
def graph(fresh_lab: LabHelper) -> Iterator[GraphClient]:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    yield graph_client(fresh_lab)


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


def test_tokens_are_checked_and_refusals_have_graphs_error_body(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
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
            "POST",
            "consent",
            {"app_id": app_id, "permission": permission, "grant": grant, "resource": "graph"},
        )
        assert answer.status_code == 200, answer.text
    reader = graph.token(fresh=True)
    assert claims(reader)["roles"] == ["Calendars.Read", "User.Read.All"]
    assert graph.get(f"/users/{diego}/events").status_code == 200
    denied = graph.post(f"/users/{diego}/events", event("x", "2030-03-04T09:00:00", "2030-03-04T10:00:00"))
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "ErrorAccessDenied")
    assert fresh_lab.admin("GET", f"mailboxes/{diego}/calendar").json()["items"] == []
    # Without any calendar permission, a known and an unknown user get the same refusal.
    fresh_lab.admin(
        "POST",
        "consent",
        {"app_id": app_id, "permission": "Calendars.Read", "grant": False, "resource": "graph"},
    )
    graph.token(fresh=True)
    refusals = [
        graph.get(f"/users/{who}/events") for who in (diego, f"nobody@{fresh_lab.info['tenant']['domain']}")
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refusals] == [(403, "ErrorAccessDenied")] * 2


def test_events_are_created_read_updated_and_deleted_on_the_same_store_as_ews(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego = address(fresh_lab, "DiegoS")
    created = graph.post(
        f"/users/{diego}/events",
        event(
            "Planning",
            "2030-03-04T09:00:00",
            "2030-03-04T10:00:00",
            body={"contentType": "text", "content": "agenda"},
            location={"displayName": "Desk 4"},
            categories=["Blue"],
            showAs="tentative",
        ),
    )
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["type"] == "singleInstance" and first["isOrganizer"] is True
    assert first["start"] == {"dateTime": "2030-03-04T09:00:00.0000000", "timeZone": "UTC"}
    assert first["@odata.etag"] == f'W/"{first["changeKey"]}"' and created.headers["Location"].endswith("')")
    (stored,) = fresh_lab.admin("GET", f"mailboxes/{diego}/calendar").json()["items"]
    assert stored["subject"] == "Planning" and stored["location"] == "Desk 4"  # the EWS store's item
    read = graph.get(f"/users/{diego}/events/{first['id']}").json()
    assert (read["subject"], read["showAs"], read["categories"]) == ("Planning", "tentative", ["Blue"])
    changed = graph.patch(f"/users/{diego}/events/{first['id']}", {"subject": "Planning v2"})
    assert changed.status_code == 200 and changed.json()["changeKey"] != first["changeKey"]
    bad = graph.patch(f"/users/{diego}/events/{first['id']}", {"isOrganizer": False})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "RequestBodyRead")
    backwards = graph.patch(
        f"/users/{diego}/events/{first['id']}",
        {"end": {"dateTime": "2030-03-04T08:00:00", "timeZone": "UTC"}},
    )
    assert backwards.status_code == 400
    assert graph.delete(f"/users/{diego}/events/{first['id']}").status_code == 204
    gone = graph.get(f"/users/{diego}/events/{first['id']}")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "ErrorItemNotFound")
    malformed = graph.get(f"/users/{diego}/events/not-an-id")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "ErrorInvalidIdMalformed")
    assert graph.get(f"/users/{diego}/events").json()["value"] == []


def test_a_stale_etag_is_412_and_the_current_one_passes(graph: GraphClient, fresh_lab: LabHelper) -> None:
    diego = address(fresh_lab, "DiegoS")
    first = graph.post(
        f"/users/{diego}/events", event("A", "2030-03-04T09:00:00", "2030-03-04T10:00:00")
    ).json()
    second = graph.patch(
        f"/users/{diego}/events/{first['id']}", {"subject": "B"}, headers={"If-Match": first["@odata.etag"]}
    )
    assert second.status_code == 200
    stale = graph.patch(
        f"/users/{diego}/events/{first['id']}", {"subject": "C"}, headers={"If-Match": first["@odata.etag"]}
    )
    assert (stale.status_code, stale.json()["error"]["code"]) == (412, "ErrorIrresolvableConflict")
    stale_delete = graph.delete(
        f"/users/{diego}/events/{first['id']}", headers={"If-Match": first["@odata.etag"]}
    )
    assert stale_delete.status_code == 412
    assert graph.get(f"/users/{diego}/events/{first['id']}").json()["subject"] == "B"


def test_a_retried_post_with_the_same_transaction_id_returns_the_first_event(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego = address(fresh_lab, "DiegoS")
    body = event(
        "Once",
        "2030-03-04T09:00:00",
        "2030-03-04T10:00:00",
        transactionId="7E163156-7762-4BEB-A1C6-729EA81755A7",
    )
    first, retried = (graph.post(f"/users/{diego}/events", body) for _ in range(2))
    assert first.status_code == retried.status_code == 201
    assert retried.json()["id"] == first.json()["id"]
    assert retried.json()["transactionId"] == body["transactionId"]
    assert len(graph.get(f"/users/{diego}/events").json()["value"]) == 1
    other = graph.post(f"/users/{diego}/events", {**body, "transactionId": "another"})
    assert other.json()["id"] != first.json()["id"]


BOOKING = "String {00020329-0000-0000-C000-000000000046} Name roomsops-booking"


def test_extended_properties_are_written_expanded_and_filtered(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego = address(fresh_lab, "DiegoS")
    for n in (1, 2):
        body = event(f"B{n}", "2030-03-04T09:00:00", "2030-03-04T10:00:00")
        body["singleValueExtendedProperties"] = [{"id": BOOKING, "value": f"booking-{n}"}]
        assert graph.post(f"/users/{diego}/events", body).status_code == 201
    plain = graph.get(f"/users/{diego}/events").json()["value"]
    assert all("singleValueExtendedProperties" not in e for e in plain)
    query = f"$filter=singleValueExtendedProperties/Any(ep: ep/id eq '{BOOKING}' and ep/value eq 'booking-2')"
    expand = (
        f"$expand=singleValueExtendedProperties($filter=id eq '{BOOKING.lower().replace('name', 'Name')}')"
    )
    found = graph.get(f"/users/{diego}/events?{query}&{expand}").json()["value"]
    assert [e["subject"] for e in found] == ["B2"]
    assert found[0]["singleValueExtendedProperties"] == [
        {"id": "String {00020329-0000-0000-c000-000000000046} Name roomsops-booking", "value": "booking-2"}
    ]
    unsupported = graph.get(f"/users/{diego}/events?$filter=subject eq 'B2'")
    assert unsupported.status_code == 400


def test_cancel_is_for_the_organizer_and_reaches_the_attendees(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego, adele = address(fresh_lab, "DiegoS"), address(fresh_lab, "AdeleV")
    meeting = graph.post(
        f"/users/{diego}/events",
        event(
            "Review",
            "2030-03-05T09:00:00",
            "2030-03-05T10:00:00",
            attendees=[{"emailAddress": {"address": adele}, "type": "required"}],
        ),
    ).json()
    (copy,) = graph.get(f"/users/{adele}/events").json()["value"]
    assert copy["iCalUId"] == meeting["iCalUId"] and copy["isOrganizer"] is False
    assert copy["responseStatus"]["response"] == "notResponded"
    refused = graph.post(f"/users/{adele}/events/{copy['id']}/cancel", {"Comment": "no"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "ErrorAccessDenied")
    cancelled = graph.post(f"/users/{diego}/events/{meeting['id']}/cancel", {"Comment": "sorry"})
    assert cancelled.status_code == 202 and not cancelled.content
    assert graph.get(f"/users/{diego}/events").json()["value"] == []
    (after,) = graph.get(f"/users/{adele}/events").json()["value"]
    assert after["isCancelled"] is True and after["subject"].startswith("Canceled: ")


def test_a_resource_attendee_is_answered_late_by_the_rooms_calendar_processing(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego, room = address(fresh_lab, "DiegoS"), address(fresh_lab, "room-zurich")
    day = (dt.date.today() + dt.timedelta(days=7)).isoformat()  # inside the room's booking window
    meeting = graph.post(
        f"/users/{diego}/events",
        event(
            "Booked",
            f"{day}T09:00:00",
            f"{day}T10:00:00",
            attendees=[{"emailAddress": {"address": room}, "type": "resource"}],
        ),
    ).json()
    (pending,) = meeting["attendees"]
    assert (pending["type"], pending["status"]["response"]) == ("resource", "none")
    assert fresh_lab.admin("POST", "room-answers/process").status_code == 200
    answered = graph.get(f"/users/{diego}/events/{meeting['id']}").json()
    assert answered["attendees"][0]["status"]["response"] == "accepted"
    assert answered["changeKey"] != meeting["changeKey"]
    (booking,) = graph.get(f"/users/{room}/events").json()["value"]
    assert booking["iCalUId"] == meeting["iCalUId"] and booking["showAs"] == "busy"


def test_series_occurrences_and_exceptions_come_from_the_store(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego = address(fresh_lab, "DiegoS")
    body = event("Daily", "2030-03-04T08:00:00", "2030-03-04T08:30:00")
    body["recurrence"] = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2030-03-04", "numberOfOccurrences": 5},
    }
    master = graph.post(f"/users/{diego}/events", body).json()
    assert master["type"] == "seriesMaster" and master["recurrence"]["range"]["numberOfOccurrences"] == 5
    instances = graph.get(f"/users/{diego}/events/{master['id']}/instances?{WINDOW}").json()["value"]
    assert [i["start"]["dateTime"][:10] for i in instances] == [f"2030-03-0{d}" for d in range(4, 9)]
    assert {i["type"] for i in instances} == {"occurrence"} and {i["seriesMasterId"] for i in instances} == {
        master["id"]
    }
    third = instances[2]
    moved = graph.patch(
        f"/users/{diego}/events/{third['id']}",
        {
            "subject": "Moved",
            "start": {"dateTime": "2030-03-06T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-03-06T10:30:00", "timeZone": "UTC"},
        },
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["type"], moved.json()["subject"]) == ("exception", "Moved")
    assert graph.delete(f"/users/{diego}/events/{instances[4]['id']}").status_code == 204
    view = graph.get(f"/users/{diego}/calendarView?{WINDOW}").json()["value"]
    assert [(v["type"], v["start"]["dateTime"][:16]) for v in view] == [
        ("occurrence", "2030-03-04T08:00"),
        ("occurrence", "2030-03-05T08:00"),
        ("exception", "2030-03-06T10:00"),
        ("occurrence", "2030-03-07T08:00"),
    ]
    missing = graph.get(f"/users/{diego}/calendarView")
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "ErrorInvalidParameter")


def test_calendar_view_pages_with_top_and_maxpagesize(graph: GraphClient, fresh_lab: LabHelper) -> None:
    diego = address(fresh_lab, "DiegoS")
    for n in range(5):
        graph.post(
            f"/users/{diego}/events", event(f"E{n}", f"2030-03-05T0{n}:00:00", f"2030-03-05T0{n}:30:00")
        )
    seen, url, pages = [], f"/users/{diego}/calendarView?{WINDOW}", 0
    while url:
        body = graph.get(url, headers={"Prefer": "odata.maxpagesize=2"}).json()
        seen += [e["subject"] for e in body["value"]]
        url, pages = body.get("@odata.nextLink", ""), pages + 1
    assert (seen, pages) == ([f"E{n}" for n in range(5)], 3)
    assert len(graph.get(f"/users/{diego}/calendarView?{WINDOW}&$top=4").json()["value"]) == 4


def delta_round(graph: GraphClient, url: str, page: int = 2) -> tuple[list[dict[str, Any]], str, int]:
    entries, pages = [], 0
    while True:
        body = graph.get(url, headers={"Prefer": f"odata.maxpagesize={page}"}).json()
        entries += body["value"]
        pages += 1
        if "@odata.deltaLink" in body:
            return entries, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]
        assert "$skiptoken=" in url


def test_delta_across_pages_reports_creates_updates_and_deletes(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego = address(fresh_lab, "DiegoS")
    ids = [
        graph.post(
            f"/users/{diego}/events", event(f"D{n}", f"2030-03-05T0{n}:00:00", f"2030-03-05T0{n}:30:00")
        ).json()["id"]
        for n in range(5)
    ]
    outside = graph.post(
        f"/users/{diego}/events", event("Later", "2030-04-01T09:00:00", "2030-04-01T10:00:00")
    )
    entries, delta_link, pages = delta_round(graph, f"/users/{diego}/calendarView/delta?{WINDOW}")
    assert pages == 3 and sorted(e["subject"] for e in entries) == [f"D{n}" for n in range(5)]
    assert "$deltatoken=" in delta_link
    # Nothing changed: an empty round.
    empty, delta_link, _ = delta_round(graph, delta_link)
    assert empty == []
    graph.patch(f"/users/{diego}/events/{ids[0]}", {"subject": "D0 changed"})
    graph.delete(f"/users/{diego}/events/{ids[1]}")
    graph.patch(  # moved out of the window: removed from the view
        f"/users/{diego}/events/{ids[2]}",
        {
            "start": {"dateTime": "2030-05-01T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-05-01T10:00:00", "timeZone": "UTC"},
        },
    )
    graph.patch(  # moved into the window: appears
        f"/users/{diego}/events/{outside.json()['id']}",
        {
            "start": {"dateTime": "2030-03-06T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-03-06T10:00:00", "timeZone": "UTC"},
        },
    )
    graph.post(f"/users/{diego}/events", event("New", "2030-03-07T09:00:00", "2030-03-07T10:00:00"))
    changes, delta_link, pages = delta_round(graph, delta_link)
    assert pages == 3
    removed = sorted(e["id"] for e in changes if "@removed" in e)
    assert removed == sorted([ids[1], ids[2]])
    assert sorted(e["subject"] for e in changes if "@removed" not in e) == ["D0 changed", "Later", "New"]
    expired = graph.get(f"/users/{diego}/calendarView/delta?$deltatoken=not-a-token")
    assert (expired.status_code, expired.json()["error"]["code"]) == (410, "syncStateNotFound")
    assert fresh_lab.admin("POST", "graph/delta/expire").json()["expired"] >= 1
    forgotten = graph.get(delta_link)
    assert (forgotten.status_code, forgotten.json()["error"]["code"]) == (410, "syncStateNotFound")


def test_time_zone_and_immutable_id_preferences_and_id_translation(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    diego = address(fresh_lab, "DiegoS")
    created = graph.post(
        f"/users/{diego}/events",
        {
            "subject": "Zoned",
            "start": {"dateTime": "2030-03-05T09:00:00", "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": "2030-03-05T10:00:00", "timeZone": "W. Europe Standard Time"},
        },
    ).json()
    assert created["start"]["dateTime"] == "2030-03-05T08:00:00.0000000"  # UTC by default
    assert created["originalStartTimeZone"] == "W. Europe Standard Time"
    pacific = graph.get(
        f"/users/{diego}/events/{created['id']}",
        headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'},
    )
    assert pacific.json()["start"] == {
        "dateTime": "2030-03-05T00:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    assert "outlook.timezone" in pacific.headers["Preference-Applied"]
    immutable = graph.get(
        f"/users/{diego}/events/{created['id']}", headers={"Prefer": 'IdType="ImmutableId"'}
    ).json()
    assert immutable["id"] != created["id"]
    assert graph.get(f"/users/{diego}/events/{immutable['id']}").json()["subject"] == "Zoned"
    # Graph refuses translateExchangeIds to app-only tokens (the lab's only kind); what is tested here is the
    # translation itself, so the test-only lab setting lets this app call it (README, FIDELITY.md).
    fresh_lab.settings(graph_translate_ids_app_only=True)
    ews_id = created["id"].replace("-", "/").replace("_", "+")
    translated = graph.post(
        f"/users/{diego}/translateExchangeIds",
        {"inputIds": [ews_id], "sourceIdType": "ewsId", "targetIdType": "restImmutableEntryId"},
    ).json()["value"]
    assert translated == [{"sourceId": ews_id, "targetId": immutable["id"]}]
    back = graph.post(
        f"/users/{diego}/translateExchangeIds",
        {
            "inputIds": [immutable["id"], "garbage"],
            "sourceIdType": "restImmutableEntryId",
            "targetIdType": "ewsId",
        },
    ).json()["value"]
    assert back[0]["targetId"] == ews_id and back[1]["errorDetails"]["code"] == "ErrorInvalidIdMalformed"


def test_deleting_one_occurrence_of_a_room_series_sends_its_cancellation_as_over_ews(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """DELETE of one occurrence over Graph cancels that occurrence for attendees and rooms the way EWS's
    CancelCalendarItem does (delivery.cancel_occurrence): the room, with RemoveCanceledMeetings $false (the
    default), keeps it as a cancelled, free exception; before, Graph re-sent the whole series and the room's copy
    lost the occurrence."""
    diego, room = address(fresh_lab, "DiegoS"), address(fresh_lab, "room-zurich")
    # Inside the room's booking window (180 days by default): two weeks ahead.
    first = dt.date.today() + dt.timedelta(days=14)
    days = [first + dt.timedelta(days=n) for n in range(3)]
    body = event("Daily with room", f"{first}T08:00:00", f"{first}T08:30:00")
    body["attendees"] = [{"emailAddress": {"address": room}, "type": "resource"}]
    body["recurrence"] = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": str(first), "numberOfOccurrences": 3},
    }
    master = graph.post(f"/users/{diego}/events", body).json()
    assert fresh_lab.admin("POST", "room-answers/process").status_code == 200
    window = f"startDateTime={first}T00:00:00Z&endDateTime={days[2] + dt.timedelta(days=1)}T00:00:00Z"
    instances = graph.get(f"/users/{diego}/events/{master['id']}/instances?{window}").json()["value"]
    assert graph.delete(f"/users/{diego}/events/{instances[1]['id']}").status_code == 204
    shown = fresh_lab.admin(
        "GET",
        f"mailboxes/{room}/calendar?expand={first}T00:00:00Z,{days[2] + dt.timedelta(days=1)}T00:00:00Z",
    ).json()["items"]
    assert [(o["start"], o["is_cancelled"], o["free_busy"]) for o in shown] == [
        (f"{days[0]}T08:00:00Z", False, "Busy"),
        (f"{days[1]}T08:00:00Z", True, "Free"),
        (f"{days[2]}T08:00:00Z", False, "Busy"),
    ]


def test_an_item_of_an_older_tenant_json_loads_with_an_entry_key_of_its_own(
    graph: GraphClient, fresh_lab: LabHelper
) -> None:
    """An item's immutable id is derived from its entry key (kept across moves, new for each item); a tenant.json
    written before the key existed still loads, each item getting a key (their immutable ids change once)."""
    from roomsops.lab.ews.store import CalendarItem, Tombstone
    from roomsops.lab.tenant import decode, encode

    diego = address(fresh_lab, "DiegoS")
    made = graph.post(f"/users/{diego}/events", {"subject": "Old", **_times("2030-03-07T09:00:00")}).json()
    assert graph.delete(f"/users/{diego}/events/{made['id']}").status_code == 204
    with fresh_lab.lab.tenant.read() as state:
        mailbox = state.find_mailbox(diego)
        assert mailbox is not None
        store = state.calendars[mailbox.id]
        (item,) = [i for i in store.items if i.subject == "Old"]
        tomb = store.tombstones[-1]
        old_item, old_tomb = encode(item), encode(tomb)
    assert tomb.entry_key == item.entry_key != ""  # the move to Deleted Items kept the item's key
    del old_item["entry_key"], old_tomb["entry_key"]
    first, second = decode(CalendarItem, old_item), decode(CalendarItem, old_item)
    assert first.entry_key and second.entry_key and first.entry_key != second.entry_key
    assert (first.uid, first.subject) == (item.uid, "Old")
    assert decode(Tombstone, old_tomb).entry_key == ""


def _times(start: str) -> dict[str, Any]:
    end = (dt.datetime.fromisoformat(start) + dt.timedelta(hours=1)).isoformat()
    return {"start": {"dateTime": start, "timeZone": "UTC"}, "end": {"dateTime": end, "timeZone": "UTC"}}
