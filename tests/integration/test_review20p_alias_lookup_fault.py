"""review20p: a new Outlook meeting inviting a ROOMS room by an alias, read in a pass whose alias lookup is lost, is
never booked nor reported.

Steps: Zürich (a ROOMS room) has the alias zuerich@; DiegoS (O365) is synced. In Outlook Diego invites Zürich by the
alias; Zürich accepts. The pass that reads the new meeting asks the directory for the alias (ResolveNames as the
organizer) and the request is lost (dropped twice: its resend too). Two more passes without a fault.

Expected (issue 20 Deliver 3: "a new Outlook meeting inviting a ROOMS room ... the booking exists only if the room
accepted", review20a: a room invited by an alias is that ROOMS room; the rule "never silently"): the meeting becomes
a booking of Zürich once the lookup answers (the meeting is looked at again, as a meeting awaiting its room's answer
is: the position is held), or the pass reports it and fails (exit 1).

Before fix20q: `_room_by_alias` takes the failed lookup (`primary_address` turns every BackendError into None) for "no ROOMS
room": the pass says "nothing to do" (exit 0), its position moves past the meeting, and the later passes never read
it again (until the periodic full reconciliation). Zürich holds the slot in Exchange; ROOMS shows it free and will
give it away (the room then declines that booking).
"""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, answer, bookings, live, outlook_new

pytestmark = pytest.mark.integration


def test_review20p_a_new_meeting_by_alias_whose_lookup_was_lost_is_booked_later_or_reported(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    alias = f"zuerich@{zurich.split('@')[1]}"
    with lab.lab.tenant.change() as state:
        next(m for m in state.mailboxes if m.primary_smtp.lower() == zurich).aliases.append(alias)
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))  # the mailbox's position
    outlook_new(lab, diego, "By alias", DAY, resources=[alias])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    assert len(live(lab, zurich, organizer=diego)) == 1  # Zürich holds the slot in Exchange
    lab.reset_requests()
    lab.fault(protocol="ews", operation="ResolveNames", kind="drop_before", count=2)
    faulted = invoke("sync", env=env)
    assert lab.requests().get("ews:ResolveNames") == 2  # the premise: the lookup was asked and lost
    lab.clear_faults()
    later = [invoke("sync", env=env) for _ in range(2)]
    booked = [b["title"] for b in bookings(invoke, env).values() if b["status"] == "active"]
    # fix20q: both — the faulted pass reports the meeting and fails (its position held), the next books it.
    assert faulted.code == 1 and "By alias" in faulted.out and "directory lookup" in faulted.out, faulted.out
    assert [r.code for r in later] == [0, 0], [r.out + r.err for r in later]
    assert booked == ["By alias"], (faulted.out, [r.out for r in later])
