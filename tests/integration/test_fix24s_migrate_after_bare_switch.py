"""fix24s: `sync migrate` after a bare `persons set --sync-mode` (review24r) moves the links, reading each item it
needs a UID of over the service the links' ids belong to (the one recorded for the mailbox), not over the service
the person's new mode names: an EWS item id is never sent to Graph."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, live

pytestmark = pytest.mark.integration


def test_fix24s_migrate_after_a_bare_switch_reads_a_link_without_uid_over_the_service_of_its_id(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    answer(lab)
    ok(invoke("sync", env=env))
    # A link from before UIDs were stored: migrate reads its item for the UID, over the service its id is of.
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE booking_sync SET snapshot = json_remove(snapshot, '$.uid') WHERE booking_id = 1")

    ok(invoke("persons", "set", diego, "--sync-mode", "Microsoft365", env=env))  # the links still EWS's
    lab.reset_requests()
    run = invoke("--json", "sync", "migrate", "--to", "graph", "--person", diego, env=env)
    (person,) = json.loads(run.out)["persons"]
    assert (run.code, person["status"], person["relinked"], person["missing"]) == (0, "migrated", 1, []), (
        run.out
    )
    assert lab.requests().get("ews:GetItem") == 1  # the EWS id read over EWS, not sent to Graph
    ok(invoke("sync", env=env))
    assert [m["subject"] for m in live(lab, diego)] == ["Planning"]
    assert bookings(invoke, env)[1]["status"] == "active"
