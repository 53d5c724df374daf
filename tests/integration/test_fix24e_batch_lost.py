"""fix24e (review24d, untested item b): a `$batch` of creates whose answer is lost after Graph made some of its
meetings. The pass adopts the meetings it finds by their tags; only the bookings whose meeting is not there are
failed (their intents stay, the next pass looks them up and creates what is missing). Before, the adopted bookings
were reported failed beside them ("connection dropped") for one pass, and their links carried the error."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, links, live

pytestmark = pytest.mark.integration


def test_fix24e_a_partly_lost_batch_of_creates_fails_only_the_bookings_whose_meeting_is_missing(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("sync", env=env))
    for hour in range(3):
        add_booking(invoke, env, diego, zurich, DAY + timedelta(hours=hour), f"Planning {hour}")
    # One create of the batch fails (not made); the batch's answer is lost after the other two were made.
    lab.fault(protocol="graph", operation="events.create", kind="http_500", count=1)
    lab.fault(protocol="graph", operation="batch", kind="drop_after", count=1)

    run = invoke("--json", "sync", env=env)
    assert run.code == 1, run.out + run.err
    (report,) = json.loads(run.out)["mailboxes"]
    assert (report["created"], report["adopted"]) == (0, 2), report
    assert len(report["failures"]) == 1, report["failures"]
    states = sorted(state for state, _ in links(env).values())
    assert states == ["linked", "linked", "pending-create"], links(env)
    assert [error for state, error in links(env).values() if state == "linked"] == [None, None]

    again = invoke("--json", "sync", env=env)
    assert again.code == 0, again.out + again.err
    (report,) = json.loads(again.out)["mailboxes"]
    assert (report["created"], report["failures"]) == (1, []), report
    assert sorted(m["subject"] for m in live(lab, diego)) == ["Planning 0", "Planning 1", "Planning 2"]
