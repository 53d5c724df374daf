"""fix24f (review24e finding 4, "also seen"): a person who left the sync and whose mailbox was deleted since, with
a booking cancelled in ROOMS: every pass fails to reach the meeting ("no such mailbox"). The failure says what gets
past it (`persons remove ... --cancel-bookings --leave-meetings`), not only "check the address"; after that the
pass is clean."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, sync

pytestmark = pytest.mark.integration


def test_fix24f_a_left_persons_deleted_mailbox_fails_the_pass_with_the_remedy_that_gets_past_it(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    ok(invoke("sync", env=env))  # left the sync: the meeting stays, its link held back
    with lab.lab.tenant.change() as state:  # ... and the company: the mailbox is deleted
        state.mailboxes = [m for m in state.mailboxes if m.primary_smtp.lower() != diego]
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))

    code, mailboxes = sync(invoke, env)
    assert code == 1
    (failure,) = mailboxes[diego]["failures"]
    assert (
        "no such mailbox" in failure
        and f"persons remove {diego} --cancel-bookings --leave-meetings" in failure
    )

    ok(invoke("persons", "remove", diego, "--cancel-bookings", "--leave-meetings", "--yes", env=env))
    code, mailboxes = sync(invoke, env)
    assert code == 0 and diego not in mailboxes
