"""A user's second calendar (issue 18, Outlook operations): CreateFolder under the Calendar or the mailbox's root,
FindFolder (exchangelib's folder cache), MoveItem into it (a new ItemId, a Delete in the Calendar's SyncFolderItems,
a Create in the second calendar's), FindItem and SyncFolderItems on it; the same through the admin API "as
Outlook"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from exchangelib.errors import ErrorFolderExists
from exchangelib.folders import Calendar
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY

from .conftest import LabHelper
from .test_lab_ews import EwsHelper, H, exchangelib_against, meeting, monday_ahead, room_attendee

pytestmark = pytest.mark.integration

MONDAY = monday_ahead(35)


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    # Rooms answer at once: these tests are about where the organizer keeps a booked meeting, not the attendant.
    fresh_lab.settings(room_answer_delay=0)
    with exchangelib_against(fresh_lab) as helper:
        yield helper


def booked(ews: EwsHelper, subject: str) -> Any:
    item = meeting(ews.account("DiegoS"), subject, MONDAY)
    item.resources = [room_attendee(ews, "room-zurich")]
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    return item


def folder_items(ews: EwsHelper, local: str, folder: str) -> list[dict[str, Any]]:
    response = ews.lab.admin("GET", f"mailboxes/{ews.address(local)}/calendar?folder={folder}")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_a_subfolder_of_the_calendar_made_by_create_folder_takes_a_moved_meeting(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    item = booked(ews, "Moved to Projects")
    list(diego.calendar.sync_items())
    calendar_state = diego.calendar.item_sync_state

    projects = Calendar(parent=diego.calendar, name="Projects")
    projects.save()  # CreateFolder, then exchangelib fills its folder cache (GetFolder, FindFolder Deep)
    assert projects.id
    assert [(f.name, f.id) for f in diego.calendar.children] == [("Projects", projects.id)]
    assert (diego.calendar / "Projects").folder_class == "IPF.Appointment"
    with pytest.raises(ErrorFolderExists):
        Calendar(parent=diego.calendar, name="projects").save()  # names compare case-insensitively

    diego.calendar.get(id=item.id).move(projects)
    [moved] = list(projects.all())  # FindItem on the new folder's FolderId
    assert moved.subject == "Moved to Projects" and moved.id != item.id
    assert ews.calendar("DiegoS") == []
    [(kind, gone)] = list(diego.calendar.sync_items(sync_state=calendar_state))
    assert (kind, gone.id) == ("delete", item.id)
    [(kind, created)] = list(projects.sync_items())
    assert (kind, created.id) == ("create", moved.id)
    # A move sends nothing: the room keeps its booking, and the moved item can still be edited there.
    [room] = ews.calendar("room-zurich")
    assert (room["my_response"], room["is_cancelled"]) == ("Accept", False)
    moved.subject = "Renamed in Projects"
    moved.save(update_fields=["subject"], send_meeting_invitations="SendToNone")
    [listed] = ews.lab.admin("GET", f"mailboxes/{ews.address('DiegoS')}/folders").json()["folders"]
    assert (listed["id"], listed["display_name"], listed["parent"]) == (projects.id, "Projects", "calendar")
    [kept] = folder_items(ews, "DiegoS", listed["folder"])
    assert (kept["id"], kept["subject"]) == (moved.id, "Renamed in Projects")
    counts = ews.lab.requests()
    assert (counts["ews:CreateFolder"], counts["ews:MoveItem"]) == (2, 1)
    assert counts["ews:FindFolder"] >= 1


def test_the_admin_api_creates_a_secondary_calendar_and_moves_into_it_as_outlook(ews: EwsHelper) -> None:
    item = booked(ews, "Moved by hand")
    base = f"mailboxes/{ews.address('DiegoS')}"
    made = ews.lab.admin("POST", f"{base}/folders", json={"display_name": "Team", "parent": "msgfolderroot"})
    assert made.status_code == 201, made.text
    key = made.json()["folder"]
    again = ews.lab.admin("POST", f"{base}/folders", json={"display_name": "team", "parent": "msgfolderroot"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")
    bad = ews.lab.admin("POST", f"{base}/folders", json={"display_name": "X", "parent": "inbox"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "bad_field")

    moved = ews.lab.admin("POST", f"{base}/calendar/{item.id}/move", json={"folder": key})
    assert moved.status_code == 200, moved.text
    assert moved.json()["item"]["folder"] == key and ews.calendar("DiegoS") == []

    # exchangelib finds the secondary calendar beside the Calendar and reads the moved meeting there.
    diego = ews.account("DiegoS")
    team = diego.msg_folder_root / "Team"
    assert team.id == made.json()["id"]
    assert [i.id for i in team.all()] == [moved.json()["item"]["id"]]
    assert [i.subject for i in team.view(MONDAY - H, MONDAY + 2 * H)] == ["Moved by hand"]  # a CalendarView

    restored = ews.lab.admin("POST", f"{base}/calendar/{moved.json()['item']['id']}/restore")
    assert restored.status_code == 200, restored.text
    assert folder_items(ews, "DiegoS", key) == [] and len(ews.calendar("DiegoS")) == 1
    unknown = ews.lab.admin(
        "POST", f"{base}/calendar/{restored.json()['item']['id']}/move", json={"folder": "x"}
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "bad_field")


def test_a_late_room_answer_reaches_the_organizers_item_in_a_second_calendar(ews: EwsHelper) -> None:
    ews.lab.settings(room_answer_delay=3600)  # the answer comes after the move
    item = booked(ews, "Answered after the move")
    base = f"mailboxes/{ews.address('DiegoS')}"
    key = ews.lab.admin("POST", f"{base}/folders", json={"display_name": "Later"}).json()["folder"]
    moved = ews.lab.admin("POST", f"{base}/calendar/{item.id}/move", json={"folder": key}).json()["item"]
    assert moved["resources"][0]["response"] == "Unknown"
    [answer] = ews.lab.admin("POST", "room-answers/process").json()["answered"]
    assert answer["response"] == "Accept"
    [kept] = folder_items(ews, "DiegoS", key)
    assert (kept["id"], kept["resources"][0]["response"]) == (moved["id"], "Accept")
    assert kept["change_key"] != moved["change_key"]
