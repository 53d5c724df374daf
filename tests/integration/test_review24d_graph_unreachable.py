"""review24d: a pass whose every person syncs over Graph and Graph cannot be reached at all exits 1; the same run over
EWS exits 3, and so does `sync test` of the same person.

Steps: AdeleV is the only person, in Microsoft365, with one booking. `cloud.graph_url` points at a port where
nothing listens (a wrong setting, a firewall, a proxy that refuses). `roomsops sync`; `roomsops sync test adele`.

Expected (product.md, exit codes: 3 is "could not connect or authenticate before doing any work: token service,
WinRM host, EWS endpoint, TLS verification" — Graph is the sync's endpoint for Microsoft365 persons; cli/sync.py
raises exit 3 when every mailbox failed because its endpoint was unreachable, for EWS): exit 3, as `sync test`
says for the same person.

Actual: the Graph client's connection error carries the generic code (`connect_failed`), not one of `UNREACHABLE`
(`tls_failed`, `ews_connection`), so the pass reports the mailbox FAILED and exits 1 — monitoring reads "a mailbox
failed to sync", not "roomsops cannot reach Microsoft Graph"."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking

pytestmark = pytest.mark.integration


def test_review24d_a_pass_that_cannot_reach_graph_at_all_exits_3(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    adele, zurich = addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    add_booking(invoke, env, adele, zurich, DAY, "Planning")
    nowhere = {**env, "ROOMSOPS_CLOUD_GRAPH_URL": "https://127.0.0.1:1"}

    tested = invoke("sync", "test", adele, env=nowhere)
    assert tested.code == 3, tested.out + tested.err  # the same condition, diagnosed: cannot connect
    run = invoke("sync", env=nowhere)
    assert "cannot reach Microsoft Graph" in run.out + run.err
    assert run.code == 3, run.out + run.err
