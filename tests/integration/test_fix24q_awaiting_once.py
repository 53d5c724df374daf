"""fix24q: a new Outlook meeting whose room has not answered yet is counted once per pass ("awaiting the room's
answer"), over EWS and Graph, on an incremental pass and on `sync --full` (review24p saw it counted twice in a
`sync --full` report: the pass read it among the changes and again among the untagged meetings of its full
reconciliation)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, outlook_new

pytestmark = pytest.mark.integration

AWAITING = "awaiting the room's answer"


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_fix24q_a_meeting_awaiting_its_room_is_counted_once_per_pass(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(invoke("sync", env=env))  # the mailbox's position
    outlook_new(lab, diego, "Own workshop", DAY + timedelta(hours=2), resources=[zurich])  # not answered yet
    counted = []
    for args in (["sync"], ["sync", "--full"], ["sync"], ["sync", "--full"]):
        run = invoke("--json", *args, env=env)
        assert run.code in (0, 1), run.out + run.err
        (mailbox,) = json.loads(run.out)["mailboxes"]
        counted.append(mailbox["skipped"].get(AWAITING, 0))
        text = invoke(*args, env=env)
        assert "1 awaiting the room's answer" in text.out and "2 awaiting" not in text.out, text.out
    assert counted == [1, 1, 1, 1]
