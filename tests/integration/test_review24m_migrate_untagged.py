"""review24m: a booking made from an Outlook meeting whose tagging write was lost blocks `sync migrate --to graph`
for good once EWS is off for the mailbox — the remedy it prints needs EWS.

Steps: DiegoS (O365) creates "Own workshop" in Outlook with Zürich; Zürich accepts; the pass books it (booking 1,
link `pending-update`, issue 20 Deliver 3's intent) but the write that tags the meeting is lost (twice: the retry
too). EWS is then switched off for his mailbox (Set-CASMailbox -EwsEnabled $false: the reason to move).
`roomsops sync migrate --to graph --person diego`; when it fails, its remedy is followed and it is run again.

Expected (issue 24 item 4, "every kind of item in flight"; docs/sync.md: a person can be moved while the old
service is being switched off; review24b fixed the same dead end for a meeting deleted in Outlook): Diego ends in
Microsoft365 and the first pass over Graph tags the very meeting (its UID is stored in the link's snapshot) — one
meeting, booking 1 active, no second booking.

Before fix20q: migrate reports him FAILED ("the meeting(s) of booking(s) 1 were not found over Microsoft Graph as the
linked item (by tag and UID)") with the remedy "run 'roomsops sync --person ...', then migrate again"; that pass
fails ("EWS refused: EWS is disabled for this user or tenant") and migrate fails again: no command of roomsops' own
moves him. The meeting is there, untagged, with the UID the link stored.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, answer, bookings, live, outlook_new

pytestmark = pytest.mark.integration


def test_review24m_an_outlook_booking_whose_tagging_was_lost_does_not_block_the_move_once_ews_is_off(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))  # the mailbox's position
    outlook_new(lab, diego, "Own workshop", DAY + timedelta(hours=2), resources=[zurich])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    lab.fault(protocol="ews", operation="UpdateItem", kind="drop_before", count=2)
    assert invoke("sync", env=env).code == 1  # booked; the tagging write lost
    lab.clear_faults()
    assert bookings(invoke, env)[1]["status"] == "active"
    with lab.lab.tenant.change() as state:  # EWS off for Diego's mailbox; Graph reaches it
        next(m for m in state.mailboxes if m.primary_smtp.lower() == diego).ews_enabled = False

    migrate = ["--json", "sync", "migrate", "--to", "graph", "--person", diego]
    (person,) = json.loads(invoke(*migrate, env=env).out)["persons"]
    if person["status"] == "failed":
        remedy = re.search(r"run '(roomsops [^']+)'", person["remedy"] or "")
        assert remedy is not None, person
        invoke(*remedy.group(1).split()[1:], env=env)  # what the remedy says
        (person,) = json.loads(invoke(*migrate, env=env).out)["persons"]
    assert person["status"] == "migrated", person
    invoke("sync", env=env)
    assert [b["status"] for b in bookings(invoke, env).values()] == ["active"]
    (item,) = live(lab, diego)
    assert item["extended_properties"], item  # tagged over Graph
