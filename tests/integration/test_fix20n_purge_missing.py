"""fix20n: `sync purge --person` of a booking whose meeting is gone from the calendar (deleted in Outlook without a
cancellation before any pass read it) says so in `--json` (`missing`): with `--dry-run` it names the booking and the
room and changes nothing; the purge removes the room's copy and names the room it freed (review20m purge_deleted_unread).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review20g_room_change_faults import answers, organized
from tests.integration.test_review20i_room_pending import DAY, book

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_a_purge_lists_the_missing_meeting_and_the_room_it_freed(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    book(invoke, env, diego, zurich, DAY + timedelta(hours=2), "Planning")
    for _ in range(2):
        ok(invoke("sync", env=env))
    answers(fresh_lab)
    (item,) = organized(fresh_lab, diego, diego)
    gone = fresh_lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}?cancel=false")
    assert gone.status_code == 200, gone.text

    planned = json.loads(ok(invoke("--json", "sync", "purge", "--person", diego, "--dry-run", env=env)).out)
    assert (planned["removed"], planned["missing"]) == (
        [],
        [{"booking": 1, "title": "Planning", "room": zurich.lower(), "rooms_released": [], "problem": None}],
    )
    assert len(organized(fresh_lab, zurich, diego)) == 1  # the dry run changed nothing

    done = json.loads(ok(invoke("--json", "sync", "purge", "--person", diego, "--yes", env=env)).out)
    assert [(m["booking"], m["rooms_released"], m["problem"]) for m in done["missing"]] == [
        (1, [zurich.lower()], None)
    ]
    assert organized(fresh_lab, zurich, diego) == []
    # Purged once: the link forgot the item, a second purge finds nothing more to do.
    again = json.loads(ok(invoke("--json", "sync", "purge", "--person", diego, "--yes", env=env)).out)
    assert again["missing"] == []
