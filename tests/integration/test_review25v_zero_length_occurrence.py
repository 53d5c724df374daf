"""review25v: one occurrence of a synced series made zero-length in Outlook (end = start).

docs/sync.md ("Outlook values"): "a synced one made zero-length is a conflict". For a single meeting it is; for an
occurrence of a series the pass writes the zero-length times into `booking_occurrences`, the CHECK constraint
refuses them, and every pass after fails the whole series booking with a raw database error (the link is `failed`,
no conflict rule applies, no remedy is given) — over EWS and Graph alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.test_series_from_exchange import MODES, occurrence_id, series_of, synced_series
from tests.integration.test_series_sync import ZURICH, local, z
from tests.integration.test_sync_rooms20_a import answer, links, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", MODES)
def test_review25v_an_occurrence_made_zero_length_in_outlook_is_a_conflict_not_a_database_error(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, _, series = synced_series(invoke, env, lab, addr, mode)
    target = occurrence_id(lab, diego, "2027-04-05")
    moment = z(local("2027-04-05T09:00"))
    edit = lab.admin(
        "PATCH", f"/lab/mailboxes/{diego}/calendar/{target}", json={"start": moment, "end": moment}
    )
    assert edit.status_code == 200, edit.text
    for _ in range(2):
        _, found = sync(invoke, env)
        assert not [f for f in found[diego]["failures"] if "database error" in f], found[diego]["failures"]
        assert links(env)[series][0] != "failed", links(env)
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    assert [o["start"] < o["end"] for o in rows] == [True] * 5, rows


@pytest.mark.parametrize("mode", MODES)
def test_review25v_a_new_outlook_series_with_a_zero_length_occurrence_is_no_database_error(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """A new zero-length meeting is skipped and counted (README); a new Outlook series the room accepted, one of
    whose occurrences was made zero-length before the pass, fails its takeover with a raw database error on every
    pass (neither booked nor skipped)."""
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    window = {"booking_window_in_days": 1080}
    assert lab.admin("PATCH", f"mailboxes/{room}/calendar-processing", json=window).status_code == 200
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
    assert sync(invoke, env)[0] == 0
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=14 + (1 - today.weekday()) % 7)  # a Tuesday two to three weeks ahead
    zone = "Europe/Zurich"
    body = {
        "subject": "Jour fixe",
        "start": {"dateTime": f"{first}T09:00:00", "timeZone": zone},
        "end": {"dateTime": f"{first}T10:00:00", "timeZone": zone},
        "attendees": [{"emailAddress": {"address": room}, "type": "resource"}],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {
                "type": "endDate",
                "startDate": str(first),
                "endDate": str(first + timedelta(weeks=3)),
                "recurrenceTimeZone": zone,
            },
        },
    }
    made = graph.post(f"/users/{diego}/events", body)
    assert made.status_code == 201, made.text
    second = first + timedelta(weeks=1)
    window_query = f"startDateTime={second}T00:00:00Z&endDateTime={second}T23:00:00Z"
    (instance,) = graph.get(f"/users/{diego}/events/{made.json()['id']}/instances?{window_query}").json()[
        "value"
    ]
    edit = graph.patch(
        f"/users/{diego}/events/{instance['id']}",
        {"end": {"dateTime": f"{second}T09:00:00", "timeZone": zone}},
    )
    assert edit.status_code == 200, edit.text
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    for _ in range(2):
        _, found = sync(invoke, env)
        assert not [f for f in found[diego]["failures"] if "database error" in f], found[diego]["failures"]
