"""Review of issue 19 (sync engine v2): findings as regression tests, against the lab (real exchangelib, TLS)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def items(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return list(lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"])


def live(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return [i for i in items(lab, mailbox) if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]


def bookings(invoke: Invoke, env: dict[str, str]) -> dict[int, dict[str, Any]]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b for b in found}


def mailbox(run: Any, address: str) -> dict[str, Any]:
    return next(m for m in json.loads(run.out)["mailboxes"] if m["mailbox"] == address)


def link_rows(env: dict[str, str]) -> list[tuple[Any, ...]]:
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT booking_id, state, item_id FROM booking_sync ORDER BY booking_id"))


def summary(env: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text()))


@pytest.fixture
def synced(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    """DiegoS with booking 1 (room-zurich, DAY 08:00-09:00), synced once."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", addr("AdeleV"), "--sync-mode", "O365", env=env))
    ok(
        invoke(
            "bookings", "add", "--organizer", addr("DiegoS"), "--room", addr("room-zurich"),
            "--start", DAY.isoformat(), "--end", (DAY + timedelta(hours=1)).isoformat(),
            "--title", "Planning", "--attendee", addr("AdeleV"), env=env,
        )
    )
    ok(invoke("sync", env=env))


def test_a_full_pass_never_adopts_or_cancels_a_restored_meeting_of_a_cancelled_booking(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """docs/sync.md: meetings tagged by this installation whose booking was cancelled (e.g. restored from Deleted
    Items) are counted as "restored or unlinked" and never changed. An incremental pass keeps that; `sync --full`
    adopted the restored meeting back into the cancelled booking's link ("adopted": 1) and then cancelled it:
    the user's restored meeting vanished from Outlook and its attendees and room got a cancellation."""
    (meeting,) = live(fresh_lab, addr("DiegoS"))
    gone = fresh_lab.admin("DELETE", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{meeting['id']}?cancel=false")
    assert gone.status_code == 200, gone.text
    ok(invoke("sync", env=env))
    assert bookings(invoke, env)[1]["status"] == "cancelled"  # deleting it in Outlook cancelled the booking
    back = fresh_lab.admin("POST", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{gone.json()['item']['id']}/restore")
    assert back.status_code == 200, back.text
    restored = back.json()["item"]
    normal = mailbox(ok(invoke("--json", "sync", env=env)), addr("DiegoS"))
    assert normal["skipped"].get("restored or unlinked") == 1
    full = mailbox(ok(invoke("--json", "sync", "--full", env=env)), addr("DiegoS"))
    assert (full["adopted"], full["cancelled"]) == (0, 0), full
    assert full["skipped"].get("restored or unlinked") == 1, full
    ok(invoke("sync", env=env))
    assert [(i["id"], i["is_cancelled"]) for i in live(fresh_lab, addr("DiegoS"))] == [(restored["id"], False)]
    assert bookings(invoke, env)[1]["status"] == "cancelled"
    assert [row[:2] for row in link_rows(env)] == [(1, "cancelled")]



def test_p_cancel_two_lost_answers(invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None) -> None:
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_after", count=2)
    for _ in range(4):
        run = invoke("--json", "sync", env=env)
        print("PASS", run.code, link_rows(env), mailbox(run, addr("DiegoS"))["failures"])
    assert live(fresh_lab, addr("DiegoS")) == []
    assert [r[:2] for r in link_rows(env)] == [(1, "cancelled")]
    assert summary(env)["ok"] is True


def test_p_attendee_copy_full(invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None) -> None:
    before = items(fresh_lab, addr("AdeleV"))
    print("ADELE", json.dumps(before)[:600])
    run = ok(invoke("--json", "sync", "--full", env=env))
    adele = mailbox(run, addr("AdeleV"))
    print(adele)
    assert (adele["unknown_tagged"], adele["cancelled"], adele["adopted"], adele["bookings_created"]) == ([], 0, 0, 0)
    assert items(fresh_lab, addr("AdeleV")) == before


def test_p_long_rooms_title(invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None) -> None:
    r = invoke("bookings", "update", "1", "--title", "y" * 300, env=env)
    print("UPD", r.code, r.out[-300:], r.err[-300:])
    for _ in range(3):
        run = invoke("--json", "sync", env=env)
        d = mailbox(run, addr("DiegoS"))
        print("PASS", run.code, d["updated"], d["exchange_edits"], d["differences"], d["failures"])
    print(len(live(fresh_lab, addr("DiegoS"))[0]["subject"]), len(bookings(invoke, env)[1]["title"]))
    assert (d["updated"], d["exchange_edits"], d["differences"]) == (0, 0, 0)


def test_p_far_and_back(invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None) -> None:
    far = DAY + timedelta(days=200)
    ok(invoke("bookings", "update", "1", "--start", far.isoformat(), "--end", (far + timedelta(hours=1)).isoformat(), env=env))
    ok(invoke("sync", env=env))
    (m,) = live(fresh_lab, addr("DiegoS"))
    assert m["start"] == stamp(far)
    r = fresh_lab.admin("PATCH", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{m['id']}", json={"subject": "Far edit"})
    assert r.status_code == 200
    ok(invoke("sync", env=env))
    assert bookings(invoke, env)[1]["title"] == "Far edit"
    ok(invoke("bookings", "update", "1", "--start", DAY.isoformat(), "--end", (DAY + timedelta(hours=1)).isoformat(), env=env))
    ok(invoke("sync", env=env))
    (m,) = live(fresh_lab, addr("DiegoS"))
    r = fresh_lab.admin("PATCH", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{m['id']}", json={"subject": "Near edit"})
    ok(invoke("sync", env=env))
    ok(invoke("sync", "--full", env=env))
    (m,) = live(fresh_lab, addr("DiegoS"))
    assert (m["start"], m["subject"]) == (stamp(DAY), "Near edit")
    assert bookings(invoke, env)[1]["title"] == "Near edit"


@pytest.mark.parametrize("use", ["rooms", "exchange"])
def test_p_room_replaced(use: str, invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None) -> None:
    ok(invoke("rooms", "add", addr("room-bern"), "--name", "Bern", env=env))
    (m,) = live(fresh_lab, addr("DiegoS"))
    r = fresh_lab.admin("PATCH", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{m['id']}", json={"resources": [addr("room-bern")]})
    print("PATCH", r.status_code, r.text[:200])
    run = invoke("--json", "sync", env=env)
    d = mailbox(run, addr("DiegoS"))
    print("PASS", run.code, d["differences"], d["exchange_edits"], d["failures"])
    print("DIFF", invoke("sync", "diff", env=env).out)
    r = invoke("sync", "resolve", "1", "--use", use, env=env)
    print("RESOLVE", r.code, r.out, r.err)
    for _ in range(2):
        run = invoke("--json", "sync", env=env)
        d = mailbox(run, addr("DiegoS"))
        print("PASS", run.code, d["differences"], d["exchange_edits"], d["updated"], d["failures"])
    (m,) = live(fresh_lab, addr("DiegoS"))
    print("RES", [x["email"] for x in m["resources"]], bookings(invoke, env)[1])
    bern = [i for i in items(fresh_lab, addr("room-bern")) if not i["is_cancelled"]]
    zur = [i for i in items(fresh_lab, addr("room-zurich")) if not i["is_cancelled"]]
    print("ROOMCAL", len(bern), len(zur))
    assert (d["differences"], d["exchange_edits"], d["updated"]) == (0, 0, 0)
    want = addr("room-zurich") if use == "rooms" else addr("room-bern")
    assert [x["email"].lower() for x in m["resources"]] == [want.lower()]


def test_a_sigkilled_run_does_not_leave_the_older_success_as_the_current_state(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None, tmp_path: Path
) -> None:
    """docs/sync.md: a run that stops before finishing — ... a crash — writes "ok": false, "so an older success
    is never read as the current state". SIGKILL (the OOM killer, a host reboot, `kill -9` by a service manager
    after its stop timeout) is the crash no handler sees: the summary file still holds the previous run's
    "ok": true, and monitoring reads a run that never finished as healthy. (E.g. a summary written at the start
    saying the run is under way, replaced when it ends, would tell the truth.)"""
    assert summary(env)["ok"] is True
    previous = summary(env)
    ok(invoke("bookings", "update", "1", "--title", "Planning v2", env=env))
    fresh_lab.settings(latency_ms=30)
    fresh_lab.reset_requests()
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "sync", "--concurrency", "1"],
        env=os.environ | env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(6000):  # bounded poll of the lab's request counter (no clock involved in the outcome)
            if process.poll() is not None or fresh_lab.requests().get("ews:SyncFolderItems", 0) >= 1:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the sync ended before its first SyncFolderItems was counted"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        fresh_lab.settings(latency_ms=0)
    after = summary(env)
    assert after != previous, "the killed run left the previous run's summary as the current state"
    assert after["ok"] is False


def tags(installation: str, booking: str) -> list[dict[str, str]]:
    prop = {"distinguished_set_id": "PublicStrings", "property_type": "String"}
    return [
        {**prop, "property_name": "roomsops-installation", "value": installation},
        {**prop, "property_name": "roomsops-booking", "value": booking},
    ]


def test_a_duplicate_removed_by_a_full_pass_is_counted_and_audited(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """A second meeting with this installation's tag for the same booking (an Outlook copy carries the named
    properties) is removed by `sync --full`, as documented: the removal is a CancelCalendarItem that tells the
    copy's attendees and room. It appeared nowhere: "cancelled" 0, no audit record, the summary silent about a
    write roomsops made to someone's calendar. Every change gets an audit record; the summary tells the truth."""
    d = addr("DiegoS")
    (meeting,) = live(fresh_lab, d)
    installation = next(
        p["value"] for p in meeting["extended_properties"] if p["property_name"] == "roomsops-installation"
    )
    made = fresh_lab.admin(
        "POST",
        f"/lab/mailboxes/{d}/calendar",
        json={
            "subject": "Planning",
            "start": meeting["start"],
            "end": meeting["end"],
            "resources": [addr("room-zurich")],
            "extended_properties": tags(installation, "1"),
            "send": False,
        },
    )
    assert made.status_code == 201, made.text
    copy = made.json()["id"]
    audit = Path(env["ROOMSOPS_LOG_AUDIT"])
    before = audit.read_text() if audit.exists() else ""
    full = mailbox(ok(invoke("--json", "sync", "--full", env=env)), d)
    assert [i["id"] for i in live(fresh_lab, d)] == [meeting["id"]]  # the copy was removed, the original kept
    assert full["cancelled"] == 1, full  # or a count of its own: the summary must say a meeting was removed
    assert copy in audit.read_text()[len(before):], "no audit record of the removed duplicate"
    assert summary(env)["mailboxes"][-1]["cancelled"] == 1


def test_a_room_declined_booking_is_reported_on_every_pass_until_settled(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """docs/sync.md: `room-declined` — "the room declined the meeting; reported as a failure of the booking", and
    I2: reported "on every pass until it is settled". The room declines (the booking is beyond its booking
    window, 180 days, as Exchange's default). The pass that reads the decline reports it (exit 1); the next pass,
    nothing having changed, reports nothing, exits 0 and the summary says ok — while the booking's room is not
    held in Exchange and the link is still `room-declined`."""
    far = DAY + timedelta(days=200)
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            far.isoformat(),
            "--end",
            (far + timedelta(hours=1)).isoformat(),
            "--title",
            "Far away",
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    for attempt in range(2):
        run = invoke("--json", "sync", env=env)
        assert run.code == 1, (attempt, run.out)
        (failure,) = mailbox(run, addr("DiegoS"))["failures"]
        assert "booking 2 (Far away)" in failure and "declined" in failure
        assert summary(env)["ok"] is False
        assert dict((row[0], row[1]) for row in link_rows(env))[2] == "room-declined"


@pytest.mark.parametrize("start", ["2027-03-28T00:30:00+00:00"])
def test_p_dst(start: str, invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None) -> None:
    s = datetime.fromisoformat(start)
    ok(invoke("bookings", "add", "--organizer", addr("DiegoS"), "--room", addr("room-zurich"), "--start", s.isoformat(),
              "--end", (s + timedelta(hours=2)).isoformat(), "--title", "DST", env=env))
    ok(invoke("sync", env=env))
    fresh_lab.admin("POST", "/lab/room-answers/process")
    for _ in range(2):
        run = invoke("--json", "sync", env=env)
        x = mailbox(run, addr("DiegoS"))
        print("PASS", run.code, x["exchange_edits"], x["updated"], x["differences"], x["failures"])
    m = [i for i in live(fresh_lab, addr("DiegoS")) if i["subject"] == "DST"][0]
    print("M", m["start"], m["end"], bookings(invoke, env)[2]["start"])
    assert (m["start"], m["end"]) == (stamp(s), stamp(s + timedelta(hours=2)))
    fresh_lab.admin("PATCH", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{m['id']}", json={"start": stamp(s + timedelta(minutes=30)), "end": stamp(s + timedelta(hours=3))})
    ok(invoke("sync", env=env))
    b = bookings(invoke, env)[2]
    assert (b["start"], b["end"]) == ((s + timedelta(minutes=30)).isoformat(), (s + timedelta(hours=3)).isoformat())
    run = invoke("--json", "sync", "--full", env=env)
    x = mailbox(run, addr("DiegoS"))
    assert (x["exchange_edits"], x["updated"], x["differences"]) == (0, 0, 0)


def test_p_update_double_fault(invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None) -> None:
    ok(invoke("bookings", "update", "1", "--title", "Planning v2", env=env))
    fresh_lab.fault(protocol="ews", operation="UpdateItem", kind="drop_after", count=1)
    fresh_lab.fault(protocol="ews", operation="GetItem", kind="http_401", count=1)
    fresh_lab.fault(protocol="ews", operation="UpdateItem", kind="server_busy", back_off_ms=50, count=2)
    run = invoke("--json", "sync", env=env)
    print("PASS", run.code, mailbox(run, addr("DiegoS"))["failures"], link_rows(env))
    (m,) = live(fresh_lab, addr("DiegoS"))
    fresh_lab.admin("PATCH", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{m['id']}", json={"reminder": 30})
    for _ in range(3):
        run = invoke("--json", "sync", env=env)
        x = mailbox(run, addr("DiegoS"))
        print("PASS", run.code, x["exchange_edits"], x["updated"], x["differences"], x["failures"], link_rows(env))
    (m,) = live(fresh_lab, addr("DiegoS"))
    b = bookings(invoke, env)[1]
    print("M", m["subject"], m["reminder"], b["title"], b["reminder_minutes"])
    assert (m["subject"], b["title"], b["reminder_minutes"]) == ("Planning v2", "Planning v2", 30)
    assert summary(env)["ok"] is True


def killed_sync(lab: Any, env: dict[str, str], cwd: Path, kill_after: int, *args: str) -> int:
    lab.settings(latency_ms=40)
    lab.reset_requests()
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "sync", "--concurrency", "1", *args],
        env=os.environ | env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(20000):
            if process.poll() is not None:
                break
            if sum(v for k, v in lab.requests().items() if k.startswith("ews:")) >= kill_after:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.003)
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        lab.settings(latency_ms=0)


@pytest.mark.parametrize("base", [1, 4, 7])
def test_p_kill_sweep(base: int, invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None, tmp_path: Path) -> None:
    d = addr("DiegoS")
    ok(invoke("rooms", "add", addr("room-bern"), "--name", "Bern", env=env))
    outlook_made = []
    codes = []
    for r in range(8):
        at = DAY + timedelta(days=1 + r)
        ok(invoke("bookings", "add", "--organizer", d, "--room", addr("room-zurich"), "--start", at.isoformat(),
                  "--end", (at + timedelta(hours=1)).isoformat(), "--title", f"R{r}", env=env))
        ok(invoke("bookings", "update", "1", "--title", f"Planning {r}", env=env))
        if r >= 1:
            last = next(b["id"] for b in bookings(invoke, env).values() if b["title"] == f"R{r - 1}")
            ok(invoke("bookings", "cancel", str(last), "--yes", env=env))  # the booking added last round
        made = fresh_lab.admin("POST", f"/lab/mailboxes/{d}/calendar", json={
            "subject": f"O{r}", "start": stamp(at + timedelta(hours=3)), "end": stamp(at + timedelta(hours=4)),
            "resources": [addr("room-bern")], "send": False})
        assert made.status_code == 201
        outlook_made.append(f"O{r}")
        mine = [i for i in live(fresh_lab, d) if i["subject"].startswith("O")]
        if mine:
            fresh_lab.admin("PATCH", f"/lab/mailboxes/{d}/calendar/{mine[0]['id']}", json={"reminder": 10 + r})
        args = ("--full",) if r % 3 == 2 else ()
        codes.append(killed_sync(fresh_lab, env, tmp_path, 1 + (r * 3 + base) % 11, *args))
    print("CODES", codes, flush=True)
    for _ in range(2):
        run = invoke("--json", "sync", env=env)
        x = mailbox(run, d)
        print("PASS", run.code, x["failures"], x["created"], x["bookings_created"], x["adopted"])
    ok(invoke("sync", env=env))
    found = bookings(invoke, env)
    cal = live(fresh_lab, d)
    def tag_of(i: dict[str, Any]) -> str | None:
        return next((p["value"] for p in i.get("extended_properties", []) if p["property_name"] == "roomsops-booking"), None)
    for b in found.values():
        mine = [i for i in cal if tag_of(i) == str(b["id"])]
        if b["status"] == "active":
            assert len(mine) == 1, (b["id"], b["title"], [i["subject"] for i in mine])
            assert mine[0]["subject"] == b["title"]
        else:
            assert mine == [], (b["id"], b["status"], [i["subject"] for i in mine])
    for subject in outlook_made:
        assert [b["id"] for b in found.values() if b["title"] == subject and b["status"] == "active"], subject
        assert len([i for i in cal if i["subject"] == subject]) == 1, subject
    assert found[1]["title"] == "Planning 7"



def outlook_move(lab: Any, address: str, hours: int) -> None:
    (meeting,) = live(lab, address)
    moved = lab.admin(
        "PATCH",
        f"/lab/mailboxes/{address}/calendar/{meeting['id']}",
        json={
            "start": stamp(DAY + timedelta(hours=hours)),
            "end": stamp(DAY + timedelta(hours=hours + 1)),
            "send": False,
        },
    )
    assert moved.status_code == 200, moved.text


def test_a_stale_difference_does_not_undo_a_later_outlook_edit(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """Both sides move booking 1 (ROOMS to 10:00, Outlook to 12:00): ROOMS wins, a difference records Outlook's
    12:00. Then Outlook moves the meeting again, to 14:00: the next pass applies it (the booking is at 14:00,
    both sides agree) but the difference stays open, still saying ROOMS 10:00 / Exchange 12:00 (`sync diff`
    shows a state neither side holds). `sync resolve 1 --use exchange` — "take Outlook's value" — then moves
    the booking AND the meeting back to the stale 12:00: the organizer's latest move is lost on both sides,
    silently (I2). A difference whose field was since settled (applied or equal on both sides) should be
    closed, or resolve should take the meeting's current value."""
    d = addr("DiegoS")
    ok(
        invoke(
            "bookings",
            "update",
            "1",
            "--start",
            (DAY + timedelta(hours=2)).isoformat(),
            "--end",
            (DAY + timedelta(hours=3)).isoformat(),
            env=env,
        )
    )
    outlook_move(fresh_lab, d, 4)
    assert mailbox(ok(invoke("--json", "sync", env=env)), d)["differences"] == 1
    outlook_move(fresh_lab, d, 6)
    ok(invoke("sync", env=env))
    latest = DAY + timedelta(hours=6)
    assert bookings(invoke, env)[1]["start"] == latest.isoformat()  # the later Outlook edit was applied
    listed = json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)
    assert listed["differences"] == [], listed  # nothing differs any more
    resolved = invoke("sync", "resolve", "1", "--use", "exchange", env=env)
    ok(invoke("sync", env=env))
    assert bookings(invoke, env)[1]["start"] == latest.isoformat(), resolved.out
    assert [i["start"] for i in live(fresh_lab, d)] == [stamp(latest)]
