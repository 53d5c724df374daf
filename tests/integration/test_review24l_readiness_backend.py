"""review24l: `ews status` and `doctor` judge EWS readiness by two different rules when `sync.backend = "graph"`.

README: "`sync.backend = "graph"` sends the O365/O365Pull persons over Graph too"; docs/sync.md "Over Microsoft
Graph": with it a person in O365/O365Pull is synced over Graph. `ews status` "exit 1 while a person needs EWS and EWS
is off" (its docstring) and is to report "per mode" (issue 24 items 3, 5).

Steps: `sync.backend = "graph"`, AdeleV in O365. EWS switched off for the tenant (EwsEnabled False). `sync` (works,
over Graph, exit 0). `ews status`; `doctor`.

Expected: the two agree; since no person's sync uses EWS, `ews status` does not fail with "the sync cannot work
(roomsops ews allow --enable)" — it already counts Adele's mailbox in `mailboxes_over_graph` (EWS off for her
mailbox is no failure), so EWS off for the whole tenant is none either.

Actual: `doctor`'s "EWS readiness" is ok ("no person syncs over EWS (1 over Microsoft Graph)"), while `ews status`
counts Adele by her ROOMS mode only (`persons_on_ews`, `persons_on_graph` 0), exits 1 and tells the administrator
to switch EWS on again although the sync it judges never uses EWS."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def test_review24l_ews_status_agrees_with_doctor_when_sync_backend_is_graph(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    env = {**env, "ROOMSOPS_SYNC_BACKEND": "graph"}
    adele = addr("AdeleV").lower()
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    with fresh_lab.lab.tenant.change() as state:  # EWS off for the tenant (Microsoft's phased blocking)
        state.organization.ews_enabled = False
    ok(invoke("sync", env=env))  # the sync works without EWS: Adele goes over Graph
    assert not [k for k in fresh_lab.requests() if k.startswith("ews:")]

    doctor = json.loads(invoke("--json", "doctor", env=env).out)
    readiness = next(c for c in doctor["checks"] if c["name"] == "EWS readiness")
    assert readiness["status"] == "ok", readiness  # doctor: no person syncs over EWS
    status = invoke("--json", "ews", "status", "--mailbox", adele, env=env)
    doc = json.loads(status.out)
    assert doc["mailboxes_over_graph"] == [adele]  # the same command knows she is reached over Graph
    assert status.code == 0, (status.code, doc["readiness"])
    text = invoke("ews", "status", env=env).out
    assert "the sync cannot work" not in text and "--enable" not in text, text
