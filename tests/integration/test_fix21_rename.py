"""fix21: `persons set --email` onto the same mailbox (the old address is a proxy of it) is a real rename, kept
after the refusal of a rename onto another mailbox (review21 finding 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def test_a_rename_to_the_primary_address_of_the_same_mailbox_keeps_its_meetings(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    adele, alias = addr("AdeleV"), addr("adele")
    ok(invoke("policy", "restrict", "--member", adele, "--member", addr("room-zurich"), env=env))
    ok(invoke("persons", "add", alias, "--no-check", env=env))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    start = TOMORROW.isoformat()
    end = (TOMORROW + timedelta(hours=1)).isoformat()
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            alias,
            "--room",
            addr("room-zurich"),
            "--start",
            start,
            "--end",
            end,
            "--title",
            "Kept",
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    items = fresh_lab.admin("GET", f"/lab/mailboxes/{adele}/calendar").json()["items"]
    assert [i["subject"] for i in items] == ["Kept"]
    checked = {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}
    ok(invoke("persons", "set", alias, "--email", adele, env=checked))
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    ok(invoke("sync", env=env))
    items = fresh_lab.admin("GET", f"/lab/mailboxes/{adele}/calendar").json()["items"]
    assert [(i["subject"], i["is_cancelled"]) for i in items] == [("Kept", True)] or items == []
