"""fix19y (review19x): an Outlook series that began before the sync window, with occurrences in it, is taken over
whole — by a first pass, an incremental pass and a full reconciliation, over EWS and Graph (docs/series.md, "An
Outlook series inviting a ROOMS room"). Before, `_exchange_item` judged the master by its Start and End (its first
occurrence's) and left it alone silently. The booking is the whole series as Exchange holds it: it starts at the
first occurrence, in the past, and holds every occurrence of the range (ROOMS' series is Exchange's series, so
nothing differs on the next pass). A series whose last occurrence ended before the window is still left alone."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.test_series_from_exchange import MODES
from tests.integration.test_series_sync import ZURICH, setup
from tests.integration.test_sync_rooms20_a import answer, links, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def outlook_series(lab: LabHelper, diego: str, room: str, subject: str, first: date, count: int) -> None:
    """A weekly Tuesday series of `count` occurrences from `first`, made in Outlook, inviting the room (accepted)."""
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
    body = {
        "subject": subject,
        "start": {"dateTime": f"{first}T09:00:00", "timeZone": "Europe/Zurich"},
        "end": {"dateTime": f"{first}T10:00:00", "timeZone": "Europe/Zurich"},
        "attendees": [{"emailAddress": {"address": room}, "type": "resource"}],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {
                "type": "numbered",
                "startDate": str(first),
                "numberOfOccurrences": count,
                "recurrenceTimeZone": "Europe/Zurich",
            },
        },
    }
    made = graph.post(f"/users/{diego}/events", body)
    assert made.status_code == 201, made.text
    assert [a["response"] for a in answer(lab)] == ["Accept"]


def weeks_ago(weeks: int) -> date:
    today = datetime.now(ZURICH).date()
    return today - timedelta(days=7 * weeks + (today.weekday() - 1) % 7)  # a Tuesday `weeks` to weeks+1 ago


@pytest.mark.parametrize("path", ["first", "incremental", "full"])
@pytest.mark.parametrize("mode", MODES)
def test_an_outlook_series_begun_before_the_window_is_taken_over_whole(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str, path: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room = setup(invoke, env, lab, addr, mode)
    if path != "first":
        assert sync(invoke, env)[0] == 0  # a position: the series is made after it
    first = weeks_ago(8)
    outlook_series(lab, diego, room, "Old jour fixe", first, 20)
    # Ended long before the window (sync.window_days_past is 7): left alone, as a single past meeting is.
    outlook_series(lab, diego, room, "Older jour fixe", weeks_ago(30), 4)
    run = invoke("--json", "sync", *(["--full"] if path == "full" else []), env=env)
    assert run.code == 0, run.out + run.err
    (found,) = [m for m in json.loads(run.out)["mailboxes"] if m["mailbox"].lower() == diego]
    assert (found["failures"], found["bookings_created"], found["skipped"]) == ([], 1, {}), found
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert (booking["title"], booking["room"], booking["status"]) == ("Old jour fixe", room.lower(), "active")
    rows = booking["series"]["occurrences"]
    # Whole: from the first occurrence (in the past) to the twentieth, every one active.
    assert len(rows) == 20 and {o["status"] for o in rows} == {"active"}, rows
    assert datetime.fromisoformat(rows[0]["original_start"]).astimezone(ZURICH).date() == first
    assert links(env)[booking["id"]][0] == "linked", links(env)
    # Exchange's series is ROOMS': the next passes write nothing and find no difference.
    for args in (("sync",), ("sync", "--full")):
        run = invoke("--json", *args, env=env)
        (found,) = [m for m in json.loads(run.out)["mailboxes"] if m["mailbox"].lower() == diego]
        assert (run.code, found["failures"], found["bookings_created"]) == (0, [], 0), found
        assert found["created"] == found["updated"] == found["differences"] == 0, found
    assert json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"] == [booking]
