"""Sync v2, full reconciliation (issue 19): bug 5 (ErrorInvalidSyncStateData lost every Outlook change since
the last good pass) and bug 6 (`sync --full`, `sync.full_every`: linked bookings synced whatever their date)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def live(lab: Any, mailbox: str) -> dict[str, dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return {
        i["subject"]: i for i in items if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]
    }


def bookings(invoke: Invoke, env: dict[str, str]) -> dict[int, dict[str, Any]]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b for b in found}


def database(env: dict[str, str]) -> str:
    return env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")


def corrupt_sync_state(env: dict[str, str]) -> None:
    """The stored SyncFolderItems state made invalid: the next pass gets ErrorInvalidSyncStateData."""
    with sqlite3.connect(database(env)) as conn:
        changed = conn.execute(
            "UPDATE mailbox_sync SET sync_state = 'H4sIAAAAAAAEAAtJLS5RSEksSQQAAP//' WHERE sync_state IS NOT NULL"
        ).rowcount
    assert changed == 1


def add_booking(invoke: Invoke, env: dict[str, str], addr: Any, start: datetime, title: str) -> None:
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            start.isoformat(),
            "--end",
            (start + timedelta(hours=1)).isoformat(),
            "--title",
            title,
            env=env,
        )
    )


@pytest.fixture
def synced(invoke: Invoke, env: dict[str, str], addr: Any) -> str:
    """DiegoS with bookings 1 (Planning) and 2 (Review) in room-zurich, synced."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    add_booking(invoke, env, addr, DAY, "Planning")
    add_booking(invoke, env, addr, DAY + timedelta(hours=2), "Review")
    ok(invoke("sync", env=env))
    return str(addr("DiegoS"))


def test_bug5_after_an_invalid_sync_state_no_outlook_change_is_lost(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: str
) -> None:
    """Bug 5: after ErrorInvalidSyncStateData the recovery reconciled by tag only and stored a new position:
    an Outlook edit, a deletion and a new meeting inviting a room made since the last good pass were lost."""
    meetings = live(fresh_lab, synced)
    path = f"/lab/mailboxes/{synced}/calendar"
    edited = fresh_lab.admin("PATCH", f"{path}/{meetings['Planning']['id']}", json={"subject": "Planning v2"})
    assert edited.status_code == 200, edited.text
    moved = fresh_lab.admin(
        "POST", f"{path}/{meetings['Review']['id']}/move", json={"folder": "deleteditems"}
    )
    assert moved.status_code == 200, moved.text
    new = {
        "subject": "Made in Outlook",
        "start": stamp(DAY + timedelta(days=1)),
        "end": stamp(DAY + timedelta(days=1, hours=1)),
        "resources": [addr("room-zurich")],
        "location": "Zürich",
    }
    assert fresh_lab.admin("POST", path, json=new).status_code == 201
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200  # the room accepts it
    corrupt_sync_state(env)

    run = ok(invoke("--json", "sync", env=env))
    (mailbox,) = json.loads(run.out)["mailboxes"]
    assert (mailbox["exchange_edits"], mailbox["bookings_cancelled"], mailbox["bookings_created"]) == (
        1,
        1,
        1,
    )
    assert mailbox["pass_kind"] == "full"
    found = bookings(invoke, env)
    assert (found[1]["title"], found[1]["status"]) == ("Planning v2", "active")
    assert found[2]["status"] == "cancelled"
    assert (found[3]["title"], found[3]["status"]) == ("Made in Outlook", "active")
    # converged: the next pass (incremental again) has nothing to do
    again = json.loads(ok(invoke("--json", "sync", env=env)).out)["mailboxes"][0]
    assert again["pass_kind"] == "incremental"
    assert [again[k] for k in ("created", "updated", "exchange_edits", "bookings_created")] == [0, 0, 0, 0]
    assert sorted(live(fresh_lab, synced)) == ["Made in Outlook", "Planning v2"]


def test_bug6_linked_bookings_are_synced_whatever_their_date(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: str
) -> None:
    """Bug 6: a booking moved in ROOMS beyond the 90-day window was not moved in Exchange; a meeting 100 days
    ahead deleted in Outlook never cancelled its booking. The window only limits the discovery of new meetings."""
    far = DAY + timedelta(days=100)
    ok(
        invoke(
            "bookings",
            "update",
            "1",
            "--start",
            far.isoformat(),
            "--end",
            (far + timedelta(hours=1)).isoformat(),
            env=env,
        )
    )
    run = json.loads(ok(invoke("--json", "sync", env=env)).out)["mailboxes"][0]
    assert run["updated"] == 1
    moved = live(fresh_lab, synced)["Planning"]
    assert moved["start"].replace("Z", "+00:00") == far.isoformat()

    path = f"/lab/mailboxes/{synced}/calendar/{moved['id']}/move"
    assert fresh_lab.admin("POST", path, json={"folder": "deleteditems"}).status_code == 200
    run = json.loads(ok(invoke("--json", "sync", env=env)).out)["mailboxes"][0]
    assert run["bookings_cancelled"] == 1
    assert bookings(invoke, env)[1]["status"] == "cancelled"

    add_booking(invoke, env, addr, far + timedelta(days=20), "Far ahead")  # a new booking beyond the window
    run = json.loads(ok(invoke("--json", "sync", env=env)).out)["mailboxes"][0]
    assert run["created"] == 1
    assert (
        live(fresh_lab, synced)["Far ahead"]["start"].replace("Z", "+00:00")
        == (far + timedelta(days=20)).isoformat()
    )


def test_full_pass_on_demand_and_every_n_passes_reports_its_cost(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: str
) -> None:
    """`sync --full` and `sync.full_every`: the --json document gives each mailbox's pass kind and the EWS
    requests it sent (the lab counts the same)."""
    fresh_lab.reset_requests()
    run = json.loads(ok(invoke("--json", "sync", "--full", env=env)).out)["mailboxes"][0]
    lab_count = sum(v for k, v in fresh_lab.requests().items() if k.startswith("ews:"))
    assert (run["pass_kind"], run["requests"]) == ("full", lab_count)
    assert run["unchanged"] == 2 and run["failures"] == []
    fresh_lab.reset_requests()
    run = json.loads(ok(invoke("--json", "sync", env=env)).out)["mailboxes"][0]
    assert (run["pass_kind"], run["requests"]) == ("incremental", 1)  # one SyncFolderItems

    every2 = env | {"ROOMSOPS_SYNC_FULL_EVERY": "2"}
    kinds = [
        json.loads(ok(invoke("--json", "sync", env=every2)).out)["mailboxes"][0]["pass_kind"]
        for _ in range(4)
    ]
    # One incremental pass since the --full one: the next is the second, a full one.
    assert kinds == ["full", "incremental", "full", "incremental"]
    never = env | {"ROOMSOPS_SYNC_FULL_EVERY": "0"}
    kinds = [
        json.loads(ok(invoke("--json", "sync", env=never)).out)["mailboxes"][0]["pass_kind"] for _ in range(3)
    ]
    assert kinds == ["incremental"] * 3


def test_a_bad_full_every_is_refused_before_any_work(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: str
) -> None:
    fresh_lab.reset_requests()
    run = invoke("sync", env=env | {"ROOMSOPS_SYNC_FULL_EVERY": "-1"})
    assert run.code == 2
    (line,) = run.err.strip().splitlines()
    assert line.startswith("Error: ") and "full_every" in line
    assert fresh_lab.requests() == {}
