"""review24a: `sync migrate` input.

1. A `--person` that is no person of the database (a typo) is invalid input: README's exit codes say 2 ("usage error
   or invalid input; nothing was changed"), and services/sync/migrate.py means to say "<email> is not a known person;
   nothing was migrated". The CLI first asks EWS (ResolveNames) for the address and ends with EWS's "no such
   mailbox", exit 1 — an EWS request from a command whose point is leaving EWS (`sync --person` answers a typo with
   exit 2 and no EWS request, tests/integration/test_sync_skips.py).
2. The same person named twice (another case, or an alias beside the address) is migrated twice: reported twice as
   "migrated" (O365 -> Microsoft365), the second time from a mode the person no longer had.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

DAY = (datetime.now(UTC) + timedelta(days=4)).replace(hour=7, minute=0, second=0, microsecond=0)


@pytest.fixture
def synced(invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr) -> str:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    diego, room = addr("DiegoS").lower(), addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(
        invoke(
            "bookings", "add", "--organizer", diego, "--room", room, "--title", "Planning",
            "--start", DAY.isoformat(), "--end", (DAY + timedelta(minutes=30)).isoformat(), env=env,
        )
    )  # fmt: skip
    ok(invoke("sync", env=env))
    return diego


def test_a_person_not_in_the_database_is_invalid_input_exit_2_without_asking_ews(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, synced: str
) -> None:
    fresh_lab.reset_requests()
    typo = addr("DiegoZ")
    run = invoke("--json", "sync", "migrate", "--to", "graph", "--person", typo, env=env)
    assert run.code == 2, (run.code, run.out, run.err)
    assert "not a known person" in json.loads(run.out)["error"]["message"]
    assert not any(k.startswith("ews:") for k in fresh_lab.requests())
    persons = json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"]
    assert [p["sync_mode"] for p in persons] == ["O365"]


def test_the_same_person_named_twice_is_migrated_and_reported_once(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, synced: str
) -> None:
    run = invoke(
        "--json", "sync", "migrate", "--to", "graph", "--person", synced, "--person", synced.upper(), env=env
    )
    doc = json.loads(run.out)
    assert run.code == 0, run.out
    assert [(p["person"].lower(), p["status"]) for p in doc["persons"]] == [(synced, "migrated")]
