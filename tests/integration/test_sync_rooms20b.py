"""Issue 20 (sync v2, rooms), items 2, 5, 7, 8 and the `bookings list` sync column: against the lab (real
exchangelib, TLS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from roomsops.services.sync.lock import run_lock
from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def live(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]


def sync_column(invoke: Invoke, env: dict[str, str]) -> dict[int, str]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b["sync"] for b in found}


def book(invoke: Invoke, env: dict[str, str], addr: Any, person: str, start: datetime, title: str) -> None:
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr(person),
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
def two(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    """room-zurich; DiegoS and AdeleV synced (O365); DiegoS's booking 1 "Planning" DAY 10:00-11:00, synced."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    for person in ("DiegoS", "AdeleV"):
        ok(invoke("persons", "add", addr(person), "--sync-mode", "O365", env=env))
    book(invoke, env, addr, "DiegoS", DAY + timedelta(hours=2), "Planning")
    ok(invoke("sync", env=env))


def test_a_cancellation_reaches_the_room_before_a_new_invitation_for_its_slot(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, two: None
) -> None:
    """Item 2: DiegoS's booking is cancelled and AdeleV gets the same slot before one pass. AdeleV's mailbox comes
    first (one at a time): her invitation reached the room while DiegoS's meeting still held it, the room declined
    it. Every write that frees a slot now goes first, across mailboxes; no request is added."""
    assert (
        fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    )  # the room holds "Planning"
    fresh_lab.settings(
        room_answer_delay=0
    )  # the room answers each request at once, in the order it gets them
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    book(invoke, env, addr, "AdeleV", DAY + timedelta(hours=2), "Review")
    fresh_lab.reset_requests()
    run = invoke("--json", "sync", "--concurrency", "1", env=env)
    assert run.code == 0, run.out
    answers = fresh_lab.admin("GET", "/lab/room-answers").json()["answered"]
    assert [a["response"] for a in answers if "Review" in json.dumps(a)] == ["Accept"]
    assert sync_column(invoke, env) == {1: "cancelled", 2: "linked"}
    doc = json.loads(run.out)
    assert sum(m["requests"] for m in doc["mailboxes"]) == sum(
        v for k, v in fresh_lab.requests().items() if k.startswith("ews:")
    )
    # A no-op pass stays at one request per mailbox.
    quiet = json.loads(ok(invoke("--json", "sync", env=env)).out)
    assert [m["requests"] for m in quiet["mailboxes"]] == [1, 1]
    # A move is written once (its phase), and counted once: updated, not also unchanged.
    later = DAY + timedelta(hours=3)
    ok(
        invoke(
            "bookings",
            "update",
            "2",
            "--start",
            later.isoformat(),
            "--end",
            (later + timedelta(hours=1)).isoformat(),
            env=env,
        )
    )
    moved = json.loads(ok(invoke("--json", "sync", env=env)).out)
    adele = next(m for m in moved["mailboxes"] if m["mailbox"] == addr("AdeleV"))
    assert (adele["updated"], adele["unchanged"]) == (1, 0)


def test_a_person_leaving_the_sync_is_said_once_or_purged(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, two: None
) -> None:
    """Item 5. DiegoS switched to sync mode None: his linked meeting is reported once, with the purge command
    (before: nothing said, the meeting left holding the room); his booking shows "not synced". With
    sync.on_person_removed = purge, AdeleV's meeting is cancelled by the pass when she leaves."""
    diego = addr("DiegoS")
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    first = invoke("--json", "sync", env=env)
    assert json.loads(first.out)["left_sync"] == {
        diego: {
            "sync_mode": "None",
            "bookings": [1],
            "action": "reported",
            "remedy": f"roomsops sync purge --person {diego} --yes",
            "own_meetings_left": [],
            "past_meetings_left": [],
        }
    }
    text = ok(invoke("sync", env=env)).out  # said once: the next passes have nothing more to say
    assert "left the sync" not in text
    assert json.loads(ok(invoke("--json", "sync", env=env)).out)["left_sync"] == {}
    assert sync_column(invoke, env) == {1: "not synced"}
    assert len(live(fresh_lab, diego)) == 1  # reported, not touched

    book(invoke, env, addr, "AdeleV", DAY + timedelta(hours=6), "Review")
    ok(invoke("sync", env=env))
    assert len(live(fresh_lab, addr("AdeleV"))) == 1
    ok(invoke("persons", "set", addr("AdeleV"), "--sync-mode", "None", env=env))
    purging = env | {"ROOMSOPS_SYNC_ON_PERSON_REMOVED": "purge"}
    purged = json.loads(ok(invoke("--json", "sync", env=purging)).out)
    assert purged["left_sync"][addr("AdeleV")]["action"] == "purged"
    assert live(fresh_lab, addr("AdeleV")) == []
    assert sync_column(invoke, env) == {1: "not synced", 2: "not synced"}


def test_purge_by_an_alias_sticks_until_resume_and_leaves_the_persons_own_meetings(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, two: None
) -> None:
    """Item 7. `sync purge` by DiegoS's alias (before: "no meetings", exit 0) lists with --dry-run, cancels only
    the tagged meeting (his own lunch stays), and sticks: the next pass does not create it again (before: it
    did) until `sync resume`."""
    diego, alias = addr("DiegoS"), f"diego.siciliani@{addr('x').split('@')[1]}"
    lunch = {
        "subject": "Own lunch",
        "start": stamp(DAY + timedelta(hours=4)),
        "end": stamp(DAY + timedelta(hours=5)),
    }
    assert fresh_lab.admin("POST", f"/lab/mailboxes/{diego}/calendar", json=lunch).status_code == 201
    dry = ok(invoke("sync", "purge", "--person", alias, "--dry-run", env=env))
    assert "would remove 1 meeting(s)" in dry.out and "Planning" in dry.out, dry.out
    assert len(live(fresh_lab, diego)) == 2
    ok(invoke("sync", "purge", "--person", alias, "--yes", env=env))
    assert [i["subject"] for i in live(fresh_lab, diego)] == ["Own lunch"]
    again = json.loads(ok(invoke("--json", "sync", env=env)).out)
    assert sum(m["created"] for m in again["mailboxes"]) == 0
    assert [i["subject"] for i in live(fresh_lab, diego)] == ["Own lunch"]
    assert sync_column(invoke, env) == {1: "not synced"}
    assert "booking(s) 1" in ok(invoke("sync", "resume", "--person", alias, env=env)).out
    resumed = json.loads(ok(invoke("--json", "sync", env=env)).out)
    assert sum(m["created"] for m in resumed["mailboxes"]) == 1
    assert sync_column(invoke, env) == {1: "room-pending"}  # its room's answer not read yet (review20i)


def test_resolve_purge_and_resume_take_the_run_lock(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, two: None
) -> None:
    """Item 8: `sync resolve` and `sync purge` (and `sync resume`) are refused while a sync holds the run lock,
    as a second `sync` is (before: they ran beside it)."""
    database = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    fresh_lab.reset_requests()
    with run_lock(Path(database + ".sync.lock")):
        refused = invoke("sync", env=env)
        for args in (
            ("sync", "resolve", "1", "--use", "ignore"),
            ("sync", "purge", "--person", addr("DiegoS"), "--yes"),
            ("sync", "resume", "--person", addr("DiegoS")),
        ):
            run = invoke(*args, env=env)
            assert (run.code, run.err) == (refused.code, refused.err), args
    assert refused.code == 1 and "another sync is running" in refused.err
    assert not any(k.startswith("ews:") for k in fresh_lab.requests())  # nothing was sent
    assert len(live(fresh_lab, addr("DiegoS"))) == 1


def test_each_conflict_attempt_is_counted_in_the_summary_the_log_and_sync_diff(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, two: None
) -> None:
    """Item 9: DiegoS (SyncConflictBehaviour Cancel) moves his meeting in Outlook onto the slot AdeleV's booking
    holds. Attempt 1 of 2 is in the summary and the log; `sync diff` shows the conflict under way (before: "no open
    differences"); the second pass cancels, and counts that attempt too."""
    ok(invoke("persons", "set", addr("DiegoS"), "--conflict-behaviour", "Cancel", env=env))
    book(invoke, env, addr, "AdeleV", DAY + timedelta(hours=5), "Taken")
    ok(invoke("sync", env=env))
    (meeting,) = live(fresh_lab, addr("DiegoS"))
    moved = {"start": stamp(DAY + timedelta(hours=5)), "end": stamp(DAY + timedelta(hours=6))}
    path = f"/lab/mailboxes/{addr('DiegoS')}/calendar/{meeting['id']}"
    assert fresh_lab.admin("PATCH", path, json=moved).status_code == 200
    for attempt in (1, 2):
        run = invoke("--json", "sync", env=env)
        assert run.code == 1
        summary = json.loads(Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text())
        (failure,) = next(m for m in summary["mailboxes"] if m["mailbox"] == addr("DiegoS"))["failures"]
        assert f"attempt {attempt} of 2" in failure
        assert f"attempt {attempt} of 2" in Path(env["ROOMSOPS_LOG_FILE"]).read_text()
        (conflict,) = json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["conflicts"]
        outcome = "pending" if attempt == 1 else "cancelled"
        assert (conflict["booking_id"], conflict["behaviour"], conflict["attempts"], conflict["limit"]) == (
            1,
            "Cancel",
            attempt,
            2,
        )
        assert conflict["outcome"] == outcome
    assert "conflict (Cancel), cancelled after 2 attempt(s)" in ok(invoke("sync", "diff", env=env)).out
