"""Issue 24: persons in ROOMS' Graph mode (Microsoft365) synced over Microsoft Graph beside O365 persons over EWS
in one pass (item 2, per person's mode), and `sync migrate --to graph|ews` (item 4): every linked meeting found
again by its tag over Graph (translateExchangeIds is not open to app-only tokens) and checked by its UID before a
person is switched; with faults injected and a run killed midway, the rerun goes on — no meeting re-created,
none duplicated, no link lost. Counts, never timings."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from roomsops.adapters.graph.client import GET_RETRIES
from roomsops.services.sync.lock import run_lock
from tests.cli.test_readme_json import assert_documented
from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_graph_backend import backend as graph_backend
from .test_graph_backend import fields as meeting_fields

pytestmark = pytest.mark.integration

DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=6, minute=0, second=0, microsecond=0)
# 20 persons, a pilot of 8 (50 and 25 before trim33: the same steps, each over more persons; the suite's time)
PERSONS = 20
PILOT = 8
ONPREM = "https://ex.contoso.com/EWS/Exchange.asmx"


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def book(invoke: Invoke, env: dict[str, str], organizer: str, room: str, slot: int) -> None:
    start = DAY + timedelta(minutes=30 * slot)
    ok(
        invoke(
            "bookings", "add", "--organizer", organizer, "--room", room, "--title", f"Meeting {slot}",
            "--start", start.isoformat(), "--end", (start + timedelta(minutes=30)).isoformat(), env=env,
        )
    )  # fmt: skip


def sync(invoke: Invoke, env: dict[str, str]) -> dict[str, Any]:
    run = invoke("--json", "sync", env=env)
    doc = json.loads(run.out)
    assert run.code == 0 and doc["ok"], run.out + run.err
    return {m["mailbox"].lower(): m for m in doc["mailboxes"]}


def organized(lab: LabHelper, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower() and not i.get("is_cancelled")]


def modes(invoke: Invoke, env: dict[str, str]) -> dict[str, str]:
    listed = json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"]
    return {p["email"].lower(): p["sync_mode"] for p in listed}


def links(env: dict[str, str]) -> dict[int, tuple[str, str | None]]:
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT booking_id, mailbox, item_id FROM booking_sync").fetchall()
    return {int(b): (str(m).lower(), i) for b, m, i in rows}


def test_microsoft365_persons_sync_over_graph_beside_ews_persons_in_one_pass(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr
) -> None:
    lab = graph_lab
    diego, adele, room = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    added = json.loads(
        ok(invoke("--json", "persons", "add", adele, "--sync-mode", "Microsoft365", env=env)).out
    )
    assert added["person"]["handled_by_sync"] is True and added["person"]["sync_url"] is None
    book(invoke, env, diego, room, 0)
    book(invoke, env, adele, room, 1)
    book(invoke, env, adele, room, 2)

    lab.reset_requests()
    run = json.loads(ok(invoke("--json", "sync", env=env)).out)
    assert run["skipped_sync_mode"] == {} and run["not_handled"] == []
    first = {m["mailbox"].lower(): m for m in run["mailboxes"]}
    assert (first[diego]["created"], first[adele]["created"]) == (1, 2)
    counted = lab.requests()
    # Diego's meeting over EWS, Adele's two over Graph (one $batch), in the same pass.
    assert counted.get("ews:CreateItem", 0) == 1
    assert (counted.get("graph:batch", 0), counted.get("graph:events.create", 0)) == (1, 2)
    assert [len(organized(lab, p)) for p in (diego, adele)] == [1, 2]

    lab.reset_requests()
    quiet = sync(invoke, env)
    assert (quiet[diego]["requests"], quiet[adele]["requests"]) == (
        1,
        1,
    )  # SyncFolderItems; one delta request
    counted = lab.requests()
    assert (counted.get("ews:SyncFolderItems"), counted.get("graph:calendarView.delta")) == (1, 1)

    # A ROOMS edit reaches Adele's meeting over Graph, an Outlook edit there comes back.
    ok(invoke("bookings", "update", "2", "--title", "Moved over Graph", env=env))
    (other,) = [e for e in organized(lab, adele) if e["subject"] == "Meeting 2"]
    edit = {"subject": "Edited in Outlook"}
    assert lab.admin("PATCH", f"/lab/mailboxes/{adele}/calendar/{other['id']}", json=edit).status_code == 200
    lab.reset_requests()
    third = sync(invoke, env)
    assert (third[adele]["updated"], third[adele]["exchange_edits"]) == (1, 1)
    assert lab.requests().get("ews:UpdateItem", 0) == 0
    assert sorted(e["subject"] for e in organized(lab, adele)) == ["Edited in Outlook", "Moved over Graph"]

    # A setting Graph cannot honour (no notices) fails the Graph persons' mailboxes only, with the reason.
    run = invoke("--json", "sync", env={**env, "ROOMSOPS_SYNC_SEND_INVITATIONS": "none"})
    doc = {m["mailbox"].lower(): m for m in json.loads(run.out)["mailboxes"]}
    assert run.code == 1 and doc[diego]["error"] is None
    assert "sync.send_invitations = none is not possible over Microsoft Graph" in doc[adele]["error"]

    # Diego's mode switched without `sync migrate`: said, and the next pass (over Graph, a recovery: the EWS
    # position is none of Graph's) finds his meeting again by its tag: adopted, nothing created or cancelled.
    switched = invoke("persons", "set", diego, "--sync-mode", "Microsoft365", env=env)
    assert switched.code == 0 and f"'roomsops sync migrate --to graph --person {diego}'" in switched.err
    healed = sync(invoke, env)[diego]
    assert (healed["adopted"], healed["created"], healed["cancelled"], healed["bookings_cancelled"]) == (
        1,
        0,
        0,
        0,
    )
    assert len(organized(lab, diego)) == 1


def migrate(invoke: Invoke, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    run = invoke("--json", "sync", "migrate", *args, env=env)
    return run.code, json.loads(run.out)


def test_sync_migrate_moves_twenty_persons_to_graph_through_faults_and_a_kill_without_a_duplicate(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, tmp_path: Path
) -> None:
    lab = graph_lab
    domain = lab.info["tenant"]["domain"]
    room = addr("room-zurich")
    persons = [f"mig{n:02d}@{domain}".lower() for n in range(PERSONS)]
    for person in persons:
        assert lab.admin("POST", "mailboxes", json={"email": person}).status_code in (200, 201)
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    csv = tmp_path / "persons.csv"
    csv.write_text(
        "email,name,sync_mode,sync_url,conflict_behaviour\n" + "".join(f"{p},,O365,,\n" for p in persons)
    )
    ok(invoke("persons", "import", str(csv), env=env))
    for n, person in enumerate(persons):
        book(invoke, env, person, room, n)
    assert sum(m["created"] for m in sync(invoke, env).values()) == PERSONS  # over EWS
    before = links(env)
    assert len(before) == PERSONS and all(item for _, item in before.values())

    # --dry-run: every meeting found over Graph by tag and UID, nothing changed.
    code, planned = migrate(invoke, env, "--to", "graph", "--all", "--dry-run")
    assert code == 0 and [p["status"] for p in planned["persons"]] == ["would migrate"] * PERSONS
    assert_documented("sync migrate", planned)
    assert set(modes(invoke, env).values()) == {"O365"} and links(env) == before

    # A pilot group first (with a lost answer on a Graph read: sent again, harmless).
    lab.fault(protocol="graph", operation="events.list", kind="drop_before", count=1)
    pilot = persons[:PILOT]
    code, first = migrate(invoke, env, "--to", "graph", *(a for p in pilot for a in ("--person", p)))
    assert code == 0, [p for p in first["persons"] if p["status"] != "migrated"]
    assert {p["person"].lower(): p["status"] for p in first["persons"]} == dict.fromkeys(pilot, "migrated")
    lab.clear_faults()

    # Then everyone, with two Graph lookups failing (HTTP 500, also on both retries of each GET) and the run killed
    # while the next one waits at the lab's gate: the pilot is "already" (no request), the next two
    # fail (mig08 and mig09), the third (mig10) is in flight.
    lab.fault(protocol="graph", operation="events.list", kind="http_500", count=2 * (1 + GET_RETRIES))
    assert lab.admin("POST", "graph/gate", json={"open": False}).status_code == 200
    lab.reset_requests()
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "--json", "sync", "migrate", "--to", "graph", "--all"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(
            1200
        ):  # until the run's next Graph request is held (or the run ended: a failure below)
            if lab.admin("GET", "graph").json()["throttle"]["waiting"] or process.poll() is not None:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before the gate held it"
        # mig08's and mig09's lookups answered 500 (each sent 1 + GET_RETRIES times), mig10's held; nothing else
        # was asked (the UIDs are stored).
        asked = {k: v for k, v in lab.requests().items() if k.startswith(("graph:", "ews:"))}
        assert asked == {"graph:events.list": 2 * (1 + GET_RETRIES) + 1}
        process.kill()
        process.wait()
    finally:
        lab.admin("POST", "graph/gate", json={"open": True})
    after_kill = modes(invoke, env)
    assert {p for p in persons if after_kill[p] == "Microsoft365"} == set(pilot)
    graph_ids = links(env)
    assert all(graph_ids[b] == before[b] for b in graph_ids if before[b][0] not in pilot)  # untouched

    # The rerun goes on: the pilot already, the rest migrated; every person in Microsoft365. The UID each link stored is
    # compared with the meeting found over Graph: no EWS request, but for a link from before UIDs were stored
    # (the last booking's, made so here), whose item is read over EWS for its UID.
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE booking_sync SET snapshot = json_remove(snapshot, '$.uid') WHERE booking_id = ?",
            (PERSONS,),
        )
    lab.reset_requests()
    code, rerun = migrate(invoke, env, "--to", "graph", "--all")
    assert code == 0, rerun
    asked = {k: v for k, v in lab.requests().items() if k.startswith(("graph:", "ews:"))}
    assert asked == {
        "graph:events.list": PERSONS - PILOT,
        "ews:GetItem": 1,
    }  # one lookup per person still on EWS
    statuses = [p["status"] for p in rerun["persons"]]
    assert (statuses.count("already"), statuses.count("migrated")) == (PILOT, PERSONS - PILOT)
    assert all(p["relinked"] == p["links"] == 1 for p in rerun["persons"] if p["status"] == "migrated")
    assert all(modes(invoke, env)[p] == "Microsoft365" for p in persons)
    relinked = links(env)
    assert all(
        relinked[b][1] != before[b][1] for b in relinked
    )  # Graph's ids now (the lab's differ from EWS's)

    # The first pass over Graph: 0 created, 0 cancelled, 0 adopted (every link named the right item), one
    # meeting per person; then quiet.
    lab.reset_requests()
    first_pass = sync(invoke, env)
    assert len(first_pass) == PERSONS
    totals = {k: sum(m[k] for m in first_pass.values()) for k in ("created", "cancelled", "adopted")}
    assert (
        totals == {"created": 0, "cancelled": 0, "adopted": 0} and lab.requests().get("ews:GetItem", 0) == 0
    )
    assert all(len(organized(lab, p)) == 1 for p in persons)
    assert all(m["requests"] == 1 for m in sync(invoke, env).values())

    # --to ews reverses for one person (O365Pull asked), the same way; the JSON shape is pinned.
    back = persons[0]
    code, reverse = migrate(invoke, env, "--to", "ews", "--person", back, "--mode", "O365Pull")
    assert code == 0 and reverse == {
        "to": "ews",
        "dry_run": False,
        "persons": [
            {
                "person": back,
                "from_mode": "Microsoft365",
                "to_mode": "O365Pull",
                "status": "migrated",
                "links": 1,
                "relinked": 1,
                "missing": [],
                "duplicates": 0,
                "deleted": [],
                "by_tag": 0,
                "error": None,
                "remedy": None,
            }
        ],
        "ok": True,
    }
    assert modes(invoke, env)[back] == "O365Pull" and links(env)[1] == before[1]  # EWS's id again
    again = sync(invoke, env)
    assert (again[back]["created"], again[back]["adopted"], again[back]["cancelled"]) == (0, 0, 0)
    assert len(organized(lab, back)) == 1


def test_sync_migrate_refuses_bad_input_and_switches_nobody_whose_meeting_is_missing(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr
) -> None:
    lab = graph_lab
    diego, room = addr("DiegoS").lower(), addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", addr("AdeleV"), "--sync-mode", "EWS1", "--sync-url", ONPREM, env=env))
    book(invoke, env, diego, room, 0)
    book(invoke, env, diego, room, 1)
    sync(invoke, env)

    for args, message in (
        (("--to", "graph"), "give --person EMAIL (repeatable) or --all"),
        (("--to", "graph", "--all", "--person", diego), "give --person EMAIL (repeatable) or --all"),
        (("--to", "graph", "--person", addr("AdeleV")), "which roomsops does not sync"),
        (("--to", "graph", "--all", "--mode", "O365Pull"), "--mode belongs to --to ews"),
    ):
        run = invoke("sync", "migrate", *args, env=env)
        assert run.code == 2 and message in run.err and run.err.startswith("Error: "), run.err

    # One of Diego's meetings deleted behind roomsops' back (no pass saw it), and another client made an event
    # carrying its tag: found by tag over Graph, but not the linked item (another UID), so Diego is not switched
    # and no link changes (exit 1, said per person with the remedy).
    before = links(env)
    (gone,) = [e for e in organized(lab, diego) if e["subject"] == "Meeting 1"]
    assert lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{gone['id']}").status_code in (200, 204)
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (installation,) = db.execute("SELECT installation_id FROM installation").fetchone()
        (key,) = db.execute("SELECT tag_key FROM bookings WHERE id = 2").fetchone()
    graph, tag = graph_backend(lab, []), f"2:{key}"  # booking 2's whole tag
    graph.create(diego, meeting_fields(lab, "A copy", 0), str(installation), tag)
    (copy,) = graph.find_tagged(diego, str(installation), tag)
    assert copy.uid and copy.fields and copy.fields.subject == "A copy"
    with run_lock(Path(path + ".sync.lock")):  # a sync under way: refused, nothing changed
        held = invoke("sync", "migrate", "--to", "graph", "--person", diego, env=env)
    assert held.code == 1 and "another sync is running" in held.err and links(env) == before
    text = invoke("sync", "migrate", "--to", "graph", "--person", diego, env=env)
    assert text.code == 1 and text.out.splitlines()[0].startswith(
        f"{diego}: FAILED (O365 -> Microsoft365, not switched) the meeting(s) of booking(s) 2 were not found"
    )
    code, refused = migrate(invoke, env, "--to", "graph", "--person", diego)
    (person,) = refused["persons"]
    assert code == 1 and refused["ok"] is False
    assert (person["status"], person["missing"], person["relinked"]) == ("failed", [2], 0)
    assert f"roomsops sync --person {diego}" in person["remedy"]
    assert modes(invoke, env)[diego] == "O365" and links(env) == before
