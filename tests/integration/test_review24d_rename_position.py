"""review24d: `persons set --email` onto another mailbox carries the old mailbox's sync position; over Graph the
new mailbox is then read through the old mailbox's deltaLink, and its Outlook changes are never seen.

Steps: AdeleV syncs in Microsoft365 with no booking; two passes store her mailbox's position (over Graph
the deltaLink `.../users/AdeleV@.../calendarView/delta?$deltatoken=...`). The person is renamed onto DiegoS's
mailbox (`persons set --email`, Exchange asked: another mailbox; nothing is unsettled, so it is allowed). One pass.
Diego then makes a meeting in Outlook inviting the ROOMS room Zürich, which accepts it. Two passes.

Expected (docs/sync.md "Over Microsoft Graph": "The position is a calendarView delta round" of the mailbox; a new
Outlook meeting inviting a ROOMS room that the room accepted becomes a booking, issue 20 item 3 — as it does for
DiegoS added as a new person, the control case): the meeting becomes a booking of Diego's.

Actual: `rename_person` moves `mailbox_sync.sync_state` to the new address, and the Graph backend follows the stored
deltaLink as an opaque URL (it checks the host only, `GraphClient.owns`): every pass reads Adele's calendar's
changes as Diego's. Diego's meeting is not seen (no booking) until a full reconciliation (`sync.full_every`, 24
passes by default; never with 0). Over EWS (O365) the same steps pass: the old mailbox's SyncFolderItems state is
not taken for the new mailbox (a recovery), whereas the Graph deltaLink names the old user in its path, and the
backend's only check of a stored state is its host."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, answer, bookings, outlook_new, sync

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_review24d_a_person_renamed_onto_another_mailbox_is_read_from_that_mailbox(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    adele, diego, zurich = addr("AdeleV").lower(), addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", mode, env=env))
    assert sync(invoke, env)[0] == 0
    assert sync(invoke, env)[0] == 0
    checked = {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}  # Exchange says: another mailbox
    ok(invoke("persons", "set", adele, "--email", diego, env=checked))
    assert sync(invoke, env)[0] == 0

    outlook_new(lab, diego, "Diego's planning", DAY, resources=[zurich])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    for _ in range(2):
        assert sync(invoke, env)[0] == 0
    found = bookings(invoke, env)
    assert [(b["title"], b["organizer"].lower()) for b in found.values()] == [("Diego's planning", diego)]


def position(env: dict[str, str], mailbox: str) -> str | None:
    """The read position stored for the mailbox (mailbox_sync.sync_state)."""
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        (state,) = conn.execute(
            "SELECT sync_state FROM mailbox_sync WHERE mailbox = ?", (mailbox.lower(),)
        ).fetchone()
    return str(state) if state is not None else None


@pytest.mark.parametrize("check", ["true", "false"])
def test_review24d_a_rename_keeps_the_position_only_when_exchange_says_it_is_the_same_mailbox(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, check: str
) -> None:
    """A rename onto the primary address of the same mailbox (Exchange asked) keeps the read position; one whose
    mailbox Exchange was not asked about (`--no-check`, rooms.check_addresses false) may be another: it is
    dropped, and the next pass starts the mailbox afresh and stores a new one."""
    adele, alias = addr("AdeleV").lower(), addr("adele").lower()
    ok(invoke("persons", "add", alias, "--sync-mode", "Microsoft365", "--no-check", env=env))
    assert sync(invoke, env)[0] == 0
    kept = position(env, alias)
    assert kept is not None and "|https://" in kept
    ok(
        invoke(
            "persons", "set", alias, "--email", adele, env={**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": check}
        )
    )
    assert position(env, adele) == (kept if check == "true" else None)
    assert sync(invoke, env)[0] == 0
    assert position(env, adele) is not None
