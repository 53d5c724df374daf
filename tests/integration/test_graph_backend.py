"""The calendar backend over Microsoft Graph (issue 24, item 1) against the lab's Graph over TLS, with the real
client (`requests`, msal tokens for https://graph.microsoft.com/.default): what the port promises — tags that
survive, lost writes never resent, sync states — and Graph's rules: $batch, transactionId, If-Match, delta links,
Retry-After, at most `graph.per_mailbox_concurrency` requests in flight per mailbox. Counts, never timings."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from roomsops.adapters.entra.tokens import credentials_from_app_settings, graph_token_provider
from roomsops.adapters.graph.backend import GraphCalendar
from roomsops.adapters.graph.client import JITTER, GraphClient
from roomsops.core.calendar import (
    AccessDenied,
    MailboxUnavailable,
    Meeting,
    MeetingFields,
    Throttled,
    WriteOutcomeUnknown,
)
from roomsops.core.errors import InputError
from roomsops.core.settings import app_settings_path, load_settings
from tests.conftest import Invoke, ok

from .conftest import LabHelper, address

pytestmark = pytest.mark.integration

INSTALLATION = "inst-graph24"
ZONE = "Europe/Zurich"
#: Inside the default sync window (7 days back, 90 ahead), at whole hours, in UTC.
DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=8, minute=0, second=0, microsecond=0)


def backend(
    lab: LabHelper, sleeps: list[float], *, retry_budget: float = 60.0, **settings: Any
) -> GraphCalendar:
    overrides = {f"graph.{k}": v for k, v in settings.items()}
    loaded = load_settings(str(lab.settings_path), environ={}, overrides=overrides)
    credentials = credentials_from_app_settings(app_settings_path(None, loaded, {}), loaded, os.environ)
    client = GraphClient(
        loaded,
        graph_token_provider(credentials, loaded),
        retry_budget,
        sleep=sleeps.append,
        jitter=lambda: 1.0,
    )
    return GraphCalendar(client, ZONE)


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    """The session's lab, reset, with the Graph face's delta states, throttling and gate reset too."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def fields(lab: LabHelper, subject: str, hour: int, **changes: Any) -> MeetingFields:
    start = DAY + timedelta(hours=hour)
    base = MeetingFields(
        subject=subject,
        start=start,
        end=start + timedelta(hours=1),
        location="Zürich",
        room=address(lab, "room-zurich").lower(),
        attendees=(address(lab, "AdeleV").lower(),),
        reminder_minutes=15,
        private=False,
        free_busy="Busy",
    )
    return replace(base, **changes)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def counts(lab: LabHelper, *names: str) -> tuple[int, ...]:
    found = lab.requests()
    return tuple(found.get(f"graph:{n}", 0) for n in names)


def organized(lab: LabHelper, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower()]


def test_the_graph_backend_reads_writes_and_follows_changes_as_the_port_says(graph_lab: LabHelper) -> None:
    lab = graph_lab
    sleeps: list[float] = []
    graph = backend(lab, sleeps)
    diego = address(lab, "DiegoS")
    start = graph.changes(diego, None)
    assert (start.changed, start.deleted, start.invalid_state) == ([], [], False)
    assert start.state and "|https://" in start.state and "$deltatoken=" in start.state

    one = graph.create(diego, fields(lab, "One", 0), INSTALLATION, "b1", "r1")
    lab.reset_requests()
    many = graph.create_many(
        diego, [(fields(lab, f"Many {n}", n), INSTALLATION, f"b{n}") for n in (2, 3, 4)], "r1"
    )
    assert all(isinstance(m, Meeting) for m in many)
    assert counts(lab, "batch", "events.create") == (1, 3)  # one round trip for three creates
    made = [one, *(m for m in many if isinstance(m, Meeting))]

    # Read back: the canonical fields written, the tags, the organizer; immutable ids are stable.
    read = {m.booking_id or "": m for m in graph.get(diego, [m.item_id for m in made] + ["AAMkAGI2gone"])}
    assert sorted(read) == ["b1", "b2", "b3", "b4"]
    for meeting in made:
        got = read[meeting.booking_id or ""]
        assert (got.item_id, got.fields, got.installation, got.revision) == (
            meeting.item_id,
            meeting.fields,
            INSTALLATION,
            "r1",
        )
        assert (got.organizer, got.is_recurring, got.room_response) == (diego.lower(), False, "Unknown")
    assert sorted(m.booking_id or "" for m in graph.find_tagged(diego, INSTALLATION)) == [
        "b1",
        "b2",
        "b3",
        "b4",
    ]
    assert [m.item_id for m in graph.find_tagged(diego, INSTALLATION, "b3")] == [made[2].item_id]
    assert graph.find_tagged(diego, "another-installation") == []

    # A meeting made in Outlook is untagged until it becomes a booking; tagging it sends nothing of its fields.
    response = lab.admin(
        "POST",
        f"/lab/mailboxes/{diego}/calendar",
        json={
            "subject": "Made in Outlook",
            "start": stamp(DAY + timedelta(hours=6)),
            "end": stamp(DAY + timedelta(hours=7)),
            "resources": [address(lab, "room-zurich")],
        },
    )
    assert response.status_code == 201, response.text
    (untagged,) = graph.find_untagged(diego, DAY, DAY + timedelta(days=1))
    assert (untagged.fields and untagged.fields.subject, untagged.installation) == ("Made in Outlook", None)
    tagged = graph.tag(diego, untagged, INSTALLATION, "b9", "r2")
    assert tagged.change_key != untagged.change_key
    assert graph.find_untagged(diego, DAY, DAY + timedelta(days=1)) == []
    assert [m.item_id for m in graph.find_tagged(diego, INSTALLATION, "b9")] == [untagged.item_id]

    # Incremental changes: everything since the first state, the engine's own writes included.
    first = graph.changes(diego, start.state)
    assert {i for i, _ in first.changed} == {m.item_id for m in made} | {untagged.item_id}
    assert first.deleted == [] and first.state and first.state != start.state
    # The meetings as the creates were answered, reported unchanged by the delta round: read without a request,
    # the same as a read from Graph.
    lab.reset_requests()
    kept = graph.get(diego, [m.item_id for m in made])
    assert counts(lab, "events.get", "batch") == (0, 0)
    assert sorted(kept, key=lambda m: m.item_id) == sorted(read.values(), key=lambda m: m.item_id)

    # Update with If-Match: only the differing fields; a change made meanwhile (412) is read and written again.
    assert one.fields is not None
    moved = graph.update(diego, one, replace(one.fields, end=one.fields.end + timedelta(minutes=30)), "r3")
    assert moved.fields is not None
    assert moved.change_key != one.change_key
    (item,) = [i for i in organized(lab, diego) if i["subject"] == "One"]
    edit = lab.admin(
        "PATCH", f"/lab/mailboxes/{diego}/calendar/{item['id']}", json={"location": "Outlook room"}
    )
    assert edit.status_code == 200, edit.text
    lab.reset_requests()
    retitled = graph.update(diego, moved, replace(moved.fields, subject="One, retitled"), "r4")
    # A 412, the current version read, the write made again on it.
    assert counts(lab, "events.update", "events.get") == (2, 1)
    (now,) = graph.get(diego, [one.item_id])
    assert now.fields and (now.fields.subject, now.fields.location, now.revision) == (
        "One, retitled",
        "Outlook room",  # the other writer's change to another field is kept
        "r4",
    )
    assert now.change_key == retitled.change_key
    assert graph.update(diego, now, now.fields) is now  # nothing differs: nothing written

    # Cancel (POST /cancel); a second cancel of a meeting already gone is no error.
    graph.cancel(diego, made[1])
    graph.cancel(diego, made[1])
    assert graph.get(diego, [made[1].item_id]) == []
    # Moved in Outlook beyond the sync window: Graph's delta says removed, but the meeting is not deleted.
    (far,) = [i for i in organized(lab, diego) if i["subject"] == "Many 4"]
    later = {"start": stamp(DAY + timedelta(days=200)), "end": stamp(DAY + timedelta(days=200, hours=1))}
    assert lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{far['id']}", json=later).status_code == 200
    second = graph.changes(diego, first.state)
    assert second.deleted == [made[1].item_id]
    assert {i for i, _ in second.changed} == {one.item_id, made[3].item_id}

    # A delta link Graph no longer accepts (410) is an invalid state, never an error.
    assert lab.admin("POST", "graph/delta/expire").status_code == 200
    assert graph.changes(diego, second.state) == type(second)(invalid_state=True)
    # So is a state that is no delta link of this endpoint (one EWS stored, another host's): nothing is sent to it.
    sent = graph.requests_sent()
    for foreign in (
        "MwBmADQAYQBkAGEAOQAyAC0A",
        "https://elsewhere.example/v1.0/users/x/calendarView/delta?$deltatoken=1",
        "2030-01-01T00:00:00Z|https://elsewhere.example/v1.0/users/x/calendarView/delta?$deltatoken=1",
    ):
        assert graph.changes(diego, foreign) == type(second)(invalid_state=True)
    assert graph.requests_sent() == sent
    assert graph.requests_sent() > 0 and sleeps == []


def test_a_lost_create_answer_never_makes_a_duplicate(graph_lab: LabHelper) -> None:
    lab = graph_lab
    sleeps: list[float] = []
    graph = backend(lab, sleeps)
    diego = address(lab, "DiegoS")
    # The POST is applied, its answer lost: WriteOutcomeUnknown, never sent again; the tag finds the event.
    lab.fault(protocol="graph", operation="events.create", kind="drop_after", count=1)
    with pytest.raises(WriteOutcomeUnknown):
        graph.create(diego, fields(lab, "Lost", 0), INSTALLATION, "b1")
    assert counts(lab, "events.create") == (1,)
    assert [m.booking_id for m in graph.find_tagged(diego, INSTALLATION, "b1")] == ["b1"]

    # Inside a $batch the lost answer is a 503 for that request: sent again with its transactionId, Graph answers
    # the event it made. Three creates, four POSTs, three events.
    lab.reset_requests()
    lab.fault(protocol="graph", operation="events.create", kind="drop_after", count=1)
    made = graph.create_many(
        diego, [(fields(lab, f"Batch {n}", n), INSTALLATION, f"b{n}") for n in (2, 3, 4)]
    )
    assert all(isinstance(m, Meeting) for m in made)
    assert counts(lab, "batch", "events.create") == (2, 4)
    assert len(sleeps) == 1
    # The whole $batch answer lost: WriteOutcomeUnknown; what it made is there once.
    lab.fault(protocol="graph", operation="batch", kind="drop_after", count=1)
    with pytest.raises(WriteOutcomeUnknown):
        graph.create_many(diego, [(fields(lab, f"Batch {n}", n), INSTALLATION, f"b{n}") for n in (5, 6)])
    found = sorted(m.booking_id or "" for m in graph.find_tagged(diego, INSTALLATION))
    assert found == ["b1", "b2", "b3", "b4", "b5", "b6"]
    assert len(organized(lab, diego)) == 6  # no duplicate


def test_throttling_is_waited_out_as_retry_after_says_and_mailboxes_get_two_requests_at_once(
    graph_lab: LabHelper,
) -> None:
    lab = graph_lab
    sleeps: list[float] = []
    graph = backend(lab, sleeps)
    diego = address(lab, "DiegoS")
    # 429 with Retry-After: 3, twice: waited (with jitter, bounded) and sent again; the third answer counts.
    lab.fault(protocol="graph", operation="events.list", kind="server_busy", back_off_ms=3000, count=2)
    assert graph.find_tagged(diego, INSTALLATION) == []
    assert counts(lab, "events.list") == (3,)
    assert sleeps == [3 * (1 + JITTER)] * 2
    # A 503 without Retry-After: the client's own back-off.
    lab.fault(protocol="graph", operation="events.list", kind="http_503", back_off_ms=0, count=1)
    assert graph.find_tagged(diego, INSTALLATION) == []
    assert sleeps[2:] == [2 * (1 + JITTER)]
    # Beyond the budget: Throttled, after as many requests as the budget allows.
    lab.reset_requests()
    tight = backend(lab, sleeps, retry_budget=5.0)
    lab.fault(protocol="graph", operation="events.list", kind="server_busy", back_off_ms=3000, count=5)
    with pytest.raises(Throttled):
        tight.find_tagged(diego, INSTALLATION)
    assert counts(lab, "events.list") == (2,)
    lab.clear_faults()

    # At most graph.per_mailbox_concurrency (2) requests in flight per mailbox: with the lab's gate closed, two
    # wait in the lab and the rest in the client; none is throttled for the mailbox's concurrency.
    made = graph.create(diego, fields(lab, "Busy", 0), INSTALLATION, "b1")
    assert lab.admin("POST", "graph/gate", json={"open": False}).status_code == 200
    slots = graph.client.slots(diego)
    threads = [threading.Thread(target=graph.get, args=(diego, [made.item_id])) for _ in range(5)]
    try:
        for thread in threads:
            thread.start()
        wait_for(lambda: lab.admin("GET", "graph").json()["throttle"]["waiting"] == 2 and slots.waiting == 3)
        assert slots.active == 2
    finally:
        assert lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
        for thread in threads:
            thread.join(30)
    assert slots.peak == 2 and lab.admin("GET", "graph").json()["throttle"]["throttled"] == 0


def wait_for(condition: Callable[[], bool], attempts: int = 600) -> None:
    """Poll a state the test drives to (not a timing): threads reach a gate."""
    event = threading.Event()
    for _ in range(attempts):
        if condition():
            return
        event.wait(0.05)
    raise AssertionError("the state was not reached")


def test_refusals_are_the_ports_errors_and_an_expired_token_is_renewed_once(graph_lab: LabHelper) -> None:
    lab = graph_lab
    graph = backend(lab, [])
    with pytest.raises(InputError, match="not possible over Microsoft Graph"):
        GraphCalendar(graph.client, ZONE, "none")
    diego = address(lab, "DiegoS")
    with pytest.raises(MailboxUnavailable) as unknown:
        graph.find_tagged(address(lab, "nobody"), INSTALLATION)
    assert not isinstance(unknown.value, AccessDenied) and unknown.value.code == "graph_mailbox_not_found"
    # A 401 (an expired token): the cached token is dropped and the request sent once more with a new one.
    assert graph.find_tagged(diego, INSTALLATION) == []
    lab.reset_requests()
    lab.fault(protocol="graph", operation="events.list", kind="http_401", count=1)
    assert graph.find_tagged(diego, INSTALLATION) == []
    found = lab.requests()
    assert (found["graph:events.list"], found["token:client_credentials"]) == (2, 1)
    # Without the Graph permission: 403, AccessDenied (the pass stops for the mailbox).
    rooms_app = str(lab.app("rooms")["app_id"])
    revoked = {"app_id": rooms_app, "permission": "Calendars.ReadWrite", "grant": False, "resource": "graph"}
    assert lab.admin("POST", "consent", json=revoked).status_code == 200
    with pytest.raises(AccessDenied) as denied:
        backend(lab, []).find_tagged(diego, INSTALLATION)
    assert denied.value.code == "graph_access_denied"


def test_sync_backend_graph_syncs_a_person_both_ways_through_the_same_engine(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Any
) -> None:
    """`sync.backend = "graph"` (the factory's branch): bookings become tagged events over Graph, a pass with
    nothing changed is one request, ROOMS' edits and cancellations and Outlook's edits flow as over EWS."""
    fresh_lab = graph_lab
    graph_env = {**env, "ROOMSOPS_SYNC_BACKEND": "graph"}
    diego = addr("DiegoS")
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    for n in range(3):
        start = DAY + timedelta(hours=n)
        ok(
            invoke(
                "bookings", "add", "--organizer", diego, "--room", addr("room-zurich"),
                "--start", start.isoformat(), "--end", (start + timedelta(minutes=50)).isoformat(),
                "--title", f"Planning {n}", env=env,
            )
        )  # fmt: skip

    def sync() -> dict[str, Any]:
        run = ok(invoke("--json", "sync", env=graph_env))
        (report,) = json.loads(run.out)["mailboxes"]
        assert report["failures"] == [] and report["error"] is None, report
        return dict(report)

    first = sync()
    # The delta round, one $batch of creates, the catch-up round (the creates' answers stand for the read-back). The
    # untagged meetings already there are discovered from the delta round's own entries (fix24i, cost19r): none of
    # them has attendees here, so none is read.
    assert (first["created"], first["requests"]) == (3, 3)
    assert fresh_lab.requests().get("ews:CreateItem", 0) == 0  # nothing over EWS
    events = organized(fresh_lab, diego)
    assert sorted(e["subject"] for e in events) == ["Planning 0", "Planning 1", "Planning 2"]
    fresh_lab.reset_requests()
    assert sync()["requests"] == 1  # nothing changed: one delta request
    assert counts(fresh_lab, "calendarView.delta") == (1,)

    ok(invoke("bookings", "update", "1", "--title", "Planning 0, moved", env=env))
    ok(invoke("bookings", "cancel", "2", "--yes", env=env))
    (outlook,) = [e for e in events if e["subject"] == "Planning 2"]
    edit = {"subject": "Planning 2, from Outlook"}
    assert (
        fresh_lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{outlook['id']}", json=edit).status_code
        == 200
    )
    third = sync()
    assert (third["updated"], third["cancelled"], third["exchange_edits"]) == (1, 1, 1)
    titles = {
        b["id"]: b["title"]
        for b in json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    }
    assert titles[3] == "Planning 2, from Outlook"
    live = sorted(e["subject"] for e in organized(fresh_lab, diego))
    assert live == ["Planning 0, moved", "Planning 2, from Outlook"]
    assert sync()["requests"] == 1  # and quiet again


def test_a_delta_round_moves_on_with_the_sync_window(graph_lab: LabHelper) -> None:
    """A round covers the window of its first day; days later the window ends later, and what the old round
    never covered (after its window's end) is reported as well: nothing in the window is missed."""
    lab = graph_lab
    today = [datetime.now(UTC)]
    graph = GraphCalendar(backend(lab, []).client, ZONE, now=lambda: today[0])
    diego = address(lab, "DiegoS")
    start = graph.changes(diego, None)
    _, window_end = graph.window()
    beyond = fields(lab, "Beyond the window", 0)
    beyond = replace(
        beyond, start=window_end + timedelta(days=1), end=window_end + timedelta(days=1, hours=1)
    )
    made = graph.create(diego, beyond, INSTALLATION, "b1")
    same_day = graph.changes(diego, start.state)
    assert same_day.changed == [] and same_day.state
    assert same_day.state.split("|")[0] == (start.state or "").split("|")[0]
    today[0] += timedelta(days=3)
    lab.reset_requests()
    later = graph.changes(diego, same_day.state)
    assert [i for i, _ in later.changed] == [made.item_id]
    assert counts(lab, "calendarView.delta") == (2,)  # the old round's end, a new round over today's window
    assert graph.changes(diego, later.state).changed == []


def test_rooms_calendars_attendees_removed_and_copies_deleted_over_graph(graph_lab: LabHelper) -> None:
    """The port's room operations (issue 20) over Graph: what a room's calendar holds, a room taken off a
    meeting with the other attendees kept, the room's copy deleted (no error when already gone)."""
    lab = graph_lab
    graph = backend(lab, [])
    diego, room = address(lab, "DiegoS"), address(lab, "room-zurich").lower()
    made = graph.create(diego, fields(lab, "With the room", 0), INSTALLATION, "b1")
    assert lab.admin("POST", "room-answers/process").status_code == 200
    (meeting,) = graph.get(diego, [made.item_id])
    assert meeting.resources == (room,) and meeting.response_of(room) == "Accept"
    assert meeting.response_of(address(lab, "AdeleV")) is not None
    (copy,) = graph.room_calendar(room, DAY, DAY + timedelta(days=1))
    # The room's copy (its subject is the room's: calendar processing puts the organizer's name there).
    assert copy.fields and copy.fields.start == made.fields.start and copy.organizer == diego.lower()  # type: ignore[union-attr]
    graph.remove_attendees(diego, meeting, [room])
    (after,) = graph.get(diego, [made.item_id])
    assert after.fields and (after.fields.room, after.fields.attendees) == (
        "",
        (address(lab, "AdeleV").lower(),),
    )
    graph.delete_copy(room, copy)
    graph.delete_copy(room, copy)
    assert graph.room_calendar(room, DAY, DAY + timedelta(days=1)) == []
