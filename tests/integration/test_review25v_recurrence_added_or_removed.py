"""review25v: Outlook turns a synced single meeting into a series, or a synced series into a single meeting.

In Outlook the organizer can add a recurrence to a meeting or remove it from a series (Graph: PATCH `recurrence`;
EWS: UpdateItem of Recurrence). ROOMS keeps a single booking single and a series a series (docs/series.md), so
the change cannot be applied — but it is not reported, nor recorded as a difference, nor reset either: every pass,
`sync --full` included, counts the booking "unchanged" and `sync diff` says "no open differences" (I2, I5). Made a
series, the room holds the two further occurrences ROOMS knows nothing of; made single, ROOMS holds four
occurrences the room has freed. Over EWS and Graph alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.helpers import add_hour_booking
from tests.integration.test_series_from_exchange import MODES, synced_series
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=8, minute=0, second=0, microsecond=0)


def graph_of(lab: LabHelper) -> GraphClient:
    info = lab.app("rooms")
    return GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))


def said(invoke: Invoke, env: dict[str, str], diego: str) -> list[Any]:
    """What two passes and a full reconciliation say about the mailbox: failures, differences, writes, edits."""
    told: list[Any] = []
    for args in (("sync",), ("sync",), ("sync", "--full")):
        run = invoke("--json", *args, env=env)
        (found,) = [m for m in json.loads(run.out)["mailboxes"] if m["mailbox"].lower() == diego]
        told += found["failures"]
        told += [found[k] for k in ("differences", "exchange_edits", "rolled_back", "updated") if found[k]]
    return told


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("change", ["made-series", "made-single"])
def test_review25v_a_recurrence_added_or_removed_in_outlook_is_not_silent(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str, change: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    graph = graph_of(lab)
    if change == "made-series":
        diego, room = addr("DiegoS").lower(), addr("room-zurich").lower()
        ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
        ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
        add_hour_booking(invoke, env, diego, room, DAY, "Planning")
        sync(invoke, env)
        assert [a["response"] for a in answer(lab)] == ["Accept"]
        assert sync(invoke, env)[0] == 0
        (event,) = [e["id"] for e in graph.get(f"/users/{diego}/events").json()["value"]]
        day = DAY.date()
        recurrence: dict[str, Any] | None = {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [day.strftime("%A").lower()]},
            "range": {
                "type": "numbered",
                "startDate": str(day),
                "numberOfOccurrences": 3,
                "recurrenceTimeZone": "UTC",
            },
        }
    else:
        diego, _, _ = synced_series(invoke, env, lab, addr, mode)
        listed = graph.get(f"/users/{diego}/events").json()["value"]
        (event,) = [e["id"] for e in listed if e.get("type") == "seriesMaster"]
        recurrence = None
    edit = graph.patch(f"/users/{diego}/events/{event}", {"recurrence": recurrence})
    assert edit.status_code == 200, edit.text
    answer(lab)
    assert said(invoke, env, diego) != []
