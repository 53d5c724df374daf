"""review25v: a synced series made zero-length or all-day in Outlook (its master, so the whole series).

docs/sync.md ("Outlook values"): a synced meeting made all-day or zero-length is a conflict (Rollback: the meeting is
reset to the booking), as test_sync_v2_items shows for a single meeting. For a series:
- made zero-length (EWS and Graph): the pass writes end = start into `bookings`, ck_bookings_end_after_start refuses
  it, and every pass fails the booking with a raw database error (link `failed`, no rule applied, no remedy);
- made all-day, read over EWS: the same database error;
- made all-day, read over Graph: taken over as an Outlook edit, the ROOMS series becomes 00:00-24:00 every week.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke
from tests.graph_client import GraphClient
from tests.integration.test_series_from_exchange import MODES, series_of, synced_series
from tests.integration.test_series_sync import local, masters, z
from tests.integration.test_sync_rooms20_a import links, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def make_all_day(lab: LabHelper, diego: str) -> Any:
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
    listed = graph.get(f"/users/{diego}/events").json()["value"]
    (master,) = [e["id"] for e in listed if e.get("type") == "seriesMaster"]
    return graph.patch(
        f"/users/{diego}/events/{master}",
        {
            "isAllDay": True,
            "start": {"dateTime": "2027-03-15T00:00:00", "timeZone": "Europe/Zurich"},
            "end": {"dateTime": "2027-03-16T00:00:00", "timeZone": "Europe/Zurich"},
        },
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["zero-length", "all-day"])
def test_review25v_a_series_made_zero_length_or_all_day_in_outlook_is_a_conflict(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str, kind: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, _, series = synced_series(invoke, env, lab, addr, mode)
    if kind == "zero-length":
        (master,) = masters(lab, diego, diego)
        moment = z(local("2027-03-15T09:00"))
        edit = lab.admin(
            "PATCH", f"/lab/mailboxes/{diego}/calendar/{master['id']}", json={"start": moment, "end": moment}
        )
    else:
        edit = make_all_day(lab, diego)
    assert edit.status_code == 200, edit.text
    for _ in range(2):
        _, found = sync(invoke, env)
        assert not [f for f in found[diego]["failures"] if "database error" in f], found[diego]["failures"]
        assert links(env)[series][0] != "failed", links(env)
    booking = series_of(invoke, env, series)
    assert (booking["start"], booking["end"]) == ("2027-03-15T08:00:00+00:00", "2027-03-15T09:00:00+00:00"), (
        booking
    )
