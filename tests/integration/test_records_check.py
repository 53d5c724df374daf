"""Issue 21.2 against the lab (real pypsrp over TLS): `persons add` and `rooms add` look the address up in
Exchange Online before recording it; a wrong address is exit 2 with the address to use and nothing recorded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

pytestmark = pytest.mark.integration


@pytest.fixture
def checking(env: dict[str, str]) -> dict[str, str]:
    return env | {"ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


def recorded(invoke: Invoke, env: dict[str, str]) -> tuple[list[str], list[str]]:
    listed = invoke("--json", "persons", "list", env=env)
    if listed.code == 2 and json.loads(listed.out)["error"]["code"] == "no_database":
        return [], []  # nothing was ever recorded: no database was made
    persons = json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"]
    rooms = json.loads(ok(invoke("--json", "rooms", "list", env=env)).out)["rooms"]
    return [p["email"] for p in persons], [r["email"] for r in rooms]


def test_wrong_addresses_are_refused_with_the_one_to_use_and_nothing_is_recorded(
    invoke: Invoke, checking: dict[str, str], addr: Any
) -> None:
    cases = [
        (("persons", "add", addr("MeganB2")), f"no mailbox in Exchange Online has the address {addr('MeganB2')} "
         f"(closest: {addr('MeganB')}); nothing was recorded — use {addr('MeganB')}, or add --no-check"),
        (("persons", "add", addr("adele")), f"{addr('adele')} is an alias of the mailbox {addr('AdeleV')}; "
         f"nothing was recorded — use the primary SMTP address {addr('AdeleV')}"),
        (("persons", "add", addr("room-zurich")), f"{addr('room-zurich')} is a room mailbox, not a person's; "
         f"nothing was recorded — add it as a room: 'roomsops rooms add {addr('room-zurich')} --name NAME'"),
        (("rooms", "add", addr("room-zurch"), "--name", "Zürich"), f"(closest: {addr('room-zurich')})"),
        (("rooms", "add", addr("DiegoS"), "--name", "Diego"), f"{addr('DiegoS')} is a UserMailbox, not a room "
         f"mailbox; nothing was recorded — give the room's own mailbox address, or convert this one: "
         f"Set-Mailbox -Identity '{addr('DiegoS')}' -Type Room"),
    ]  # fmt: skip
    for args, expected in cases:
        run = invoke(*args, env=checking)
        assert run.code == 2, (args, run.out, run.err)
        assert expected in one_line_error(run), run.err
    assert recorded(invoke, checking) == ([], [])
    # The remedies work: the named addresses are accepted.
    ok(invoke("persons", "add", addr("MeganB"), env=checking))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=checking))
    assert recorded(invoke, checking) == ([addr("MeganB")], [addr("room-zurich")])


def test_no_check_records_without_looking_up(
    invoke: Invoke, fresh_lab: Any, checking: dict[str, str], addr: Any
) -> None:
    fresh_lab.reset_requests()
    ok(invoke("persons", "add", addr("Offline1"), "--no-check", env=checking))
    assert "cmdlet:Get-Mailbox" not in fresh_lab.requests()
    assert recorded(invoke, checking)[0] == [addr("Offline1")]


def test_a_person_whose_meeting_is_in_exchange_stays_until_the_sync_cancelled_it(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    diego, room = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, env=env))
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    times = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]
    ok(invoke("bookings", "add", "--organizer", diego, "--room", room, *times, "--title", "Plan", env=env))
    ok(invoke("sync", env=env))

    waiting = invoke("--json", "persons", "remove", diego, "--cancel-bookings", "--yes", env=env)
    assert waiting.code == 1, waiting.err
    doc = json.loads(waiting.out)
    assert (doc["action"], doc["cancelled"], doc["waiting"], doc["ok"]) == (
        "waiting_for_sync",
        [1],
        [1],
        False,
    )
    assert recorded(invoke, env)[0] == [diego]
    text = invoke("persons", "remove", diego, "--yes", env=env)
    assert text.code == 1
    assert f"run 'roomsops sync' (it cancels them), then 'roomsops persons remove {diego}' again" in text.out

    synced = json.loads(ok(invoke("--json", "sync", env=env)).out)
    assert synced["mailboxes"][0]["cancelled"] == 1
    items = fresh_lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]
    assert items == []  # the organizer's cancelled meeting is gone from its calendar
    done = json.loads(ok(invoke("--json", "persons", "remove", diego, "--yes", env=env)).out)
    assert (done["action"], done["deleted_bookings"]) == ("removed", 1)
    assert recorded(invoke, env) == ([], [room])
