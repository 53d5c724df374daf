"""review21m: one room mailbox, two ROOMS rooms. fix21l made `persons add` refuse a mailbox ROOMS already has as a
person under another of its addresses ('recorded twice'); `rooms add` looks the address up in Exchange too (issue
21, Deliver 2: primary SMTP, mailbox kind) but records a room mailbox that ROOMS already has as a room under one of
its aliases (recorded offline, or by an older roomsops). The two rooms then book one mailbox: ROOMS sees no conflict
between them, and Exchange gets double bookings of one room."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import changes

pytestmark = pytest.mark.integration


def _checked(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


def test_rooms_add_of_a_mailbox_recorded_under_an_alias_is_refused(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    primary, alias = addr("room-geneve"), addr("geneve")
    fresh_lab.admin(
        "POST",
        "/lab/mailboxes",
        json={"email": primary, "display_name": "Genève", "kind": "room", "aliases": [alias]},
    ).raise_for_status()
    ok(invoke("rooms", "add", alias, "--name", "Genf", "--no-check", env=env))  # offline
    fresh_lab.reset_requests()
    run = invoke("rooms", "add", primary, "--name", "Genève", env=_checked(env))
    assert changes(fresh_lab) == {}
    rooms = [r["email"] for r in json.loads(ok(invoke("--json", "rooms", "list", env=env)).out)["rooms"]]
    assert rooms == [alias], rooms  # one mailbox, one room
    assert run.code == 2, run.out + run.err
    assert alias in run.err, run.err  # names the room ROOMS has for this mailbox
