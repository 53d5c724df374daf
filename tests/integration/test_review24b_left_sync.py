"""review24b: a person synced over Graph (Microsoft365) leaves the sync; their meetings are then handled over EWS.

Steps: AdeleV syncs in Microsoft365; her booking's meeting is made over Graph (its link holds a Graph immutable
id) and the room accepts. Her mailbox's EWS is off (Set-CASMailbox -EwsEnabled $false: she is on Graph; issue 24:
"new tenants whose EWS is already blocked must sync from day one"). Her sync mode is then set to None, and either
her booking is cancelled in ROOMS, or `sync.on_person_removed = "purge"`. One `roomsops sync`.

Expected (docs/sync.md, "Persons leaving the sync": "A cancelled booking's meeting is always cancelled", and
"purge" cancels the meetings roomsops created): the meeting is cancelled — over Graph, the service its link's id
belongs to and the only one that reaches the mailbox — and the room's slot is freed.

Actual: a person who left is no route of the backend (`calendar_backend` routes only persons in synced modes), so
the cancellation goes to the default backend, EWS, with a Graph id: "EWS refused: EWS is disabled for this user or
tenant" on every pass; the meeting stays live and the room keeps the slot of a cancelled (or purged) booking."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, live

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("how", ["booking cancelled", "purge"])
def test_the_meetings_of_a_graph_person_who_left_the_sync_are_cancelled_over_graph(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, how: str
) -> None:
    lab = fresh_lab
    adele, zurich = addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    add_booking(invoke, env, adele, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("sync", env=env))
    assert len(live(lab, adele)) == 1 and len(live(lab, zurich, organizer=adele)) == 1

    with lab.lab.tenant.change() as state:  # Adele is on Graph: her mailbox's EWS is off
        next(m for m in state.mailboxes if m.primary_smtp.lower() == adele).ews_enabled = False
    ok(invoke("persons", "set", adele, "--sync-mode", "None", env=env))
    run_env = env
    if how == "booking cancelled":
        ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    else:
        run_env = {**env, "ROOMSOPS_SYNC_ON_PERSON_REMOVED": "purge"}
    run = invoke("--json", "sync", env=run_env)
    doc = json.loads(run.out)
    failures = [f for m in doc["mailboxes"] for f in m["failures"]]
    assert failures == [], failures
    assert run.code == 0
    assert live(lab, adele) == []  # the meeting is cancelled ...
    assert live(lab, zurich, organizer=adele) == []  # ... and the room's slot freed
