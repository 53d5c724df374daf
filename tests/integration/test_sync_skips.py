"""Issue 21.11 against the lab: a booking that is over gets no invitation; bookings of a person in another
sync mode are counted per person, not skipped without a word."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def book(invoke: Invoke, env: dict[str, str], organizer: str, room: str, start: datetime, *more: str) -> None:
    times = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]
    args = ["bookings", "add", "--organizer", organizer, "--room", room, *times, "--title", "T", *more]
    ok(invoke(*args, env=env))


def test_past_bookings_are_not_sent_and_other_sync_modes_are_counted(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    room, diego, adele = addr("room-zurich"), addr("DiegoS"), addr("AdeleV")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    onprem = ["--sync-url", "https://mail.contoso.com/EWS/Exchange.asmx"]
    # Not Microsoft365: roomsops syncs that one over Graph.
    ok(invoke("persons", "add", adele, "--sync-mode", "EWS1", *onprem, env=env))
    book(invoke, env, diego, room, now - timedelta(hours=3), "--allow-past")  # over: recorded only
    book(invoke, env, diego, room, now + timedelta(days=1))
    book(invoke, env, adele, room, now + timedelta(days=2))
    book(invoke, env, adele, room, now + timedelta(days=3))
    fresh_lab.reset_requests()

    run = invoke("--json", "sync", env=env)
    assert run.code == 0, run.out + run.err
    doc = json.loads(run.out)
    (mailbox,) = doc["mailboxes"]
    assert (mailbox["mailbox"], mailbox["created"], mailbox["skipped"]) == (diego, 1, {"past": 1})
    assert doc["skipped_sync_mode"] == {adele: {"sync_mode": "EWS1", "bookings": 2}}
    assert fresh_lab.requests().get("ews:CreateItem") == 1
    items = fresh_lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]
    assert len(items) == 1  # the future booking only: no invitation for the meeting that is over

    text = invoke("sync", env=env)
    assert text.code == 0
    assert f"{adele}: skipped 2 booking(s): sync mode EWS1 is not synced by roomsops" in text.out


def test_sync_of_an_unknown_person_is_exit_2_naming_the_closest(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Issue 21.6: not "not handled (sync mode ...)" and exit 0, but the person that is not known."""
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    fresh_lab.reset_requests()
    run = invoke("sync", "--person", addr("DiegoZ"), env=env)
    assert run.code == 2
    assert run.err == (
        f"Error: {addr('DiegoZ')} is not a known person (closest: {addr('DiegoS')}); nothing was synced — see "
        "'roomsops persons list' for the persons' addresses (a person is known by the primary SMTP address of its "
        "mailbox, not an alias)\n"
    )
    # fix21i: the address is looked up (ResolveNames: an alias, a room or a mailbox not yet a person is told so,
    # review21g); no calendar is read or written.
    assert [k for k in fresh_lab.requests() if k.startswith("ews:")] == ["ews:ResolveNames"], (
        fresh_lab.requests()
    )
