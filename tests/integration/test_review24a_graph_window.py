"""review24a: Outlook changes to a linked meeting beyond the sync window, over Graph (Microsoft365).

docs/sync.md ("Dates"): linked bookings are synced whatever their date, and "the window's end
(`sync.window_days_future`) limits only which untagged Outlook meetings are discovered". Over EWS (SyncFolderItems
reads the whole calendar) the next pass applies an Outlook edit or deletion of a meeting 150 days ahead. Over Graph the
incremental pass reads a calendarView delta over the window only: the edit is not seen and the deleted meeting's
booking stays active (its room held in ROOMS) until the next full reconciliation (`sync.full_every`, 24 passes by
default). Same tests, parametrised by backend, must give the same result (issue 24, acceptance)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

FAR = (datetime.now(UTC) + timedelta(days=150)).replace(hour=7, minute=0, second=0, microsecond=0)


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def one_pass(invoke: Invoke, env: dict[str, str]) -> dict[str, Any]:
    run = invoke("--json", "sync", env=env)
    (report,) = json.loads(run.out)["mailboxes"]
    assert report["error"] is None and report["failures"] == [], report
    assert report["pass_kind"] == "incremental" or report["created"] == 1
    return dict(report)


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
@pytest.mark.parametrize("outlook", ["delete", "edit"])
def test_an_outlook_change_to_a_meeting_beyond_the_window_is_applied_by_the_next_pass(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str, outlook: str
) -> None:
    lab = graph_lab
    diego, room = addr("DiegoS").lower(), addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(
        invoke(
            "bookings", "add", "--organizer", diego, "--room", room, "--title", "Far ahead",
            "--start", FAR.isoformat(), "--end", (FAR + timedelta(minutes=30)).isoformat(), env=env,
        )
    )  # fmt: skip
    assert one_pass(invoke, env)["created"] == 1
    (meeting,) = [
        i
        for i in lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]
        if i["organizer"].lower() == diego
    ]
    url = f"/lab/mailboxes/{diego}/calendar/{meeting['id']}"
    if outlook == "delete":  # deleted in Outlook, the cancellation sent
        assert lab.admin("DELETE", url).status_code == 200
    else:
        assert lab.admin("PATCH", url, json={"subject": "Renamed in Outlook"}).status_code == 200

    report = one_pass(invoke, env)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    if outlook == "delete":
        assert (report["bookings_cancelled"], booking["status"]) == (1, "cancelled")
    else:
        assert (report["exchange_edits"], booking["title"]) == (1, "Renamed in Outlook")
