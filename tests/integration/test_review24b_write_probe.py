"""review24b: `sync test --write-probe` over Graph whose create answer is lost leaves its probe event in the
person's calendar, and says the next sync will find it.

Steps: AdeleV in Microsoft365; the lab applies the probe's POST /events and drops the connection before the answer
(`drop_after`). `roomsops sync test adele --write-probe`, then one `roomsops sync`.

Expected (README: `--write-probe` "also creates an event (no attendee) and deletes it"; the probe check says
"created and deleted"; style: a remedy the user can follow): no probe event is left in Adele's calendar (the probe
carries a transactionId: sent again, Graph answers the event it made, which can then be deleted), or the check
says the probe event may be left and to delete it (as it does when only the DELETE fails).

Actual: the check fails with the adapter's generic remedy "the write may or may not have been applied; the next
sync looks it up by its tag" — the probe has no tag and no sync looks for it: the event "roomsops sync test (probe,
deleted at once)" stays in Adele's calendar after the test and after a sync."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import live

pytestmark = pytest.mark.integration

PROBE = "roomsops sync test (probe, deleted at once)"


def test_a_probe_whose_create_answer_is_lost_is_deleted_or_named(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    adele = addr("AdeleV").lower()
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    fresh_lab.fault(protocol="graph", operation="events.create", kind="drop_after", count=1)
    tested = invoke("--json", "sync", "test", adele, "--write-probe", env=env)
    (probe,) = [c for c in json.loads(tested.out)["checks"] if c["name"] == "probe write"]
    said = f"{probe['message']} — {probe['remedy']}"
    assert probe["status"] == "failed" and "the next sync looks it up by its tag" not in said, said
    ok(invoke("sync", env=env))
    left: list[dict[str, Any]] = [i for i in live(fresh_lab, adele) if i["subject"] == PROBE]
    assert left == [] or f"delete the event '{PROBE}'" in said, (left, said)
