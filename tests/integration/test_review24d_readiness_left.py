"""review24d: `ews status` says "ready: no person syncs over EWS; EWS can be switched off for the sync app" (exit 0)
while a person who left the sync still has a meeting in Exchange that roomsops reaches only over EWS; once EWS is
off, no roomsops command can cancel or purge it.

Steps: AdeleV syncs in Microsoft365, DiegoS in O365 with one booking (made over EWS, accepted by the room). Diego
leaves the sync (`persons set --sync-mode None`); the pass reports that his meeting is still in Exchange, holding
its room ("remove them with 'roomsops sync purge --person ...'"). `roomsops --json ews status`. Following it, EWS is
switched off (tenant EwsEnabled False, as Microsoft does from 2026-10-01). Diego's booking is cancelled in ROOMS;
two passes (and the purge the pass advised).

Expected (issue 24 item 5: the readiness report names "persons still on EWS modes ... and the next command";
README: `ews status` "exit 0 once every person is on Graph"; docs/sync.md: "a cancellation of the booking still
reaches a meeting left in Exchange"): either the readiness report does not call the installation ready while a
mailbox's meetings are reached over EWS only (and names what to run), or — if it is ready — the cancellation
reaches the meeting without EWS: Diego's meeting cancelled, the room's slot freed.

Actual: readiness counts persons by sync mode only (0 on EWS, 1 on Graph): `next_command` null, "ready ... EWS can be
switched off", exit 0. After EWS is off the cancellation fails on every pass ("EWS refused: EWS is disabled for this
user or tenant"), `sync purge --person diego` goes over EWS too, and `sync migrate --person diego` refuses a person in
mode None: the meeting stays live and the room keeps the slot of a cancelled booking."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, live

pytestmark = pytest.mark.integration


def test_review24d_ews_is_not_called_dispensable_while_a_left_persons_meeting_needs_it(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    adele, diego, zurich = addr("AdeleV").lower(), addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("sync", env=env))
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    ok(invoke("sync", env=env))  # Diego left: his meeting stays in Exchange (sync.on_person_removed = report)
    assert len(live(lab, diego)) == 1

    status = invoke("--json", "ews", "status", env=env)
    readiness = json.loads(status.out)["readiness"]
    with lab.lab.tenant.change() as state:  # EWS off for the tenant (Microsoft's phased blocking)
        state.organization.ews_enabled = False
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    invoke("sync", env=env)
    invoke("sync", env=env)
    invoke("sync", "purge", "--person", diego, "--yes", env=env)  # what the pass advised for a left person
    meeting_reached = live(lab, diego) == [] and live(lab, zurich, organizer=diego) == []
    assert readiness["next_command"] is not None or meeting_reached, (status.code, readiness)


def test_review24d_migrate_moves_a_left_persons_links_so_a_graph_only_tenant_still_cancels_their_meeting(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    """The readiness names the left person's meetings and `sync migrate --to graph --all`; that moves their links
    (the mode stays None), after which `ews status` is ready, and with EWS off a cancellation of the booking
    reaches the meeting over Graph: cancelled, the room's slot freed. A rerun finds them moved ("already")."""
    lab = fresh_lab
    adele, diego, zurich = addr("AdeleV").lower(), addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("sync", env=env))
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    ok(invoke("sync", env=env))

    before = json.loads(invoke("--json", "ews", "status", env=env).out)["readiness"]
    assert before["persons_left_on_ews"] == [{"email": diego, "sync_mode": "None", "meetings": 1}]
    assert before["next_command"] == "roomsops sync migrate --to graph --all"
    text = invoke("ews", "status", env=env).out
    assert f"left the sync, meetings over EWS  1 ({diego} None: 1 meeting(s))" in text
    assert "ready:" not in text
    doctor = {c["name"]: c for c in json.loads(invoke("--json", "doctor", env=env).out)["checks"]}
    assert doctor["EWS readiness"]["status"] != "ok", doctor["EWS readiness"]
    assert "roomsops sync migrate --to graph --all moves their links" in doctor["EWS readiness"]["remedy"]

    moved = json.loads(ok(invoke("--json", "sync", "migrate", "--to", "graph", "--all", env=env)).out)
    assert {p["person"]: (p["status"], p["to_mode"], p["relinked"]) for p in moved["persons"]} == {
        adele: ("already", "Microsoft365", 0),
        diego: ("migrated", "None", 1),
    }
    modes = {
        p["email"].lower(): p["sync_mode"]
        for p in json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"]
    }
    assert modes == {adele: "Microsoft365", diego: "None"}
    after = json.loads(invoke("--json", "ews", "status", env=env).out)["readiness"]
    assert (after["persons_left_on_ews"], after["next_command"]) == ([], None)
    doctor = {c["name"]: c for c in json.loads(invoke("--json", "doctor", env=env).out)["checks"]}
    assert doctor["EWS readiness"]["status"] == "ok", doctor["EWS readiness"]

    with lab.lab.tenant.change() as state:  # EWS off for the tenant
        state.organization.ews_enabled = False
    lab.reset_requests()
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    ok(invoke("sync", env=env))
    assert live(lab, diego) == [] and live(lab, zurich, organizer=diego) == []
    assert not [k for k in lab.requests() if k.startswith("ews:")]  # all over Graph
    again = json.loads(ok(invoke("--json", "sync", "migrate", "--to", "graph", "--all", env=env)).out)
    assert {p["person"]: p["status"] for p in again["persons"]} == {adele: "already"}
