"""review24a: `sync migrate --to graph` of a person with a sync-disabled booking whose meeting was deleted in
Outlook.

After five rollbacks a booking is sync-disabled (README); its link still names the meeting. The organizer then
deletes that meeting in Outlook. `sync migrate` reports the person `failed` ("not found over Microsoft Graph as the
linked item") with the remedy "run 'roomsops sync --person …' (it settles meetings deleted or re-made in Outlook),
then migrate again" — but that pass leaves sync-disabled links alone, so the rerun fails the same way, forever: the
person can never leave EWS, which is being switched off (README: "failing midway, run it again: it goes on")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=6, minute=0, second=0, microsecond=0)


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def book(invoke: Invoke, env: dict[str, str], organizer: str, room: str, start: datetime) -> None:
    end = start + timedelta(minutes=30)
    args = ["--organizer", organizer, "--room", room, "--start", start.isoformat(), "--end", end.isoformat()]
    ok(invoke("bookings", "add", *args, "--title", f"Meeting of {organizer.split('@')[0]}", env=env))


def organized(lab: LabHelper, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower() and not i.get("is_cancelled")]


def test_the_remedy_for_a_sync_disabled_booking_whose_meeting_was_deleted_lets_the_person_migrate(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr
) -> None:
    lab = graph_lab
    diego, adele, room = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    for person in (diego, adele):
        ok(
            invoke(
                "persons", "add", person, "--sync-mode", "O365", "--conflict-behaviour", "Rollback", env=env
            )
        )
    book(invoke, env, diego, room, DAY)
    book(invoke, env, adele, room, DAY + timedelta(minutes=30))
    ok(invoke("sync", env=env))
    taken = DAY + timedelta(minutes=30)  # Adele's slot: ROOMS refuses the move, the meeting is rolled back
    state = ""
    for _ in range(8):
        (meeting,) = organized(lab, diego)
        move = {"start": stamp(taken), "end": stamp(taken + timedelta(minutes=30))}
        assert (
            lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}", json=move).status_code
            == 200
        )
        invoke("sync", env=env)
        bookings = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
        state = next(b["sync"] for b in bookings if b["id"] == 1)
        if state == "sync-disabled":
            break
    assert state == "sync-disabled"
    (meeting,) = organized(lab, diego)
    assert lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}").status_code == 200

    run = invoke("--json", "sync", "migrate", "--to", "graph", "--person", diego, env=env)
    first = json.loads(run.out)["persons"][0]
    if first["status"] == "failed":  # follow the remedy it gives, then migrate again
        assert f"roomsops sync --person {diego}" in first["remedy"]
        invoke("sync", "--person", diego, env=env)
        run = invoke("--json", "sync", "migrate", "--to", "graph", "--person", diego, env=env)
    (done,) = json.loads(run.out)["persons"]
    assert (run.code, done["status"]) == (0, "migrated"), done
