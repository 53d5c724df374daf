"""review24c: `sync migrate --to ews` of a Graph person with a cancellation under way whose meeting is gone: the link
moves with its Graph id and every pass over EWS fails it for ever.

Steps: AdeleV (Microsoft365) has three synced bookings, accepted by the room. Booking 3 (Retro) is cancelled in
ROOMS and its Graph `/cancel` never arrives (the lab drops the connection before it: the link is `pending-cancel`);
then in Outlook she deletes Retro (with a cancellation) and Planning (without one). `roomsops sync migrate --to ews
--person adele` (reported `migrated`, `deleted` [1, 3]), then two passes.

Expected (issue 24 item 4: "`--to ews` reverses"; docs/sync.md "Moving persons between EWS and Graph": such a link
"moves as it is (`deleted` in the report) and the first pass over the new service ... settles it exactly as a pass
over the old service would have: ... or the cancellation found done"; CHANGELOG fix24b: "the first pass sends it
again, a meeting already gone is fine"): the passes end with no failure, booking 3 settled as cancelled.

Actual: the first pass over EWS sends the cancellation with the Graph immutable id the link kept, EWS answers
ErrorInvalidIdMalformed (not ErrorItemNotFound, which would be "already gone"), and so does every later pass:
booking 3 is `failed` in `bookings list`, each pass exits 1. (The --to graph direction passes in the lab only
because the lab's Graph accepts an EWS id; test_sync_migrate_deleted.py.)"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, live, sync

pytestmark = pytest.mark.integration


def test_migrate_to_ews_settles_a_cancellation_under_way_whose_meeting_is_gone(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    adele, zurich = addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    for hours, title in ((0, "Planning"), (2, "Review"), (4, "Retro")):
        add_booking(invoke, env, adele, zurich, DAY + timedelta(hours=hours), title)
    ok(invoke("sync", env=env))
    answer(lab)
    ok(invoke("sync", env=env))
    assert len(live(lab, zurich, organizer=adele)) == 3

    ok(invoke("bookings", "cancel", "3", "--yes", env=env))
    lab.fault(protocol="graph", operation="events.cancel", kind="drop_before", count=1)
    assert sync(invoke, env)[0] == 1  # booking 3: pending-cancel
    meetings = {i["subject"]: i for i in live(lab, adele)}
    for subject, cancel in (("Planning", "false"), ("Retro", "true")):
        gone = lab.admin(
            "DELETE", f"/lab/mailboxes/{adele}/calendar/{meetings[subject]['id']}?cancel={cancel}"
        )
        assert gone.status_code == 200, gone.text

    moved = invoke("--json", "sync", "migrate", "--to", "ews", "--person", adele, env=env)
    (person,) = json.loads(moved.out)["persons"]
    assert (moved.code, person["status"], person["deleted"]) == (0, "migrated", [1, 3])

    invoke("sync", env=env)  # the first pass over EWS: a full reconciliation
    code, passed = sync(invoke, env)
    assert passed[adele]["failures"] == []
    assert code == 0
    found = bookings(invoke, env)
    assert [found[i]["status"] for i in (1, 2, 3)] == ["cancelled", "active", "cancelled"]
    assert found[3]["sync"] != "failed"
