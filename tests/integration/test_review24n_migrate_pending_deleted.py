"""review24n: a `pending-update` booking whose meeting was deleted in Outlook blocks `sync migrate --to graph` for
good once EWS is off for the mailbox — review24b's fix covers `linked`, `failed` and `room-declined` links only.

Steps: DiegoS (O365). Either (`tagging`) he makes "Own workshop" in Outlook with Zürich, Zürich accepts and the pass
books it but the write that tags the meeting is lost (twice: the retry too); or (`rewrite`) booking 1 "Planning" is
synced and accepted, then its title is changed in ROOMS and the pass's UpdateItem is lost (twice). Either way the
link is `pending-update`. He then deletes the meeting in Outlook, and EWS is switched off for his mailbox.
`roomsops sync migrate --to graph --person diego`; when it fails, its remedy is followed and it is run again.

Expected (docs/sync.md "Moving persons between EWS and Graph": no request goes to the old service, so a person can
be moved while EWS is being switched off; its state table: a `pending-update` link whose meeting is gone is
`cancelled`, the booking cancelled; review24b fixed the same dead end for a linked meeting): Diego ends in
Microsoft365 and the first pass over Graph cancels booking 1; nothing is re-created.

Found: migrate reports him FAILED ("the meeting(s) of booking(s) 1 were not found over Microsoft Graph as the linked
item (by tag and UID)") with the remedy `roomsops sync --person ...`, which fails over EWS ("EWS is disabled"); the
rerun fails the same way: no command of roomsops' own moves him. `migrate._settled_by_first_pass` uses
`engine.deleted_if_missing`, which leaves `pending-update` out (and the UID lookup of fix20q finds no meeting: it
was deleted).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, links, live, outlook_new

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("how", ["tagging", "rewrite"])
def test_review24n_a_pending_update_meeting_deleted_in_outlook_does_not_block_the_move_once_ews_is_off(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, how: str
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    if how == "tagging":
        ok(invoke("sync", env=env))  # the mailbox's position
        outlook_new(lab, diego, "Own workshop", DAY + timedelta(hours=2), resources=[zurich])
        assert [a["response"] for a in answer(lab)] == ["Accept"]
    else:
        add_booking(invoke, env, diego, zurich, DAY, "Planning")
        ok(invoke("sync", env=env))
        answer(lab)
        ok(invoke("sync", env=env))
        ok(invoke("bookings", "update", "1", "--title", "Planning (moved agenda)", env=env))
    lab.fault(protocol="ews", operation="UpdateItem", kind="drop_before", count=2)
    assert invoke("sync", env=env).code == 1  # the write lost, its retry too
    lab.clear_faults()
    assert links(env)[1][0] == "pending-update"
    (item,) = live(lab, diego)
    assert lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}").status_code == 200
    with lab.lab.tenant.change() as state:  # EWS off for Diego's mailbox; Graph reaches it
        next(m for m in state.mailboxes if m.primary_smtp.lower() == diego).ews_enabled = False

    migrate = ["--json", "sync", "migrate", "--to", "graph", "--person", diego]
    (person,) = json.loads(invoke(*migrate, env=env).out)["persons"]
    if person["status"] == "failed":
        remedy = re.search(r"run '(roomsops [^']+)'", person["remedy"] or "")
        assert remedy is not None, person
        invoke(*remedy.group(1).split()[1:], env=env)  # what the remedy says
        (person,) = json.loads(invoke(*migrate, env=env).out)["persons"]
    assert person["status"] == "migrated", json.dumps(person)
    ok(invoke("sync", env=env))  # over Graph: the deletion read
    assert bookings(invoke, env)[1]["status"] == "cancelled"
    assert live(lab, diego) == []
