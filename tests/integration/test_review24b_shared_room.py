"""review24b: an EWS person and a Graph person share a room; the Graph person's room is opened over EWS.

Steps: AdeleV syncs in Microsoft365 (Graph), DiegoS in O365 (EWS); both book the room Zürich, the room accepts.
EWS is then turned off for the room's mailbox (Set-CASMailbox -EwsEnabled $false: the tenant is leaving EWS; Graph
still reaches the room). Adele deletes her meeting in Outlook without sending a cancellation, so the room's copy
still holds the slot; the first pass cannot read the room (one HTTP 500 from Graph) and reports "room still holds
the slot ... tried again every pass". The next pass (one worker thread, `--concurrency 1`) tries again.

Expected: that pass opens the room over Graph, the service of the organizer whose pass asks, and removes the copy
(`services/sync/routing.py`: "a room's calendar is opened over the service of the organizer whose pass asks ... a
pass over Graph never needs EWS for its rooms"; docs/sync.md "Over Microsoft Graph": the same).

Actual: the retry (`_still_holding`, in the pass's last phase) goes to the backend of whichever mailbox the thread
served last — Diego's EWS — and fails with "EWS refused: EWS is disabled for this user or tenant"; the room keeps
the slot of a cancelled booking."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from roomsops.adapters.graph.client import GET_RETRIES
from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, live

pytestmark = pytest.mark.integration


def one_pass(invoke: Invoke, env: dict[str, str]) -> tuple[int, dict[str, dict[str, Any]]]:
    run = invoke("--json", "sync", "--concurrency", "1", env=env)
    assert run.code in (0, 1), run.out + run.err
    return run.code, {m["mailbox"].lower(): m for m in json.loads(run.out)["mailboxes"]}


def test_a_graph_persons_room_is_opened_over_graph_beside_an_ews_person(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    adele, diego, zurich = addr("AdeleV").lower(), addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, adele, zurich, DAY, "Adele's planning")
    add_booking(invoke, env, diego, zurich, DAY + timedelta(hours=3), "Diego's review")
    assert one_pass(invoke, env)[0] == 0
    assert [a["response"] for a in answer(lab)] == ["Accept", "Accept"]
    assert one_pass(invoke, env)[0] == 0
    (meeting,) = live(lab, adele)
    assert [i["uid"] for i in live(lab, zurich, organizer=adele)] == [meeting["uid"]]

    with lab.lab.tenant.change() as state:  # the room's EWS off; Graph still reaches it
        next(m for m in state.mailboxes if m.primary_smtp.lower() == zurich).ews_enabled = False
    deleted = lab.admin("DELETE", f"/lab/mailboxes/{adele}/calendar/{meeting['id']}?cancel=false")
    assert deleted.status_code == 200, deleted.text
    # Every send of the read answered 500: the Graph client sends a GET again GET_RETRIES times (fix24i).
    lab.fault(protocol="graph", operation="calendarView", kind="http_500", count=1 + GET_RETRIES)
    code, first = one_pass(invoke, env)
    assert code == 1 and "still holds the slot" in first[adele]["failures"][0]

    code, second = one_pass(invoke, env)
    assert second[adele]["failures"] == [], second[adele]["failures"]
    assert (code, second[adele]["rooms_released"]) == (0, 1)
    assert live(lab, zurich, organizer=adele) == []
