"""`roomsops rooms ...` through the real CLI: output, JSON shapes, bad input leaves the database unchanged."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from roomsops.cli import cli
from roomsops.cli.bookings import bookings
from roomsops.cli.persons import persons
from roomsops.cli.rooms import rooms
from tests.conftest import Invoke


@pytest.fixture(autouse=True)
def rooms_cli(clean_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ROOMS groups on the real CLI (a no-op once roomsops.cli registers them), an audit log."""
    for group in (persons, rooms, bookings):
        if group.name not in cli.commands:
            monkeypatch.setitem(cli.commands, str(group.name), group)
    monkeypatch.setenv("ROOMSOPS_LOG_AUDIT", "audit.jsonl")


def dump() -> str:
    with closing(sqlite3.connect("rooms.db")) as conn:
        return "\n".join(conn.iterdump())


def test_add_and_list(invoke: Invoke) -> None:
    run = invoke("rooms", "add", "eiger@contoso.com", "--name", "Eiger", "--sync-master")
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        "room eiger@contoso.com added",
        "  name         Eiger",
        "  sync master  yes",
    ]
    assert invoke("rooms", "add", "Moench@contoso.com", "--name", 'Mönch; "$(x)"').code == 0
    listed = invoke("rooms", "list")
    assert listed.out.splitlines() == [
        "email               name           sync master",
        "eiger@contoso.com   Eiger          yes",
        'Moench@contoso.com  Mönch; "$(x)"  no',
    ]
    record = json.loads(Path("audit.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert (record["action"], record["target"], record["params"]) == (
        "rooms.add",
        "eiger@contoso.com",
        {"name": "Eiger", "sync_master": True},
    )


def test_json_shapes(invoke: Invoke) -> None:
    added = invoke("--json", "rooms", "add", "eiger@contoso.com", "--name", "Eiger")
    assert json.loads(added.out) == {
        "action": "added",
        "room": {"email": "eiger@contoso.com", "name": "Eiger", "sync_master": False},
        "ok": True,
    }
    listed = invoke("--json", "rooms", "list")
    assert json.loads(listed.out) == {
        "rooms": [{"email": "eiger@contoso.com", "name": "Eiger", "sync_master": False}],
        "ok": True,
    }


def test_empty_list(invoke: Invoke) -> None:
    # A database made by a command that records (a list never makes one), emptied again.
    assert invoke("rooms", "add", "nowhere@contoso.com", "--name", "Nowhere", "--no-check").code == 0
    assert invoke("rooms", "remove", "nowhere@contoso.com", "--yes").code == 0
    run = invoke("rooms", "list")
    assert (run.code, run.out) == (0, "no rooms\n")


BAD: list[tuple[str, list[str], str]] = [
    (
        "already a room",
        ["rooms", "add", "EIGER@contoso.com", "--name", "Other"],
        "Error: eiger@contoso.com is already a room — see 'roomsops rooms list'",
    ),
    (
        "a person's address",
        ["rooms", "add", "diego@contoso.com", "--name", "Diego's"],
        "Error: diego@contoso.com is a person, not a room — give the room's resource mailbox address",
    ),
    (
        "bad e-mail",
        ["rooms", "add", "eiger", "--name", "Eiger"],
        "Error: 'eiger' is not an e-mail address — write it as name@domain, e.g. diego@contoso.com",
    ),
    (
        "empty name",
        ["rooms", "add", "x@contoso.com", "--name", " "],
        "Error: the room name is empty — give a room name",
    ),
    (
        "missing name",
        ["rooms", "add", "x@contoso.com"],
        "Error: Missing option '--name'. — see 'roomsops rooms add --help'",
    ),
]


@pytest.mark.parametrize(("args", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_exits_2_and_changes_nothing(invoke: Invoke, args: list[str], message: str) -> None:
    assert invoke("rooms", "add", "eiger@contoso.com", "--name", "Eiger").code == 0
    assert invoke("persons", "add", "diego@contoso.com").code == 0
    before = dump()
    run = invoke(*args)
    assert (run.code, run.out) == (2, ""), run.err
    assert run.err.splitlines() == [message]
    assert dump() == before
