"""review20m: a second ROOMS room listed by an alias, in a meeting deleted in Outlook without a cancellation (issue 20
Deliver 4 and 6, I5), against the lab over EWS.

DiegoS's Outlook meeting lists Zürich and Bern, Bern by an alias (the room answers to it). The pass resolves the alias
(EWS ResolveNames), books Zürich and reports "a second ROOMS room, room-bern@… … holds the slot in Exchange only".
DiegoS deletes the meeting without a cancellation: the pass cancels the booking and frees Zürich ("1 rooms
released") — Bern keeps its accepted copy and nothing says so (`sync diff`: "no open differences").

Why: fix20l frees every other ROOMS room the snapshot lists (`engine._second_rooms_held`), but matches the listed
addresses against the ROOMS rooms' primary addresses only; the snapshot keeps the alias as read. The pass that
reported Bern knew the alias was Bern. The primary-address case is `test_review20i_second_room_deleted.py`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review20g_room_change_faults import answers, organized, stamp
from tests.integration.test_review20i_room_pending import DAY

pytestmark = pytest.mark.integration


def test_a_second_room_listed_by_an_alias_is_freed_after_a_delete_without_cancellation(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: Zürich and Bern are ROOMS rooms, Bern has the alias alias-room@…; DiegoS is synced (O365). DiegoS
    makes "Two" in Outlook with the resources Zürich and Bern's alias; both accept; two passes (Bern reported as a
    second ROOMS room). DiegoS deletes it without a cancellation; two passes; `sync diff`.
    Expected: Bern holds nothing of DiegoS's, or a pass / `sync diff` names Bern as still holding the slot.
    Actual: Bern keeps its copy; "no open differences"."""
    diego, zurich, bern = addr("DiegoS"), addr("room-zurich"), addr("room-bern")
    alias = f"alias-room@{bern.split('@')[1]}"
    with fresh_lab.lab.tenant.change() as state:
        next(m for m in state.mailboxes if m.primary_smtp.lower() == bern.lower()).aliases.append(alias)
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", bern, "--name", "Bern", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))
    start = DAY + timedelta(hours=2)
    meeting = {
        "subject": "Two",
        "start": stamp(start),
        "end": stamp(start + timedelta(hours=1)),
        "resources": [zurich, alias],
    }
    assert fresh_lab.admin("POST", f"/lab/mailboxes/{diego}/calendar", json=meeting).status_code == 201
    assert answers(fresh_lab) == {zurich.lower(): "Accept", bern.lower(): "Accept"}
    first = [invoke("sync", env=env) for _ in range(2)]
    assert "second rooms room, " + bern.lower() in first[0].out.lower(), first[0].out  # Bern known
    (item,) = organized(fresh_lab, diego, diego)
    gone = fresh_lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}?cancel=false")
    assert gone.status_code == 200, gone.text
    runs = [invoke("sync", env=env) for _ in range(2)]
    runs.append(invoke("sync", "diff", env=env))
    assert organized(fresh_lab, zurich, diego) == []  # the booked room is freed
    held = organized(fresh_lab, bern, diego)
    said = [
        r.out for r in runs if bern.lower() in (r.out + r.err).lower() or alias in (r.out + r.err).lower()
    ]
    assert held == [] or said, [r.out for r in runs]
