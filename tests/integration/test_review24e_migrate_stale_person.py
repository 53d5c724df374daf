"""review24e: `sync migrate` writes back the whole person row as it read it before its Graph lookups: a change to the
person made meanwhile (ROOMS' own edit, or `persons set`, which takes no lock) is silently undone.

Steps: DiegoS syncs in O365 with one booking (synced over EWS, accepted by the room). `roomsops sync migrate --to
graph --person diego` starts (a separate process); while its tag lookup over Graph is in flight (held at the lab's
Graph gate), the person is changed: (a) renamed in ROOMS ("Diego Sanchez"), (b) taken out of the sync
(`persons set --sync-mode None`: ROOMS' "no sync" for a person who left). The lookup is let go; the run ends.

Expected (docs/sync.md "sync migrate": step 3 "switches the person's sync mode" — the mode, and the sync URL; nothing
else of the person; product.md: a command changes what it says it changes; docs/sync.md: a person who leaves the
sync is not synced again until `sync resume`): the name given meanwhile stays; a person taken out of the sync
meanwhile is not switched into Microsoft365 (and synced again) behind the administrator's back.

Actual: `_person` builds `PersonFields(person.email, person.name, mode, url, person.conflict_behaviour)` from the
row read at the start of the run and `update_person` writes all of it: the new name is reverted to the old one, and
the person who was taken out of the sync is put back in (mode Microsoft365): the next pass syncs their bookings
again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer

pytestmark = pytest.mark.integration


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def person(invoke: Invoke, env: dict[str, str], email: str) -> dict[str, str]:
    found = json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"]
    return next(p for p in found if p["email"].lower() == email)


@pytest.mark.parametrize(
    "change",
    [("--name", "Diego Sanchez", "name"), ("--sync-mode", "None", "sync_mode")],
    ids=["name", "mode"],
)
def test_review24e_a_change_to_the_person_during_migrate_is_not_undone(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, change: tuple[str, str, str]
) -> None:
    lab = graph_lab
    option, value, key = change
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--name", "Diego", "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("sync", env=env))

    assert lab.admin("POST", "graph/gate", json={"open": False}).status_code == 200
    lab.reset_requests()
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "sync", "migrate", "--to", "graph", "--person", diego],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(1200):  # until the run's Graph lookup is held at the gate (or the run ended)
            if lab.admin("GET", "graph").json()["throttle"]["waiting"] or process.poll() is not None:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before the gate held it"
        ok(invoke("persons", "set", diego, option, value, env=env))  # meanwhile: ROOMS / the administrator
    finally:
        lab.admin("POST", "graph/gate", json={"open": True})
    out, err = process.communicate(timeout=120)
    assert process.returncode in (0, 1), out + err
    assert person(invoke, env, diego)[key] == value, out
