"""review24c: `sync test --write-probe` over Graph whose DELETE answer is lost says the probe event was "not
deleted" and asks the admin to delete it in Outlook, while it is gone.

Steps: AdeleV in Microsoft365. The lab applies the probe's DELETE and drops the connection before the answer
(`drop_after`); alone, or after the probe's create lost its answer the same way (two faults in a row: the create
found by its transactionId, then its DELETE lost). `roomsops sync test adele --write-probe`.

Expected (CHANGELOG fix24b: the probe check "says whether anything is left"; graph_test.py `_probe_lost`: "says
truthfully whether a probe event is left"; style.md: a remedy the user can follow): nothing is left in Adele's
calendar, so the check does not say the event was not deleted — it reads the slot again (as it does after a lost
create) and says it is gone, or at least that the DELETE's outcome is unknown.

Actual: the check fails with "the probe event was created but not deleted" (remedy: "delete the event ... in
Outlook"), or "the event it made was found by its transactionId but not deleted"; the event is gone — the admin is
sent to look for an event that does not exist."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import live

pytestmark = pytest.mark.integration

PROBE = "roomsops sync test (probe, deleted at once)"


@pytest.mark.parametrize("create", ["answered", "answer lost"])
def test_a_probe_whose_delete_answer_is_lost_is_not_reported_left(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, create: str
) -> None:
    adele = addr("AdeleV").lower()
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    if create == "answer lost":
        fresh_lab.fault(protocol="graph", operation="events.create", kind="drop_after", count=1)
    fresh_lab.fault(protocol="graph", operation="events.delete", kind="drop_after", count=1)
    tested = invoke("--json", "sync", "test", adele, "--write-probe", env=env)
    (probe,) = [c for c in json.loads(tested.out)["checks"] if c["name"] == "probe write"]
    assert [i for i in live(fresh_lab, adele) if i["subject"] == PROBE] == []  # the DELETE landed
    assert "but not deleted" not in probe["message"], probe
