"""Sync v2, explicit link states (issue 19, deliver 2, bug 3): an intent is never overwritten by an error."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def organized(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]


def link_rows(env: dict[str, str]) -> list[tuple[Any, ...]]:
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return list(
            conn.execute("SELECT booking_id, state, last_error IS NOT NULL, error_count FROM booking_sync")
        )


@pytest.fixture
def booked(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    """DiegoS with booking 1 (room-zurich), not synced yet."""
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
            env=env,
        )
    )


@pytest.mark.parametrize("lookup_fault", ["drop_before", "http_401"])
def test_a_lost_create_answer_and_a_failing_lookup_never_create_twice(
    lookup_fault: str, invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, booked: None
) -> None:
    """Bug 3: CreateItem's answer lost, then the lookup by tag failed too: the error overwrote the stored
    pending-create intent, and the next pass created the meeting again."""
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_after", count=1)
    fresh_lab.fault(protocol="ews", operation="FindItem", kind=lookup_fault, count=10)
    first = invoke("--json", "sync", env=env)
    assert first.code == 1
    (diego,) = json.loads(first.out)["mailboxes"]
    assert diego["failures"] or diego["error"]
    assert [(b, s) for b, s, _, _ in link_rows(env)] == [(1, "pending-create")]  # the intent survived
    fresh_lab.clear_faults()
    second = ok(invoke("--json", "sync", env=env))
    (diego,) = json.loads(second.out)["mailboxes"]
    assert (diego["adopted"], diego["created"]) == (1, 0)
    assert fresh_lab.requests()["ews:CreateItem"] == 1  # created once, found by its tag afterwards
    assert [i["subject"] for i in organized(fresh_lab, addr("DiegoS"))] == ["Planning"]
    assert link_rows(env) == [(1, "linked", 0, 0)]


def test_a_failed_create_keeps_its_intent_with_the_error_beside_it(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, booked: None
) -> None:
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_before", count=1)
    run = invoke("--json", "sync", env=env)
    assert run.code == 1
    assert link_rows(env) == [(1, "pending-create", 1, 1)]
    ok(invoke("sync", env=env))
    assert link_rows(env) == [(1, "linked", 0, 0)]
    assert [i["subject"] for i in organized(fresh_lab, addr("DiegoS"))] == ["Planning"]


def test_cancel_goes_through_pending_cancel_to_cancelled(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, booked: None
) -> None:
    ok(invoke("sync", env=env))
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_before", count=1)  # CancelCalendarItem
    assert invoke("sync", env=env).code == 1
    assert [(b, s) for b, s, _, _ in link_rows(env)] == [(1, "pending-cancel")]
    fresh_lab.clear_faults()
    ok(invoke("sync", env=env))
    assert link_rows(env) == [(1, "cancelled", 0, 0)]
    assert organized(fresh_lab, addr("DiegoS")) == []


def test_a_v3_database_is_upgraded_with_states_from_its_last_error(tmp_path: Path) -> None:
    """Schema v3 encoded the state in last_error ("pending-create", "cancelled", "room-declined"); v4 moves it
    into the state column and keeps real errors in last_error."""
    import shutil

    from sqlalchemy import create_engine, text

    from roomsops.adapters.store import SCHEMA_VERSION, get_booking_sync, now_utc, open_store
    from roomsops.adapters.store.migrations import upgrade

    assert SCHEMA_VERSION == 14
    path = tmp_path / "rooms.db"
    shutil.copyfile(Path(__file__).resolve().parents[1] / "data" / "rooms-v1.db", path)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # the database as roomsops with schema v3 left it
        upgrade(conn, 1, 3, now_utc())
        person, room = (conn.execute(text(f"SELECT min(id) FROM {t}")).scalar() for t in ("persons", "rooms"))
        rows = [
            (11, None, "item", 0),  # linked
            (12, "pending-create", None, 1),
            (13, "cancelled", None, 0),
            (14, "room-declined", "item", 0),
            (15, "EWS said no", "item", 2),  # a failed update of a linked meeting
            (16, "EWS said no", None, 1),  # a failed first create (v3 lost the intent there: bug 3)
            (17, "rollback: the room is taken; the reset failed: EWS said no", "item", 1),
        ]
        for booking_id, error, item, attempts in rows:
            conn.execute(
                text(
                    "INSERT INTO bookings (id, organizer_id, room_id, title, start_utc, end_utc, created_utc, "
                    "updated_utc) VALUES (:id, :person, :room, 't', '2026-01-01 08:00:00', "
                    "'2026-01-01 09:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"id": booking_id, "person": person, "room": room},
            )
            conn.execute(
                text(
                    "INSERT INTO booking_sync (booking_id, mailbox, item_id, change_key, attempts, last_error, "
                    "updated_utc) VALUES (:id, 'a@x.ch', :item, :item, :attempts, :error, '2026-01-01 00:00:00')"
                ),
                {"id": booking_id, "item": item, "attempts": attempts, "error": error},
            )
    engine.dispose()
    store = open_store(f"sqlite:///{path}")
    try:
        with store.read() as conn:
            found = {i: get_booking_sync(conn, i) for i in range(11, 18)}
    finally:
        store.close()
    states = {i: (link.state, link.last_error, link.error_count) for i, link in found.items() if link}
    assert states == {
        11: ("linked", None, 0),
        12: ("pending-create", None, 0),
        13: ("cancelled", None, 0),
        14: ("room-declined", None, 0),
        15: ("failed", "EWS said no", 2),
        16: ("pending-create", "EWS said no", 1),
        17: ("failed", "rollback: the room is taken; the reset failed: EWS said no", 1),
    }


@pytest.mark.parametrize("on_removed", ["report", "purge", "resume"])
def test_a_pending_create_whose_meeting_exists_is_named_when_its_person_leaves(
    on_removed: str, invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, booked: None
) -> None:
    """The persons_leave finding of the bounded checker run (I5): CreateItem's answer lost and the lookup by tag
    failing, so the link is a pending create without an item id while the meeting holds the room; DiegoS then
    switches to sync mode None. The pass must name booking 1 with `sync purge` (report) or cancel its meeting
    (purge): it skipped links without an item id, and the room kept the slot with no word. After a report,
    `sync resume --person` must not create the meeting a second time (it looks it up by its tag first)."""
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_after", count=1)
    fresh_lab.fault(protocol="ews", operation="FindItem", kind="http_401", count=10)
    assert invoke("sync", env=env).code == 1
    fresh_lab.clear_faults()
    assert [(b, s) for b, s, _, _ in link_rows(env)] == [(1, "pending-create")]
    assert len(organized(fresh_lab, addr("DiegoS"))) == 1  # the meeting exists, roomsops has no item id
    ok(invoke("persons", "set", addr("DiegoS"), "--sync-mode", "None", env=env))
    mode = "report" if on_removed == "resume" else on_removed
    run = ok(invoke("--json", "sync", env=env | {"ROOMSOPS_SYNC_ON_PERSON_REMOVED": mode}))
    doc = json.loads(run.out)
    said = doc["left_sync"].get(addr("DiegoS")) or doc["left_sync"].get(addr("DiegoS").lower())
    assert said is not None and said["bookings"] == [1], doc["left_sync"]
    if mode == "report":
        assert "sync purge" in said["remedy"], said
    if on_removed == "resume":
        ok(invoke("persons", "set", addr("DiegoS"), "--sync-mode", "O365", env=env))
        ok(invoke("sync", "resume", "--person", addr("DiegoS"), env=env))
        ok(invoke("sync", env=env))
        assert [i["subject"] for i in organized(fresh_lab, addr("DiegoS"))] == ["Planning"]  # not twice
        assert link_rows(env) == [(1, "linked", 0, 0)]
        return
    if on_removed == "report":
        ok(invoke("sync", "purge", "--person", addr("DiegoS"), "--yes", env=env))
    assert organized(fresh_lab, addr("DiegoS")) == []  # the room's slot is free


#: `roomsops sync` that dies (SIGKILL) as its first mailbox's pass starts: after it looked at the persons who left
#: the sync, before it said anything (the log, the summary file).
KILLED_IN_FIRST_MAILBOX = textwrap.dedent(
    """
    import os, signal, sys
    from roomsops.services.sync.engine import MailboxSync

    def killed(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    MailboxSync.run = killed
    sys.argv = ["roomsops", "sync", "--concurrency", "1"]
    from roomsops.cli import main
    main()
    """
)


def test_a_person_leaving_is_said_again_after_a_pass_killed_before_it_said_so(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, booked: None, tmp_path: Path
) -> None:
    """The stop-32 rerun of soak seed 31400 (I5: "AdeleV left the sync and its meeting is still live; no pass
    reported it with the command to purge it"): DiegoS leaves the sync (mode None) with booking 1's meeting in
    Exchange, and the pass that is to say so once (sync.on_person_removed = "report") is SIGKILLed after it looked
    at the persons who left, before it said anything. It had stored the links as held back ("reported once")
    first, so no later pass said it: the meeting stayed with no word. The links are held back only once the
    report is in the log now; a pass killed before says nothing and stores nothing, and the next one says it."""
    ok(invoke("persons", "add", addr("AlexW"), "--sync-mode", "O365", env=env))  # a mailbox still synced
    ok(invoke("sync", env=env))
    assert len(organized(fresh_lab, addr("DiegoS"))) == 1
    ok(invoke("persons", "set", addr("DiegoS"), "--sync-mode", "None", env=env))
    hook = tmp_path / "hook.py"
    hook.write_text(KILLED_IN_FIRST_MAILBOX)
    killed = subprocess.run(
        [sys.executable, str(hook)],
        env=os.environ | env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    assert [(b, s) for b, s, _, _ in link_rows(env)] == [(1, "linked")]  # nothing said, nothing held back
    doc = json.loads(ok(invoke("--json", "sync", env=env)).out)
    said = doc["left_sync"].get(addr("DiegoS")) or doc["left_sync"].get(addr("DiegoS").lower())
    assert said is not None and said["bookings"] == [1] and "sync purge" in said["remedy"], doc["left_sync"]
    assert [(b, s) for b, s, _, _ in link_rows(env)] == [(1, "unlinked")]  # held back: said once
    assert json.loads(ok(invoke("--json", "sync", env=env)).out)["left_sync"] == {}
    assert len(organized(fresh_lab, addr("DiegoS"))) == 1  # reported, not purged
