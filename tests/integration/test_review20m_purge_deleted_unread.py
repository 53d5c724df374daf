"""review20m: `sync purge --person` of a ROOMS booking whose meeting DiegoS dragged to Deleted Items without a
cancellation before any pass read it (issue 20 Deliver 6 and 7, docs/sync.md "Persons leaving the sync": "A meeting
the purge finds gone from the calendar (deleted or dragged to Deleted Items in Outlook before any pass read it,
perhaps without a cancellation) cannot be cancelled: the purge removes the room's copy"), against the lab, over EWS
and over Microsoft Graph.

The purge says "no meetings of this installation" (exit 0) and holds booking 1 back; Zürich keeps its accepted copy
and no pass nor `sync diff` says so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review20g_room_change_faults import answers, organized
from tests.integration.test_review20i_room_pending import DAY, book

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_a_purge_frees_the_room_of_a_meeting_deleted_unread(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: Zürich is a ROOMS room; DiegoS (`mode`) has booking 1 in Zürich made in ROOMS; two passes write its
    meeting; Zürich accepts (no pass reads it). DiegoS deletes the meeting in Outlook without a cancellation;
    `sync purge --person DiegoS --yes`; two passes; `sync diff`.
    Expected: Zürich holds nothing of DiegoS's, or the purge / a pass / `sync diff` names Zürich as holding it.
    Actual: Zürich keeps the copy; "no meetings of this installation", "no open differences"."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    book(invoke, env, diego, zurich, DAY + timedelta(hours=2), "Planning")
    for _ in range(2):
        invoke("sync", env=env)
    answers(fresh_lab)
    assert len(organized(fresh_lab, zurich, diego)) == 1
    (item,) = organized(fresh_lab, diego, diego)
    gone = fresh_lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}?cancel=false")
    assert gone.status_code == 200, gone.text
    runs = [invoke("sync", "purge", "--person", diego, "--yes", env=env)]
    runs += [invoke("sync", env=env) for _ in range(2)]
    runs.append(invoke("sync", "diff", env=env))
    said = [r.out for r in runs if zurich.lower() in (r.out + r.err).lower()]
    assert organized(fresh_lab, zurich, diego) == [] or said, [r.out for r in runs]
