"""review24a: If-Match over Graph, when Outlook changes the meeting while roomsops removes a second room.

docs/sync.md: a removal "takes off exactly that room, wherever it is listed, leaves every other attendee and
resource as it is"; issue 24 asks for If-Match on updates. `GraphCalendar.remove_attendees` reads the attendees,
computes the list without the room and PATCHes it with If-Match; a 412 (the organizer changed the meeting
meanwhile) makes `_patch` read only the new change key and send the *same* list again — the list computed from
the old attendees. An attendee the organizer added in Outlook in between is removed again (and, by Graph, sent a
cancellation): If-Match detected the conflict and the retry threw the other writer's change away.

The order is fixed by the lab, not by timing: the removal's first PATCH is answered 429 (Retry-After 1 s; an
injected fault is answered before the gate); the lab's Graph gate, closed for PATCHes (events.update) before the
pass, holds the retry; the organizer adds an attendee in Outlook; the gate is opened. (speed36b: the gate used to
be closed during a 5 s Retry-After, a window the test had to hit.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

DAY = (datetime.now(UTC) + timedelta(days=4)).replace(hour=6, minute=0, second=0, microsecond=0)


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> Iterator[LabHelper]:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    yield fresh_lab
    fresh_lab.admin("POST", "graph/gate", json={"open": True})


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def meeting(lab: LabHelper, mailbox: str, subject: str) -> dict[str, object]:
    (found,) = [
        i
        for i in lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
        if i["subject"] == subject
    ]
    return dict(found)


def test_an_attendee_added_in_outlook_during_a_room_removal_stays_on_the_meeting(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr
) -> None:
    lab = graph_lab
    diego, zurich, bern = addr("DiegoS").lower(), addr("room-zurich"), addr("room-bern")
    adele, megan = addr("AdeleV").lower(), addr("MeganB").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", bern, "--name", "Bern", "--sync-master", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("sync", env=env))
    made = lab.admin(
        "POST",
        f"/lab/mailboxes/{diego}/calendar",
        json={
            "subject": "Two rooms",
            "start": stamp(DAY),
            "end": stamp(DAY + timedelta(hours=1)),
            "resources": [zurich, bern],
            "attendees": [adele],
        },
    )
    assert made.status_code == 201, made.text
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200

    lab.reset_requests()
    lab.fault(protocol="graph", operation="events.update", kind="server_busy", back_off_ms=1000, count=1)
    gate = lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.update"]})
    assert gate.status_code == 200, gate.text
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "--json", "sync"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(2000):  # the removal's PATCH was answered 429; its retry is held at the gate
            if lab.admin("GET", "graph").json()["throttle"]["waiting"] or process.poll() is not None:
                break
            time.sleep(0.01)
        assert process.poll() is None, "the pass ended before its retry was held"
        assert lab.requests()["graph:events.update"] == 2  # the PATCH answered 429 and its retry, held
        item = meeting(lab, diego, "Two rooms")
        edit = {"attendees": [adele, megan]}  # the organizer invites Megan in Outlook
        assert (
            lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{item['id']}", json=edit).status_code == 200
        )
    finally:
        lab.admin("POST", "graph/gate", json={"open": True})
        out, _ = process.communicate(timeout=120)
    (report,) = json.loads(out)["mailboxes"]
    assert any("second ROOMS room" in f and "removed" in f for f in report["failures"]), report

    item = meeting(lab, diego, "Two rooms")
    resources = sorted(a["email"].lower() for a in item["resources"])  # type: ignore[attr-defined]
    required = sorted(a["email"].lower() for a in item["required_attendees"])  # type: ignore[attr-defined]
    assert resources == [zurich.lower()]  # Bern taken off ...
    assert required == sorted([adele, megan])  # ... and nothing else
