"""Sync v2, own writes recognised by a revision tag and the snapshot (issue 19 deliver 5): every write carries a
new `roomsops-revision` extended property, the link stores it with the snapshot of what Exchange holds after the
write (read back), and a crash between an UpdateItem and its read-back leaves a read-back flag that makes the
next pass read the meeting again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def meeting(lab: Any, mailbox: str) -> dict[str, Any]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    (found,) = [i for i in items if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]
    return dict(found)


def revision_of(item: dict[str, Any]) -> str | None:
    found = [p["value"] for p in item["extended_properties"] if p["property_name"] == "roomsops-revision"]
    return found[0] if found else None


def link(env: dict[str, str]) -> dict[str, Any]:
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute(
            "SELECT state, revision, readback, snapshot FROM booking_sync WHERE booking_id = 1"
        ).fetchone()
    return {**dict(row), "snapshot": json.loads(row["snapshot"])}


def booking(invoke: Invoke, env: dict[str, str]) -> dict[str, Any]:
    (found,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return dict(found)


@pytest.fixture
def synced(invoke: Invoke, env: dict[str, str], addr: Any) -> str:
    """DiegoS's booking 1 (Planning, reminder 15) in room-zurich, synced."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            DAY.isoformat(),
            "--end",
            (DAY + timedelta(hours=1)).isoformat(),
            "--title",
            "Planning",
            "--reminder",
            "15",
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    return str(addr("DiegoS"))


def test_every_write_carries_a_new_revision_stored_in_the_link_with_exchanges_values(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], synced: str
) -> None:
    created = link(env)
    item = meeting(fresh_lab, synced)
    assert created["state"] == "linked" and created["readback"] == 0  # the create was read back in its pass
    assert created["revision"] and revision_of(item) == created["revision"]
    assert created["snapshot"]["subject"] == item["subject"] == "Planning"

    ok(invoke("bookings", "update", "1", "--title", "Planning v2", env=env))
    ok(invoke("sync", env=env))
    updated = link(env)
    assert updated["readback"] == 0
    assert updated["revision"] not in (None, created["revision"])
    assert revision_of(meeting(fresh_lab, synced)) == updated["revision"]
    assert updated["snapshot"]["subject"] == "Planning v2"

    # An Outlook edit keeps the extended properties (the revision stays ours) but changes a field: an edit.
    item = meeting(fresh_lab, synced)
    response = fresh_lab.admin(
        "PATCH", f"/lab/mailboxes/{synced}/calendar/{item['id']}", json={"reminder": 45, "send": False}
    )
    assert response.status_code == 200, response.text
    assert revision_of(meeting(fresh_lab, synced)) == updated["revision"]
    run = json.loads(ok(invoke("--json", "sync", "--full", env=env)).out)["mailboxes"][0]
    assert run["exchange_edits"] == 1
    assert booking(invoke, env)["reminder_minutes"] == 45
    # Nothing changed since: revision and fields equal the link's, no edit on a full comparison either.
    again = json.loads(ok(invoke("--json", "sync", "--full", env=env)).out)["mailboxes"][0]
    assert (again["exchange_edits"], again["updated"], again["differences"]) == (0, 0, 0)


HOOK = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from roomsops.adapters.ews.backend import EwsCalendar

    marker, go = Path(sys.argv[1]), Path(sys.argv[2])
    update, changes = EwsCalendar.update, EwsCalendar.changes
    done = []

    def update_when_told(self, mailbox, meeting, fields, revision=None, **options):
        marker.write_text("about to update")
        for _ in range(12000):  # the test makes its Outlook edit now, then says go
            if go.exists():
                break
            time.sleep(0.01)
        answer = update(self, mailbox, meeting, fields, revision, **options)
        done.append(answer)
        return answer

    def killed_before_read_back(self, mailbox, state):
        if done:  # the UpdateItem was answered and recorded: the process dies before anything reads it back
            os.kill(os.getpid(), signal.SIGKILL)
        return changes(self, mailbox, state)

    EwsCalendar.update = update_when_told
    EwsCalendar.changes = killed_before_read_back
    sys.argv = ["roomsops", "sync", "--concurrency", "1"]
    from roomsops.cli import main
    main()
    """
)


def test_a_crash_between_update_and_read_back_leaves_the_next_pass_not_blind(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], synced: str, tmp_path: Path
) -> None:
    """Outlook changes the reminder after the pass read the calendar, right before its UpdateItem of the title
    (NeverOverwrite refuses the stale ChangeKey; the reminder is no field written, so the update is made once more
    on the current one and its answer's ChangeKey covers the edit, fix19s); the process is SIGKILLed
    once the UpdateItem is answered, before the read-back. The link's read-back flag makes the next pass read
    the meeting: the Outlook edit is applied (before, the stored ChangeKey hid it for good)."""
    ok(invoke("bookings", "update", "1", "--title", "Planning (ROOMS)", env=env))
    hook, marker, go = tmp_path / "hook.py", tmp_path / "marker", tmp_path / "go"
    hook.write_text(HOOK)
    fresh_lab.reset_requests()
    process = subprocess.Popen(
        [sys.executable, str(hook), str(marker), str(go)],
        env=os.environ | env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(12000):
            if marker.exists() or process.poll() is not None:
                break
            time.sleep(0.01)
        assert marker.exists(), "the sync never reached its UpdateItem"
        item = meeting(fresh_lab, synced)
        response = fresh_lab.admin(
            "PATCH", f"/lab/mailboxes/{synced}/calendar/{item['id']}", json={"reminder": 30, "send": False}
        )
        assert response.status_code == 200, response.text
        go.write_text("go")
        assert process.wait(timeout=120) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert fresh_lab.requests().get("ews:UpdateItem", 0) == 2  # refused on the stale ChangeKey, then made
    killed = link(env)
    assert killed["readback"] == 1  # the write was not read back: the next pass must read it
    item = meeting(fresh_lab, synced)
    assert (item["subject"], item["reminder"]) == ("Planning (ROOMS)", 30)

    run = json.loads(ok(invoke("--json", "sync", env=env)).out)["mailboxes"][0]
    assert run["exchange_edits"] == 1
    found = booking(invoke, env)
    assert (found["title"], found["reminder_minutes"]) == ("Planning (ROOMS)", 30)
    settled = link(env)
    assert (settled["state"], settled["readback"]) == ("linked", 0)
    assert settled["snapshot"]["reminder_minutes"] == 30


def test_a_v5_database_is_upgraded_with_no_revision_and_no_read_back(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    from roomsops.adapters.store import SCHEMA_VERSION, get_booking_sync, now_utc, open_store
    from roomsops.adapters.store.migrations import upgrade

    assert SCHEMA_VERSION == 14
    path = tmp_path / "rooms.db"
    shutil.copyfile(Path(__file__).resolve().parents[1] / "data" / "rooms-v1.db", path)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # the database as roomsops with schema v5 left it, with one linked meeting
        upgrade(conn, 1, 5, now_utc())
        person, room = (conn.execute(text(f"SELECT min(id) FROM {t}")).scalar() for t in ("persons", "rooms"))
        conn.execute(
            text(
                "INSERT INTO bookings (id, organizer_id, room_id, title, start_utc, end_utc, created_utc, "
                "updated_utc) VALUES (41, :person, :room, 't', '2026-01-01 08:00:00', '2026-01-01 09:00:00', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"person": person, "room": room},
        )
        conn.execute(
            text(
                "INSERT INTO booking_sync (booking_id, mailbox, item_id, change_key, snapshot, synced_version, "
                "updated_utc, state) VALUES (41, 'a@x.ch', 'item', 'ck', '{}', 1, '2026-01-01 00:00:00', 'linked')"
            )
        )
    engine.dispose()
    store = open_store(f"sqlite:///{path}")
    try:
        with store.read() as conn:
            found = get_booking_sync(conn, 41)
            versions = conn.execute(text("SELECT max(version) FROM schema_version")).scalar()
    finally:
        store.close()
    assert versions == SCHEMA_VERSION
    assert found is not None
    assert (found.state, found.item_id, found.change_key, found.revision, found.readback) == (
        "linked",
        "item",
        "ck",
        None,
        False,
    )
