"""review24d: `sync migrate --all` that loses Graph's authorization after it moved some persons exits 3 ("could not
connect or authenticate before doing any work") with an error document only: the persons it did move are not
reported.

Steps: AdeleV (no booking) and DiegoS (one synced booking) are in O365. Graph answers the tag lookup of Diego's
meetings with 401 also after a fresh token (a token revoked or a consent withdrawn mid-run; the same path is taken by
a network that goes away mid-run: `ConnectError`). `roomsops --json sync migrate --to graph --all`.

Expected (product.md, exit codes: 3 is "could not connect or authenticate *before doing any work*", 1 "the command
ran, but something failed"; README: migrate exits 1 "while a person could not be moved"; the report is "per person",
issue 24 item 4): Adele was moved — her sync mode is Microsoft365 after the run — so the run reports her `migrated`
and Diego `failed` (with Graph's refusal), exit 1.

Actual: `migrate()` re-raises `ConnectError` (GraphUnauthorized is one) after earlier persons were committed: exit 3
and `{"error": {"code": "graph_unauthorized", ...}}`; nothing says that Adele's sync mode was switched. An
administrator reading "exit 3, nothing done" sees a half-done migration as not started."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking

pytestmark = pytest.mark.integration


def test_review24d_a_migration_cut_short_by_graph_reports_whom_it_moved(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    adele, diego, zurich = addr("AdeleV").lower(), addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    lab.fault(protocol="graph", operation="events.list", kind="http_401", count=2)  # also after a fresh token

    run = invoke("--json", "sync", "migrate", "--to", "graph", "--all", env=env)
    modes = {
        p["email"].lower(): p["sync_mode"]
        for p in json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"]
    }
    assert modes == {adele: "Microsoft365", diego: "O365"}  # Adele was moved by this run
    document = json.loads(run.out)
    reported = {p["person"]: p["status"] for p in document.get("persons", [])}
    assert (run.code, reported.get(adele)) == (1, "migrated"), run.out


def test_review24d_a_migration_cut_short_names_the_persons_left_and_a_rerun_finishes(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    """The persons after the one where Graph was lost are not tried: reported failed with how to finish (run it
    again); the rerun moves them, the persons already moved stay so ("already")."""
    lab = fresh_lab
    adele, diego, megan = (addr(a).lower() for a in ("AdeleV", "DiegoS", "MeganB"))
    zurich = addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    for person in (adele, diego, megan):
        ok(invoke("persons", "add", person, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    lab.fault(protocol="graph", operation="events.list", kind="http_401", count=2)

    run = invoke("sync", "migrate", "--to", "graph", "--all", env=env)
    assert run.code == 1, run.out + run.err
    lines = {line.split(":", 1)[0]: line for line in run.out.splitlines()}
    assert "migrated (O365 -> Microsoft365)" in lines[adele]
    assert "FAILED" in lines[diego] and "not tried" not in lines[diego]
    assert "FAILED" in lines[megan] and "not tried" in lines[megan], run.out
    assert "run 'roomsops sync migrate --to graph' again" in lines[megan]

    lab.clear_faults()
    again = json.loads(ok(invoke("--json", "sync", "migrate", "--to", "graph", "--all", env=env)).out)
    statuses = {p["person"]: p["status"] for p in again["persons"]}
    assert statuses == {adele: "already", diego: "migrated", megan: "migrated"}
    assert [p["missing"] for p in again["persons"]] == [[], [], []]
