"""review20f: `sync purge --person ALIAS` (and `sync resume`) of a person synced over Microsoft Graph, once EWS is
switched off for the tenant (issue 20 Deliver 7, issue 24), against the lab.

Issue 20 Deliver 7: `sync purge --person` "accepts an alias (resolved to the primary address)". The alias is
resolved with EWS ResolveNames whatever the person's sync mode; in a tenant where EWS is off (Set-OrganizationConfig
-EwsEnabled $false: Microsoft switches EWS off from 2026-10-01, README) AdeleV, a Microsoft365 person synced over
Graph, cannot be purged or resumed by her alias: exit 1 with "EWS refused ... roomsops ews allow" — a remedy that
asks the administrator to turn EWS back on for a person who does not use it, and that stops working for good once
EWS is gone. Nothing in the request needs EWS: the person is known by her primary address, and `sync diff --person`
with the same alias already answers exit 2 naming the closest person.

Why it is wrong: the exit-code contract (exit 1 is "failed", 2 "bad input": an address that is no known person),
the remedy must work (style: `Error: <problem> — <remedy>`), and a Graph person's commands must not depend on EWS
(docs/sync.md, "Over Microsoft Graph"; `sync migrate` exists so that EWS can go).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def live(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]


@pytest.mark.parametrize("command", ["purge", "resume"])
def test_purge_and_resume_by_alias_of_a_graph_person_do_not_need_ews(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, command: str
) -> None:
    """Steps: AdeleV (Microsoft365, the alias adele@) has booking 1, synced over Graph. EWS is switched off for the
    tenant. `sync purge --person adele@... --dry-run` (and `sync resume --person adele@...`).
    Expected: the alias resolved (the dry run lists "Planning"), or exit 2 naming the person to use (as `sync diff`
    does) — never a remedy that needs EWS. Actual: exit 1, "EWS refused: EWS is disabled for this user or tenant —
    ... roomsops ews allow"."""
    adele, zurich = addr("AdeleV"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    start = DAY + timedelta(hours=2)
    add_hour_booking(invoke, env, adele, zurich, start, "Planning")
    ok(invoke("sync", env=env))  # over Graph
    assert [i["subject"] for i in live(fresh_lab, adele)] == ["Planning"]
    with fresh_lab.lab.tenant.change() as state:  # EWS off for the tenant; Graph reaches every mailbox
        state.organization.ews_enabled = False
    ok(invoke("sync", env=env))  # the Graph person's sync does not need EWS

    alias = adele.replace("AdeleV@", "adele@")
    args = ["--json", "sync", "purge", "--person", alias, "--dry-run"] if command == "purge" else []
    run = invoke(*(args or ["sync", "resume", "--person", alias]), env=env)
    said = run.out + run.err
    assert "ews allow" not in said and "EWS refused" not in said, (run.code, said)
    if command == "purge" and run.code == 0:
        assert json.loads(run.out)["removed"] == ["Planning"], run.out
    else:
        assert run.code in (0, 2), (run.code, said)
