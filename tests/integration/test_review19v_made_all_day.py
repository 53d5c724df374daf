"""review19v: a synced single meeting made all-day in Outlook is never reset (Rollback, the default).

docs/sync.md: a synced meeting made all-day is a conflict, handled as the person's SyncConflictBehaviour. The reset
writes the booking's start and end but never clears the all-day flag:
- over EWS the item stays all-day, the pass sees it again at once and rolls back again (attempts 1, 2, 3 of 5 in
  one pass); the second pass reaches 5 and the booking is sync-disabled, while the meeting still holds the room
  all day;
- over Graph the reset is refused (HTTP 400: an all-day event's start and end must be at midnight), on every pass,
  "not counted", so the link stays `failed` for ever and the meeting stays all-day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.helpers import add_hour_booking
from tests.integration.test_sync_rooms20_a import answer, links, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=8, minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_review19v_a_meeting_made_all_day_in_outlook_is_reset_to_the_booking(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    add_hour_booking(invoke, env, diego, room, DAY, "Planning")
    sync(invoke, env)
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    assert sync(invoke, env)[0] == 0
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
    (event,) = [e["id"] for e in graph.get(f"/users/{diego}/events").json()["value"]]
    day, zone = DAY.date(), "Europe/Zurich"
    edit = graph.patch(
        f"/users/{diego}/events/{event}",
        {
            "isAllDay": True,
            "start": {"dateTime": f"{day}T00:00:00", "timeZone": zone},
            "end": {"dateTime": f"{day + timedelta(days=1)}T00:00:00", "timeZone": zone},
        },
    )
    assert edit.status_code == 200, edit.text
    sync(invoke, env)  # the conflict: reported, the meeting reset to the booking
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"]) == (0, []), found[diego]
    assert links(env)[1][0] == "linked", links(env)
    meeting = graph.get(f"/users/{diego}/events/{event}").json()
    assert meeting["isAllDay"] is False, meeting
    assert meeting["start"]["dateTime"].startswith(f"{DAY:%Y-%m-%dT%H:%M}"), meeting["start"]
