"""review24c: a Graph person who left the sync comes back over EWS (`persons set --sync-mode O365`); the meetings held
back from the sync while they were away keep their Graph ids, and the pass sends those ids to EWS.

Steps: AdeleV syncs in Microsoft365; her booking's meeting is made over Graph (the link holds a Graph immutable id)
and the room accepts. Her sync mode is set to None: the pass holds her booking back (`not synced`, the meeting stays
in Exchange, `sync.on_person_removed = "report"`). Later she is set to O365 (ROOMS' EWS mode; `persons set` prints
no hint at all, as None is not a synced mode) and a pass runs. Then either her booking is cancelled in ROOMS
(held back, but "a cancellation of the booking still reaches a meeting left in Exchange", docs/sync.md states
table), or she is resumed (`sync resume --person`: "one whose meeting stayed in Exchange is linked to it again")
and her booking's title is changed in ROOMS. Two passes.

Expected (docs/sync.md "Over Microsoft Graph": a person's meetings are reached "where their ids belong"; the
switch without `sync migrate` is healed by the pass by tag, commit fd6a5a1 / test_sync_migrate_graph.py): the
meeting is cancelled (the room's slot freed), or renamed.

Actual: the pass records EWS as her mailbox's service, but the held-back link keeps its Graph id and the heal by tag
skips held-back links (`_reconcile_by_tag`: UNLINKED is "settled"), resume relinks the Graph id as it is and keeps
the EWS position (no full reconciliation). Every pass sends the Graph id to EWS: "EWS answered
ErrorInvalidIdMalformed", for ever; the meeting stays live holding the room. `sync migrate --to ews` says
`already`, so no command repairs it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, live

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("then", ["booking cancelled", "resumed and renamed"])
def test_a_graph_person_back_over_ews_after_leaving_has_the_held_meetings_reached(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, then: str
) -> None:
    lab = fresh_lab
    adele, zurich = addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    add_booking(invoke, env, adele, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("sync", env=env))
    ok(invoke("persons", "set", adele, "--sync-mode", "None", env=env))
    ok(invoke("sync", env=env))  # held back: the meeting stays in Exchange
    assert len(live(lab, adele)) == 1

    ok(invoke("persons", "set", adele, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))
    if then == "booking cancelled":
        ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    else:
        ok(invoke("sync", "resume", "--person", adele, env=env))
        ok(invoke("bookings", "update", "1", "--title", "Planning (renamed)", env=env))
    invoke("sync", env=env)
    run = invoke("--json", "sync", env=env)
    failures = [f for m in json.loads(run.out)["mailboxes"] for f in m["failures"]]
    assert failures == [], failures
    assert run.code == 0
    if then == "booking cancelled":
        assert live(lab, adele) == []
        assert live(lab, zurich, organizer=adele) == []
    else:
        assert [m["subject"] for m in live(lab, adele)] == ["Planning (renamed)"]
