"""review27w: sync workers lose issue 20's order "a write that frees a room's slot goes before one that takes it".

A plain sync works phase by phase over every mailbox (cancellations, then moves, then creates), so a room never
gets a new invitation for a slot before the cancellation that frees it. Sync workers work each batch phase by
phase, but batches one after another (and workers side by side): when the organizer who takes the slot is claimed
before the organizer who frees it (claimed longest due first, then by address), the room gets the new invitation
while the old meeting still holds the slot and declines it. An operator who scales out expects the same outcome as
with one plain sync: the booking that took the freed slot ends linked, the room's last answer an accept. README
"Scaling out" lists the order across batches under "Not yet", but not its outcome: the booking stays
room-declined for good (later rounds do not ask the room again once the slot is free), which only an
administrator's move of the booking settles. A control (one batch) shows the same steps end linked.

Real parts: the lab over TLS (EWS, rooms answering at once), the PostgreSQL server of tests/postgres.py, one worker
in-process with `--batch 1` (the smallest split of the pass; with several workers or larger batches the same split
happens whenever the two organizers land in different batches). Both mailboxes are made due at the same moment by
SQL (the order of the claim is then the addresses': AdeleV before DiegoS), never waited for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

from .conftest import Addr, LabHelper
from .test_pg27b_workers import ON_POSTGRESQL, sql

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def sync_column(invoke: Invoke, env: dict[str, str]) -> dict[int, str]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b["sync"] for b in found}


def worker_round(invoke: Invoke, env: dict[str, str], *extra: str) -> dict[str, Any]:
    """Every mailbox due now (the same moment: claimed by address), then one worker until idle."""
    sql(env, "UPDATE mailbox_sync SET next_run_utc = TIMESTAMP '2000-01-01 00:00:00'")
    run = invoke("--json", "sync", "--worker", "--until-idle", *extra, env=env)
    assert run.code in (0, 1), (run.code, run.out, run.err)
    doc: dict[str, Any] = json.loads(run.out)
    assert doc["lease_lost"] == [], doc
    return doc


@ON_POSTGRESQL
@pytest.mark.parametrize("batch", [pytest.param("50", id="one-batch"), pytest.param("1", id="split")])
def test_review27w_a_slot_freed_in_one_batch_and_taken_in_an_earlier_one_is_not_declined_by_the_room(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, batch: str
) -> None:
    """one-batch (control, passes): both organizers in one batch, the phases keep the order. split: AdeleV's
    mailbox is claimed (and its create sent) before DiegoS's cancellation; the room declines for good."""
    zurich = addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    for person in ("DiegoS", "AdeleV"):
        ok(invoke("persons", "add", addr(person), "--sync-mode", "O365", env=env))
    add_hour_booking(invoke, env, addr("DiegoS"), zurich, DAY + timedelta(hours=2), "Planning")
    worker_round(invoke, env)
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    fresh_lab.settings(room_answer_delay=0)
    worker_round(invoke, env)
    assert sync_column(invoke, env) == {1: "linked"}
    # In ROOMS DiegoS's booking is cancelled and AdeleV books the slot it freed (allowed: free in ROOMS).
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    add_hour_booking(invoke, env, addr("AdeleV"), zurich, DAY + timedelta(hours=2), "Review")
    worker_round(invoke, env, "--batch", batch)
    for _ in range(3):  # later rounds: whatever the sync does about the answer, it has every chance to
        worker_round(invoke, env)
    answers = fresh_lab.admin("GET", "/lab/room-answers").json()["answered"]
    # fix27w: the room's last answer to AdeleV's meeting (split: it declined the first invitation, which reached it
    # before DiegoS's cancellation; DiegoS's pass marked the booking and AdeleV's next pass asked the room again)
    last = [a["response"] for a in answers if a["subject"] == "Review"][-1:]
    column = sync_column(invoke, env)
    # before fix27w: the room declined AdeleV's invitation (it still held DiegoS's meeting) and was never asked
    # again, booking 2 room-declined for good
    assert (last, column) == (["Accept"], {1: "cancelled", 2: "linked"}), (answers, column)
