"""`roomsops sync` against the lab (real exchangelib), read back through the lab's own calendar view."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def calendar(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]


def tag(item: dict[str, Any], name: str) -> str | None:
    return next((p["value"] for p in item["extended_properties"] if p["property_name"] == name), None)


def ews_writes(lab: Any) -> dict[str, int]:
    return {
        k: v
        for k, v in lab.requests().items()
        if k in ("ews:CreateItem", "ews:UpdateItem", "ews:DeleteItem", "ews:CancelCalendarItem")
    }


@pytest.fixture
def seed(invoke: Invoke, env: dict[str, str], addr: Any) -> Any:
    def make(persons: list[str], bookings_each: int = 1, mode: str = "O365") -> None:
        ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
        ok(invoke("rooms", "add", addr("room-bern"), "--name", "Bern", env=env))
        for p_index, person in enumerate(persons):
            ok(invoke("persons", "add", addr(person), "--name", person, "--sync-mode", mode, env=env))
            for b in range(bookings_each):
                start = TOMORROW + timedelta(days=p_index, hours=2 * b)
                ok(
                    invoke(
                        "bookings",
                        "add",
                        "--organizer",
                        addr(person),
                        "--room",
                        addr("room-zurich"),
                        "--start",
                        iso(start),
                        "--end",
                        iso(start + timedelta(hours=1)),
                        "--title",
                        f"{person} meeting {b}",
                        env=env,
                    )
                )

    return make


@pytest.mark.both_databases
def test_create_update_cancel_reach_both_calendars(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any
) -> None:
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", addr("room-bern"), "--name", "Bern", env=env))
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
            iso(TOMORROW),
            "--end",
            iso(TOMORROW + timedelta(hours=1)),
            "--title",
            "Planning O'Brien",
            "--attendee",
            addr("AdeleV"),
            "--reminder",
            "15",
            "--private",
            "--free-busy",
            "Tentative",
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    (meeting,) = calendar(fresh_lab, addr("DiegoS"))
    assert (meeting["subject"], meeting["start"], meeting["end"]) == (
        "Planning O'Brien",
        TOMORROW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (TOMORROW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    assert meeting["location"] == "Zürich"
    assert [r["email"].lower() for r in meeting["resources"]] == [addr("room-zurich").lower()]
    assert [a["email"].lower() for a in meeting["required_attendees"]] == [addr("AdeleV").lower()]
    assert (meeting["reminder"], meeting["sensitivity"], meeting["free_busy"]) == (15, "Private", "Tentative")
    assert re.fullmatch(
        r"1:[0-9a-f]{32}", tag(meeting, "roomsops-booking") or ""
    )  # the id and the booking's key
    # The room's attendant answers after the sync (in Exchange, seconds later): let it answer now.
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    (room_copy,) = calendar(fresh_lab, addr("room-zurich"))
    assert room_copy["my_response"] == "Accept"
    item_id = meeting["id"]

    ok(
        invoke(
            "bookings",
            "update",
            "1",
            "--title",
            "Planning v2",
            "--room",
            addr("room-bern"),
            "--start",
            iso(TOMORROW + timedelta(hours=3)),
            "--end",
            iso(TOMORROW + timedelta(hours=4)),
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    (meeting,) = calendar(fresh_lab, addr("DiegoS"))
    assert meeting["id"] == item_id  # the same item
    assert (meeting["subject"], meeting["location"]) == ("Planning v2", "Bern")
    assert meeting["start"] == (TOMORROW + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    assert [i["my_response"] for i in calendar(fresh_lab, addr("room-bern"))] == ["Accept"]

    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    ok(invoke("sync", env=env))
    assert all(i["is_cancelled"] for i in calendar(fresh_lab, addr("DiegoS")))
    assert all(i["is_cancelled"] or i["free_busy"] == "Free" for i in calendar(fresh_lab, addr("room-bern")))


def test_without_invitations_the_room_stays_untouched(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any
) -> None:
    seed(["DiegoS"])
    ok(invoke("sync", env=env | {"ROOMSOPS_SYNC_SEND_INVITATIONS": "none"}))
    assert len(calendar(fresh_lab, addr("DiegoS"))) == 1
    assert calendar(fresh_lab, addr("room-zurich")) == []


def test_a_mistyped_send_invitations_is_refused_not_read_as_none(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any
) -> None:
    """Once, "All" read as "none": the cancelled booking's meeting was deleted instead of cancelled."""
    seed(["DiegoS"])
    ok(invoke("sync", env=env))
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    summary = Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text()
    fresh_lab.reset_requests()
    run = invoke("sync", env=env | {"ROOMSOPS_SYNC_SEND_INVITATIONS": "All"})
    assert run.code == 2, run.out + run.err
    assert "send_invitations" in run.err and "'All'" in run.err and "all" in run.err and "none" in run.err
    assert ews_writes(fresh_lab) == {}
    assert [i["is_cancelled"] for i in calendar(fresh_lab, addr("DiegoS"))] == [False]
    assert Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text() == summary


@pytest.mark.both_databases
def test_a_pass_with_nothing_changed_writes_nothing(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any
) -> None:
    seed(["DiegoS", "AdeleV", "AlexW"], bookings_each=2)
    ok(invoke("sync", env=env))
    fresh_lab.reset_requests()
    run = ok(invoke("--json", "sync", env=env))
    counts = fresh_lab.requests()
    ews = {k: v for k, v in counts.items() if k.startswith("ews:")}
    assert ews_writes(fresh_lab) == {}
    assert sum(ews.values()) <= 3, ews  # at most one request per mailbox
    assert json.loads(run.out)["mailboxes"][0]["unchanged"] == 2
    summary = json.loads(Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text())
    assert summary["ok"] is True and summary["totals"]["unchanged"] == 6


@pytest.mark.both_databases
def test_a_create_whose_answer_was_lost_makes_one_meeting(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any
) -> None:
    seed(["DiegoS"])
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_after", count=1)
    first = ok(invoke("--json", "sync", env=env))  # the meeting is found by its tag: nothing failed
    assert json.loads(first.out)["mailboxes"][0]["adopted"] == 1
    ok(invoke("sync", env=env))
    assert len(calendar(fresh_lab, addr("DiegoS"))) == 1
    assert fresh_lab.requests()["ews:CreateItem"] == 1


def test_failing_mailboxes_do_not_stop_the_others(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any
) -> None:
    extra = [f"User{i}" for i in range(4)]
    for name in extra:
        fresh_lab.admin(
            "POST",
            "/lab/mailboxes",
            json={"email": addr(name), "display_name": name, "kind": "user", "aliases": []},
        ).raise_for_status()
    people = ["DiegoS", "AdeleV", "AlexW", "MeganB", "LeeG", *extra, "Ghost"]
    seed(people)
    allowed = [p for p in people if p not in ("AdeleV", "Ghost")]
    ok(invoke("policy", "restrict", *[a for p in allowed for a in ("--member", addr(p))], env=env))
    with fresh_lab.lab.tenant.change() as state:
        state.find_mailbox(addr("MeganB")).ews_enabled = False
    run = invoke("--json", "sync", env=env)
    assert run.code == 1
    reports = {m["mailbox"]: m for m in json.loads(run.out)["mailboxes"]}
    failed = {m: r["error_code"] for m, r in reports.items() if r["error"]}
    assert failed == {
        addr("AdeleV"): "ews_denied_by_policy",
        addr("MeganB"): "ews_ews_disabled",
        addr("Ghost"): "ews_mailbox_not_found",
    }
    assert sum(r["created"] for r in reports.values()) == 7
    text = invoke("sync", env=env)
    assert f"{addr('AdeleV')}: FAILED" in text.out and "failed: " in text.out.splitlines()[-1]


def test_dry_run_changes_neither_side(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any, tmp_path: Path
) -> None:
    seed(["DiegoS"])
    database = tmp_path / "rooms.db"
    before = database.read_bytes()
    run = ok(invoke("sync", "--dry-run", env=env))
    assert "would create meeting for booking 1" in run.out
    assert calendar(fresh_lab, addr("DiegoS")) == []
    assert ews_writes(fresh_lab) == {}
    ok(invoke("sync", env=env))  # and the real pass still creates it
    assert len(calendar(fresh_lab, addr("DiegoS"))) == 1
    assert database.read_bytes() != before


def test_a_second_concurrent_sync_names_the_lock_holder(
    invoke: Invoke, env: dict[str, str], seed: Any, tmp_path: Path
) -> None:
    from roomsops.services.sync.lock import run_lock

    seed(["DiegoS"])
    with run_lock(tmp_path / "rooms.db.sync.lock"):
        run = invoke("sync", env=env)
    assert run.code == 1
    assert f"another sync is running on this database (pid {os.getpid()} on " in run.err


def test_items_of_another_installation_are_untouched(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any
) -> None:
    seed(["DiegoS"])
    other = {
        "distinguished_set_id": "PublicStrings",
        "property_name": "roomsops-installation",
        "property_type": "String",
        "value": "00000000-0000-4000-8000-000000000000",
    }
    booking = {
        "distinguished_set_id": "PublicStrings",
        "property_name": "roomsops-booking",
        "property_type": "String",
        "value": "1",
    }
    start = TOMORROW + timedelta(days=3)
    fresh_lab.admin(
        "POST",
        f"/lab/mailboxes/{addr('DiegoS')}/calendar",
        json={
            "subject": "Other installation",
            "start": iso(start),
            "end": iso(start + timedelta(hours=1)),
            "extended_properties": [other, booking],
            "send": False,
        },
    ).raise_for_status()
    (before,) = calendar(fresh_lab, addr("DiegoS"))
    ok(invoke("sync", env=env))
    ok(invoke("sync", env=env))
    items = {i["subject"]: i for i in calendar(fresh_lab, addr("DiegoS"))}
    assert items["Other installation"] == before
    assert "DiegoS meeting 0" in items


def test_purge_removes_this_installations_meetings(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any
) -> None:
    seed(["DiegoS"], bookings_each=2)
    ok(invoke("sync", env=env))
    assert invoke("sync", "purge", "--person", addr("DiegoS"), env=env).code == 2  # no terminal, no --yes
    run = ok(invoke("sync", "purge", "--person", addr("DiegoS"), "--yes", env=env))
    assert "removed 2 meeting(s)" in run.out
    assert all(i["is_cancelled"] for i in calendar(fresh_lab, addr("DiegoS")))


@pytest.mark.slow
def test_killed_at_any_point_no_duplicate_and_nothing_lost(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any, tmp_path: Path
) -> None:
    seed(["DiegoS", "AdeleV", "AlexW"], bookings_each=2)
    fresh_lab.settings(latency_ms=60)
    try:
        for kill_after in (2, 6, 9, 12, 15, 18):
            fresh_lab.reset_requests()
            process = subprocess.Popen(
                [sys.executable, "-m", "roomsops", "sync", "--concurrency", "2"],
                env=os.environ | env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while process.poll() is None and time.monotonic() < deadline:
                if sum(v for k, v in fresh_lab.requests().items() if k.startswith("ews:")) >= kill_after:
                    process.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.01)
            process.wait(timeout=30)
            # an edit on the ROOMS side between the crash and the next run must not be lost
            ok(invoke("bookings", "update", "1", "--title", f"after kill {kill_after}", env=env))
    finally:
        fresh_lab.settings(latency_ms=0)
    ok(invoke("sync", env=env))
    bookings = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    for booking in bookings:
        organizer = booking["organizer"]
        mine = [
            i
            for i in calendar(fresh_lab, organizer)
            if (tag(i, "roomsops-booking") or "").partition(":")[0] == str(booking["id"])
            and not i["is_cancelled"]
        ]
        assert len(mine) == 1, (booking["id"], [i["subject"] for i in mine])
        assert mine[0]["subject"] == booking["title"]
        assert mine[0]["start"].replace("Z", "+00:00") == booking["start"]


def test_an_update_whose_answer_was_lost_is_no_outlook_edit(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, seed: Any
) -> None:
    seed(["DiegoS"])
    ok(invoke("sync", env=env))
    ok(invoke("bookings", "update", "1", "--title", "Planning v2", env=env))
    fresh_lab.fault(protocol="ews", operation="UpdateItem", kind="drop_after", count=1)
    invoke("sync", env=env)
    ok(invoke("sync", env=env))
    assert json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"] == []
    (meeting,) = calendar(fresh_lab, addr("DiegoS"))
    assert meeting["subject"] == "Planning v2"
