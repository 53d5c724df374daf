"""Outlook operations the sync must survive (issue 18): moving a meeting to Deleted Items and restoring it,
deleting without cancellations, removing the last attendee; through exchangelib (MoveItem, DeleteItem, UpdateItem)
and as the admin API's "as Outlook" calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE

from .conftest import LabHelper
from .test_lab_ews import EwsHelper, by_subject, exchangelib_against, meeting, monday_ahead, room_attendee

pytestmark = pytest.mark.integration

MONDAY = monday_ahead(28)


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    # Rooms answer at once: these tests are about what Outlook does to a booked meeting, not the attendant.
    fresh_lab.settings(room_answer_delay=0)
    with exchangelib_against(fresh_lab) as helper:
        yield helper


def booked(ews: EwsHelper, subject: str) -> Any:
    item = meeting(ews.account("DiegoS"), subject, MONDAY)
    item.resources = [room_attendee(ews, "room-zurich")]
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    return item


def deleted_items(ews: EwsHelper, local: str) -> list[dict[str, Any]]:
    response = ews.lab.admin("GET", f"mailboxes/{ews.address(local)}/calendar?folder=deleteditems")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_move_to_deleted_items_and_restore_with_move_item(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    item = booked(ews, "Dragged away")
    list(diego.calendar.sync_items())
    state = diego.calendar.item_sync_state

    trashed = diego.calendar.get(id=item.id)
    trashed.move(diego.trash)  # MoveItem: what Outlook's drag to Deleted Items sends
    assert ews.calendar("DiegoS") == []
    [in_trash] = deleted_items(ews, "DiegoS")
    assert in_trash["id"] != item.id and in_trash["is_cancelled"] is False
    [room] = ews.calendar("room-zurich")  # a move sends nothing: the room keeps its booking
    assert (room["my_response"], room["is_cancelled"]) == ("Accept", False)
    [(kind, gone)] = list(diego.calendar.sync_items(sync_state=state))
    assert (kind, gone.id) == ("delete", item.id)
    state = diego.calendar.item_sync_state

    back = diego.trash.get(id=in_trash["id"])
    back.move(diego.calendar)  # the restore
    [restored] = ews.calendar("DiegoS")
    assert restored["subject"] == "Dragged away" and restored["id"] not in (item.id, in_trash["id"])
    assert deleted_items(ews, "DiegoS") == []
    [(kind, created)] = list(diego.calendar.sync_items(sync_state=state))
    assert (kind, created.id) == ("create", restored["id"])
    assert ews.lab.requests()["ews:MoveItem"] == 2


def test_delete_without_cancellations_leaves_the_rooms_copy(ews: EwsHelper) -> None:
    item = booked(ews, "Deleted quietly")
    ews.account("DiegoS").calendar.get(id=item.id).delete(send_meeting_cancellations=SEND_TO_NONE)
    assert ews.calendar("DiegoS") == []
    [room] = ews.calendar("room-zurich")
    assert (room["is_cancelled"], room["free_busy"]) == (False, "Busy")


def test_removing_the_last_attendee_sends_the_cancellation(ews: EwsHelper) -> None:
    item = booked(ews, "Room dropped")
    fetched = ews.account("DiegoS").calendar.get(id=item.id)
    fetched.resources = None
    fetched.save(update_fields=["resources"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert by_subject(ews.calendar("DiegoS"), "Room dropped")["resources"] == []
    [room] = ews.calendar("room-zurich")
    assert (room["is_cancelled"], room["free_busy"]) == (True, "Free")
    assert room["subject"].startswith("Canceled: ")


def test_the_admin_api_moves_and_restores_as_outlook(ews: EwsHelper) -> None:
    item = booked(ews, "Moved by hand")
    base = f"mailboxes/{ews.address('DiegoS')}/calendar"
    moved = ews.lab.admin("POST", f"{base}/{item.id}/move", json={"folder": "deleteditems"})
    assert moved.status_code == 200, moved.text
    trashed = moved.json()["item"]
    assert (trashed["folder"], moved.json()["folder"]) == ("deleteditems", "deleteditems")
    assert ews.calendar("DiegoS") == [] and len(ews.calendar("room-zurich")) == 1

    restored = ews.lab.admin("POST", f"{base}/{trashed['id']}/restore")
    assert restored.status_code == 200, restored.text
    assert [i["id"] for i in ews.calendar("DiegoS")] == [restored.json()["item"]["id"]]
    assert ews.lab.requests().get("ews:MoveItem") is None  # admin calls are not EWS requests

    refused = ews.lab.admin("POST", f"{base}/{restored.json()['item']['id']}/move", json={"folder": "inbox"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "bad_field")
    missing = ews.lab.admin("POST", f"{base}/{item.id}/restore")
    assert missing.status_code == 404
