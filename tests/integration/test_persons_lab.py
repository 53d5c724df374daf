"""ROOMS data against the lab: `persons check` (primary SMTP vs alias) and `policy restrict --from-persons`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_persons_check_flags_an_alias_and_passes_a_primary(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    assert invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env).code == 0
    assert (
        invoke("persons", "add", addr("adele"), "--sync-mode", "O365Pull", env=env).code == 0
    )  # AdeleV's alias
    assert invoke("persons", "add", addr("AlexW"), "--sync-mode", "Microsoft365", env=env).code == 0
    run = invoke("--json", "persons", "check", env=env)
    assert run.code == 1
    checks = {c["email"]: c for c in json.loads(run.out)["checks"]}
    # Every synced person, each over its own service: AlexW (Microsoft365) over Graph (issue 24).
    assert set(checks) == {addr("DiegoS"), addr("adele"), addr("AlexW")}
    assert checks[addr("DiegoS")]["status"] == checks[addr("AlexW")]["status"] == "ok"
    assert checks[addr("adele")]["status"] == "alias"
    assert checks[addr("adele")]["primary_smtp"] == addr("AdeleV")
    text = invoke("persons", "check", addr("adele"), env=env)
    assert text.out.strip() == (
        f"FAILED  {addr('adele')}: an alias; the primary SMTP address is {addr('AdeleV')} "
        f"— rename the person to the primary address: 'roomsops persons set {addr('adele')} --email {addr('AdeleV')}'"
    )
    assert invoke("persons", "check", addr("DiegoS"), env=env).code == 0


def test_restrict_from_persons_puts_exactly_the_synced_persons_and_rooms_in_the_group(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    for person, mode in (
        ("DiegoS", "O365"),
        ("AdeleV", "O365Pull"),
        ("AlexW", "Microsoft365"),
        ("MeganB", "None"),
        ("LeeG", "EWS1"),
    ):
        extra = ["--sync-url", "https://mail.example.com/EWS/Exchange.asmx"] if mode == "EWS1" else []
        assert invoke("persons", "add", addr(person), "--sync-mode", mode, *extra, env=env).code == 0, person
    assert invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env).code == 0
    run = invoke("--json", "policy", "restrict", "--from-persons", env=env)
    assert run.code == 0, run.err
    members = {s["target"].lower() for s in json.loads(run.out)["steps"] if s["step"] == "member"}
    # O365, O365Pull and Microsoft365 (an application access policy governs Graph too, issue 24); not None/EWS1.
    synced = {addr("DiegoS"), addr("AdeleV"), addr("AlexW"), addr("room-zurich")}
    assert members == {a.lower() for a in synced}
    state = fresh_lab.admin("GET", "/lab/state").json()
    (group,) = [g for g in state["groups"] if g["name"] == "SyncIsAllowed"]
    assert len(group["members"]) == 4
