"""review24b: a meeting deleted in Outlook before the move blocks `sync migrate` for good once EWS is off for the
mailbox — the remedy it prints needs EWS.

Steps: DiegoS (O365) has two synced bookings; in Outlook he deletes the first meeting (with a cancellation). Before
any pass reads that, EWS is switched off for his mailbox (Set-CASMailbox -EwsEnabled $false; issue 24: "EWS in
Exchange Online is being switched off", and the move exists for exactly that). `roomsops sync migrate --to graph
--person diego`; it fails and names a remedy: follow it, then migrate again.

Expected (docs/sync.md, "Moving persons between EWS and Graph": "no request goes to the old service, so a person
can be moved while the other one is being switched off"; issue 24 item 4): Diego ends in Microsoft365 — either
migrate moves him and the first pass over Graph (a full reconciliation) cancels the booking whose meeting was
deleted, or the remedy it prints leads there without EWS.

Actual: migrate reports him FAILED (booking 1 "not found over Microsoft Graph") with the remedy "run 'roomsops sync
--person ...', then migrate again"; that pass fails ("EWS refused: EWS is disabled for this user or tenant"), and
the migration fails again the same way: no command of roomsops' own moves him."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, live

pytestmark = pytest.mark.integration


def test_a_meeting_deleted_before_the_move_does_not_block_it_once_ews_is_off(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    add_booking(invoke, env, diego, zurich, DAY + timedelta(hours=2), "Review")
    ok(invoke("sync", env=env))
    answer(lab)
    ok(invoke("sync", env=env))
    (planning,) = [i for i in live(lab, diego) if i["subject"] == "Planning"]
    assert lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{planning['id']}").status_code == 200
    with lab.lab.tenant.change() as state:  # EWS off for Diego's mailbox; Graph reaches it
        next(m for m in state.mailboxes if m.primary_smtp.lower() == diego).ews_enabled = False

    migrate = ["--json", "sync", "migrate", "--to", "graph", "--person", diego]
    first = json.loads(invoke(*migrate, env=env).out)
    (person,) = first["persons"]
    if person["status"] == "failed":
        remedy = re.search(r"run '(roomsops [^']+)'", person["remedy"] or "")
        assert remedy is not None, person
        invoke(*remedy.group(1).split()[1:], env=env)  # what the remedy says
        (person,) = json.loads(invoke(*migrate, env=env).out)["persons"]
    assert person["status"] == "migrated", person

    ok(invoke("sync", env=env))  # over Graph: the deletion read, the other booking kept
    found = bookings(invoke, env)
    assert (found[1]["status"], found[2]["status"]) == ("cancelled", "active")
    assert [i["subject"] for i in live(lab, diego)] == ["Review"]
