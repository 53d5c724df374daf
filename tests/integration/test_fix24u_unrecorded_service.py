"""fix24u: a mailbox with no service recorded (synced before schema 10) is resolved from its links' ids, not
assumed to be the service it is reached over now (review24t). Not switched, its ids are read back over EWS under
the same ids: EWS is recorded once, nothing is relinked, the position is kept, and the next pass costs what a
no-op pass cost before (no read of the ids again)."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, live, outlook_new

pytestmark = pytest.mark.integration


def _db(env: dict[str, str]) -> str:
    return env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")


def _state(env: dict[str, str]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with sqlite3.connect(_db(env)) as db:
        mailboxes = list(db.execute("SELECT service, sync_state IS NOT NULL FROM mailbox_sync"))
        item_ids = list(db.execute("SELECT booking_id, item_id, state FROM booking_sync ORDER BY booking_id"))
    return mailboxes, item_ids


def test_a_mailbox_with_no_service_recorded_and_not_switched_is_resolved_once_and_kept_as_it_is(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("sync", env=env))
    lab.reset_requests()
    ok(invoke("sync", env=env))
    no_op = lab.requests()
    before = _state(env)
    assert before[0] == [("ews", 1)]
    with sqlite3.connect(_db(env)) as db:
        db.execute("UPDATE mailbox_sync SET service = NULL")

    lab.reset_requests()
    ok(invoke("sync", env=env))
    resolving = lab.requests()
    # Recorded as EWS, the link and the position as they were (no relink, no full reconciliation).
    assert _state(env) == before
    # One read of the linked ids more than a no-op pass (the resolution), once.
    assert resolving == {**no_op, "ews:GetItem": no_op.get("ews:GetItem", 0) + 1}, (resolving, no_op)
    lab.reset_requests()
    ok(invoke("sync", env=env))
    assert lab.requests() == no_op
    assert [m["subject"] for m in live(lab, diego)] == ["Planning"]


def _switched_untagged(invoke: Invoke, env: dict[str, str], lab: LabHelper, addr: Addr) -> tuple[str, str]:
    """review24t's set-up: an Outlook room meeting whose tagging write was lost (`pending-update`, untagged), the
    mailbox's service not recorded, the person set to Microsoft365. (person, the link's EWS item id)."""
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))
    outlook_new(lab, diego, "Own workshop", DAY + timedelta(hours=2), resources=[zurich])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    lab.fault(protocol="ews", operation="UpdateItem", kind="drop_before", count=2)
    assert invoke("sync", env=env).code == 1
    lab.clear_faults()
    ((_, ews_id, state),) = _state(env)[1]
    assert state == "pending-update"
    with sqlite3.connect(_db(env)) as db:
        db.execute("UPDATE mailbox_sync SET service = NULL")
    ok(invoke("persons", "set", diego, "--sync-mode", "Microsoft365", env=env))
    return diego, str(ews_id)


def test_a_pass_over_graph_relinks_the_links_of_a_mailbox_with_no_service_recorded(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    diego, ews_id = _switched_untagged(invoke, env, fresh_lab, addr)
    ok(invoke("sync", env=env))
    # Found again over Graph by its UID (never the EWS id sent to Graph), tagged, recorded as Graph's.
    mailboxes, ((_, item_id, state),) = _state(env)
    assert (mailboxes[0][0], state) == ("graph", "linked") and item_id != ews_id
    assert [m["subject"] for m in live(fresh_lab, diego)] == ["Own workshop"]


def test_sync_migrate_moves_the_links_of_a_switched_mailbox_with_no_service_recorded(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    diego, ews_id = _switched_untagged(invoke, env, fresh_lab, addr)
    run = ok(invoke("--json", "sync", "migrate", "--to", "graph", "--person", diego, env=env))
    (person,) = json.loads(run.out)["persons"]
    # Not "already Microsoft365": the link moved to the meeting's Graph id before any pass.
    assert (person["status"], person["relinked"]) == ("migrated", 1)
    mailboxes, ((_, item_id, _),) = _state(env)
    assert mailboxes[0][0] == "graph" and item_id != ews_id
