"""review24a: an Outlook meeting of a person synced over Graph (Microsoft365) that invites a ROOMS room by an alias.

docs/sync.md ("One synced room per meeting"): a resource that is no ROOMS room's primary address is asked of the
directory, "a room listed by an alias or proxy address is that room"; tests/integration/test_review20a_rooms.py
holds it over EWS: the meeting becomes a booking of the room, or is at least reported — "never booked in Exchange
only, silently". Over Graph `primary_address` answers None for every alias (no directory query), so the room holds
the slot in Exchange while ROOMS shows it free, and the pass reports nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def one_pass(invoke: Invoke, env: dict[str, str]) -> dict[str, Any]:
    (report,) = json.loads(invoke("--json", "sync", env=env).out)["mailboxes"]
    assert report["error"] is None, report
    return dict(report)


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_a_room_invited_by_its_alias_is_booked_or_reported_over_either_backend(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich")
    alias = f"zuerich@{zurich.split('@')[1]}"
    with lab.lab.tenant.change() as state:
        next(m for m in state.mailboxes if m.primary_smtp.lower() == zurich.lower()).aliases.append(alias)
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    one_pass(invoke, env)
    made = lab.admin(
        "POST",
        f"/lab/mailboxes/{diego}/calendar",
        json={
            "subject": "By alias",
            "start": stamp(DAY),
            "end": stamp(DAY + timedelta(hours=1)),
            "resources": [alias],
        },
    )
    assert made.status_code == 201, made.text
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200
    reports = [one_pass(invoke, env), one_pass(invoke, env)]
    booked = [
        b
        for b in json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
        if b["title"] == "By alias" and b["status"] == "active"
    ]
    reported = [f for r in reports for f in r["failures"] if "By alias" in f]
    assert booked or reported, reports
