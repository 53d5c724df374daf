"""review20f: `sync resume` over Microsoft Graph, an Outlook-made meeting moved to another calendar while its person
was held back (issue 20 Deliver 5 and 7, the fix20h resume), against the lab.

fix20h: `sync resume` forgets the mailbox's position (the next pass is a full reconciliation) and makes a link whose
meeting was made in Outlook `pending-update`; the pass reads it by its item id, and "takes it as deleted if the item
is gone" (docs/sync.md). Over Graph that read is GET /users/{id}/events/{id}, which finds an immutable id in any
calendar (the port has `in_calendar` for exactly this since review24d: "an item no longer in the calendar — deleted,
or moved to another calendar — a deletion"). So a meeting moved out of the calendar while the person was held is
found, tagged and linked again: the full reconciliation the resume asked for ends with the booking active and
`linked`, exit 0, nothing reported, and every incremental pass after says nothing; only the next scheduled full
reconciliation (`sync.full_every`, 24 passes by default; never with 0) cancels it. Over EWS the same steps cancel
the booking in the first pass after the resume.

Why it is wrong: docs/sync.md, "Exchange → ROOMS": "Deleting the meeting (or moving it out of the calendar) cancels
the booking"; I5 (after two quiet passes both sides agree or the difference is reported); the resume's own promise
("a meeting deleted meanwhile cancels its booking") and EWS/Graph parity.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def live(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]


def answer(lab: Any) -> None:
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200


def failures(runs: list[Any]) -> list[str]:
    return [f for run in runs for m in json.loads(run.out)["mailboxes"] for f in m["failures"]]


def test_an_own_meeting_moved_to_another_calendar_while_purged_cancels_its_booking_after_resume_over_graph(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS (Microsoft365) makes "Own workshop" in Outlook with Zürich; Zürich accepts; the pass books it
    (booking 1, linked). `sync purge --person DiegoS` (his own meeting stays, held back); a pass. DiegoS moves the
    meeting to his calendar "Projects". A pass; `sync resume --person DiegoS`; two passes (the first is the full
    reconciliation).
    Expected (as over EWS): booking 1 cancelled, or the missing meeting reported. Actual: booking 1 active and
    `linked`, every pass exit 0 with no failure."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("sync", env=env))  # the mailbox's first pass: its position
    own = {
        "subject": "Own workshop",
        "start": stamp(DAY + timedelta(hours=2)),
        "end": stamp(DAY + timedelta(hours=3)),
        "resources": [zurich],
    }
    assert fresh_lab.admin("POST", f"/lab/mailboxes/{diego}/calendar", json=own).status_code == 201
    answer(fresh_lab)
    ok(invoke("sync", env=env))
    ok(invoke("sync", "purge", "--person", diego, "--yes", env=env))
    ok(invoke("sync", env=env))
    (item,) = live(fresh_lab, diego)
    made = fresh_lab.admin("POST", f"/lab/mailboxes/{diego}/folders", json={"display_name": "Projects"})
    assert made.status_code in (200, 201), made.text
    path = f"/lab/mailboxes/{diego}/calendar/{item['id']}/move"
    assert fresh_lab.admin("POST", path, json={"folder": made.json()["folder"]}).status_code == 200
    assert live(fresh_lab, diego) == []  # no longer in his calendar
    ok(invoke("sync", env=env))  # held back: not applied
    ok(invoke("sync", "resume", "--person", diego, env=env))
    runs = [invoke("--json", "sync", env=env) for _ in range(2)]
    assert json.loads(runs[0].out)["mailboxes"][0]["pass_kind"] == "full", runs[0].out
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["status"] == "cancelled" or failures(runs), (booking, failures(runs))
