"""The lab's EWS with hundreds of items through the real exchangelib (issue 6, acceptance 1), and the lab's
persistence at scale: `save_interval` (changes written at most once per interval, and when the lab stops).

What the tests assert about stored items they read through the admin API or the lab's own state, and request
counts through /lab/requests; exchangelib's answers are only what a client sees.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from exchangelib import Attendee, Mailbox
from exchangelib.errors import ErrorIrresolvableConflict
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE

from roomsops.lab import Lab
from roomsops.lab.ews import capture
from roomsops.lab.tenant import TenantState, decode, encode

from .conftest import LabHelper, http_session
from .test_lab_ews import MONDAY, EwsHelper, H, by_subject, exchangelib_against, meeting, room_attendee, z

pytestmark = pytest.mark.integration

M = "http://schemas.microsoft.com/exchange/services/2006/messages"


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    with exchangelib_against(fresh_lab) as helper:
        yield helper


def person(ews: EwsHelper, local: str) -> Attendee:
    return Attendee(mailbox=Mailbox(email_address=ews.address(local)), response_type="Unknown")


def messages_per_answer(answers: capture.ResponseLog, operation: str) -> list[int]:
    """How many response messages each captured answer of `operation` held (one per item sent)."""
    return [len(root.findall(f".//{{{M}}}ResponseMessages/*")) for root in roots(answers, operation)]


def roots(answers: capture.ResponseLog, operation: str) -> list[ET.Element]:
    return [ET.fromstring(a.body) for a in answers.entries if a.operation == operation]


def root_folders(answers: capture.ResponseLog) -> list[tuple[str | None, str | None, int]]:
    """(TotalItemsInView, IncludesLastItemInRange, items returned) of each FindItem answer."""
    return [
        (folder.get("TotalItemsInView"), folder.get("IncludesLastItemInRange"), len(folder[0]))
        for root in roots(answers, "FindItem")
        for folder in root.iter(f"{{{M}}}RootFolder")
    ]


# --- issue 6, acceptance 1 -------------------------------------------------------------------------------


def test_250_meetings_in_batches_read_back_updated_deleted_and_synced_in_pages(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    calendar = diego.calendar
    meetings = [
        meeting(diego, f"Meeting {n}", MONDAY + n * H, required_attendees=[person(ews, "AdeleV")])
        for n in range(250)
    ]
    ews.lab.reset_requests()
    with capture.capture() as answers:
        created = diego.bulk_create(calendar, meetings, send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert ews.lab.requests() == {"ews:CreateItem": 3}
    assert messages_per_answer(answers, "CreateItem") == [100, 100, 50]  # exchangelib's chunks of 100
    assert len({c.id for c in created}) == 250
    assert len(ews.calendar("AdeleV")) == 250  # delivered to the attendee

    # A first synchronisation pages through every item, MaxChangesReturned at a time: one request per page.
    ews.lab.reset_requests()
    first = list(calendar.sync_items(max_changes_returned=100))
    assert ews.lab.requests() == {"ews:SyncFolderItems": math.ceil(250 / 100)}
    assert sorted(kind for kind, _ in first) == ["create"] * 250
    assert {item.id for _, item in first} == {c.id for c in created}
    state = calendar.item_sync_state

    # Read back by CalendarView: all 250 in one FindItem (exchangelib then gets the full items, 100 per GetItem).
    ews.lab.reset_requests()
    with capture.capture() as answers:
        viewed = list(calendar.view(start=MONDAY, end=MONDAY + 250 * H))
    assert ews.lab.requests() == {"ews:FindItem": 1, "ews:GetItem": 3}
    assert root_folders(answers) == [("250", "true", 250)]
    assert sorted(i.subject for i in viewed) == sorted(f"Meeting {n}" for n in range(250))
    assert {i.id for i in viewed} == {c.id for c in created}

    # Update one: same ItemId, a new ChangeKey; the copy fetched before is stale for NeverOverwrite.
    target = created[17]
    [fresh, stale] = list(diego.fetch(ids=[(target.id, target.changekey)] * 2))
    fresh.subject = "Meeting 17 (moved)"
    fresh.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    stored = by_subject(ews.calendar("DiegoS"), "Meeting 17 (moved)")
    assert stored["id"] == target.id
    assert stored["change_key"] == fresh.changekey != target.changekey
    stale.subject = "Meeting 17 (overwritten)"
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(update_fields=["subject"], conflict_resolution="NeverOverwrite")

    # Delete one (with a cancellation for the attendee).
    gone = created[42]
    diego.calendar.get(id=gone.id).delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    assert len(ews.calendar("DiegoS")) == 249
    assert by_subject(ews.calendar("AdeleV"), "Canceled: Meeting 42")["is_cancelled"] is True

    # The next synchronisation: exactly the update and the delete, in one request.
    ews.lab.reset_requests()
    later = list(calendar.sync_items(sync_state=state, max_changes_returned=100))
    assert ews.lab.requests() == {"ews:SyncFolderItems": 1}
    assert sorted((kind, item.id) for kind, item in later) == sorted(
        [("update", target.id), ("delete", gone.id)]
    )


def test_a_restriction_on_the_extended_property_finds_one_of_500_items(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    calendar = diego.calendar
    items = [
        meeting(diego, f"Tagged {n}", MONDAY + n * H / 2, booking_tag=f"b-{n:03d}")  # half-hour slots
        for n in range(500)
    ]
    diego.bulk_create(calendar, items, send_meeting_invitations=SEND_TO_NONE)
    with ews.lab.lab.tenant.read() as state:
        mailbox = state.find_mailbox(ews.address("DiegoS"))
        assert mailbox is not None
        assert len(state.calendars[mailbox.id].items) == 500

    ews.lab.reset_requests()
    with capture.capture() as answers:
        found = list(calendar.filter(booking_tag="b-317").only("subject", "booking_tag"))
    assert [(i.subject, i.booking_tag) for i in found] == [("Tagged 317", "b-317")]
    # The server filtered: one FindItem that found one item (exchangelib gets extended properties by GetItem).
    assert ews.lab.requests() == {"ews:FindItem": 1, "ews:GetItem": 1}
    assert root_folders(answers) == [("1", "true", 1)]
    assert list(calendar.filter(booking_tag="b-500")) == []


def test_an_update_cancels_the_copy_of_an_attendee_dropped_without_notice(ews: EwsHelper) -> None:
    """Only mailboxes a meeting was delivered to can hold a copy; the organizer's item remembers them (and an item
    without that record, as an older tenant.json holds, has every mailbox looked at)."""
    diego = ews.account("DiegoS")
    for subject, forget in (("Trio", False), ("Legacy trio", True)):
        item = meeting(
            diego, subject, MONDAY, required_attendees=[person(ews, "AdeleV"), person(ews, "AlexW")]
        )
        item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        if forget:
            with ews.lab.lab.tenant.change() as state:
                mailbox = state.find_mailbox(ews.address("DiegoS"))
                assert mailbox is not None
                stored = state.calendars[mailbox.id].find(item.id)
                assert stored is not None and stored.delivered_to is not None
                stored.delivered_to = None
        item.required_attendees = [person(ews, "AdeleV")]
        item.save(update_fields=["required_attendees"], send_meeting_invitations=SEND_TO_NONE)
        assert by_subject(ews.calendar("AlexW"), subject)["is_cancelled"] is False  # nobody told Alex

        item.start, item.end = MONDAY + 2 * H, MONDAY + 3 * H
        item.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        assert by_subject(ews.calendar("AlexW"), f"Canceled: {subject}")["is_cancelled"] is True
        assert by_subject(ews.calendar("AdeleV"), subject)["start"] == z(MONDAY + 2 * H)


# --- persistence with a save interval ---------------------------------------------------------------------


def stored_addresses(path: Path) -> set[str]:
    return {m["primary_smtp"] for m in json.loads(path.read_bytes())["mailboxes"]}


def test_with_a_save_interval_changes_wait_for_the_lab_to_stop_and_a_restart_keeps_them(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "lab"
    tenant_file = directory / "tenant.json"
    # Rooms answer at once: this test is about saving, not the attendant's timing.
    lab = Lab(directory, save_interval=600, room_answer_delay=0).start()
    try:
        helper = LabHelper(lab)
        domain = lab.info["tenant"]["domain"]
        assert helper.admin("GET", "settings").json()["save_interval"] == 600
        written = lab.tenant.saves
        with exchangelib_against(helper) as ews:
            diego = ews.account("DiegoS")
            meeting(
                diego, "Kept", MONDAY, booking_tag="b-kept", resources=[room_attendee(ews, "room-bern")]
            ).save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        added = helper.admin("POST", "mailboxes", json={"email": f"KarinB@{domain}", "display_name": "Karin"})
        assert added.status_code == 201, added.text
        assert lab.tenant.saves == written  # nothing written yet ...
        assert f"KarinB@{domain}" not in stored_addresses(tenant_file)
        expected = lab.tenant.snapshot(include_secrets=True)
    finally:
        lab.stop()  # ... until the lab stops
    assert lab.tenant.saves == written + 1
    assert encode(decode(TenantState, json.loads(tenant_file.read_bytes()))) == expected

    with Lab(directory, room_answer_delay=0) as again:  # the same run options: the state is the tenant's
        assert again.tenant.snapshot(include_secrets=True) == expected
        calendar = LabHelper(again).admin("GET", f"mailboxes/room-bern@{domain}/calendar").json()["items"]
        assert [(i["organizer"], i["my_response"]) for i in calendar] == [(f"DiegoS@{domain}", "Accept")]


def test_a_burst_of_changes_is_written_at_most_once_per_save_interval(fresh_lab: LabHelper) -> None:
    tenant, tenant_file = fresh_lab.lab.tenant, fresh_lab.dir / "tenant.json"
    domain = fresh_lab.info["tenant"]["domain"]
    calendar = f"mailboxes/DiegoS@{domain}/calendar"
    edit = {"start": "2031-03-03T08:00:00Z", "end": "2031-03-03T09:00:00Z", "send": False}
    written = tenant.saves
    assert fresh_lab.admin("POST", calendar, json={"subject": "Direct", **edit}).status_code == 201
    assert tenant.saves == written + 1  # the default: every change is written

    interval = 0.4
    assert fresh_lab.settings(save_interval=interval)["save_interval"] == interval
    try:
        began, written = time.monotonic(), tenant.saves
        for n in range(40):
            assert (
                fresh_lab.admin("POST", calendar, json={"subject": f"Burst {n}", **edit}).status_code == 201
            )
        added = fresh_lab.admin("POST", "mailboxes", json={"email": f"burst@{domain}"})
        assert added.status_code == 201
        deadline = time.monotonic() + 30  # bounds a hang only: the save comes within one interval
        while f"burst@{domain}" not in stored_addresses(tenant_file):  # the autosave thread writes it
            assert time.monotonic() < deadline, "the last change never reached tenant.json"
            time.sleep(0.05)
        elapsed = time.monotonic() - began
        saves = tenant.saves - written
        # At most one save per interval, however long the burst took on this machine.
        assert 1 <= saves <= elapsed / interval + 1, (saves, elapsed)

        assert fresh_lab.admin("POST", calendar, json={"subject": "Waiting", **edit}).status_code == 201
        waiting = tenant.saves
    finally:
        fresh_lab.settings(save_interval=0)
    assert tenant.saves == waiting + 1  # back to 0: what waited is written at once
    subjects = [
        i["subject"] for s in json.loads(tenant_file.read_bytes())["calendars"].values() for i in s["items"]
    ]
    assert "Waiting" in subjects and "Burst 39" in subjects


@pytest.mark.parametrize(
    "command",
    [["-m", "roomsops.lab"], ["-m", "roomsops", "lab", "serve"]],
    ids=["python-m-lab", "roomsops-lab-serve"],
)
def test_sigterm_writes_the_changes_a_save_interval_kept_waiting(tmp_path: Path, command: list[str]) -> None:
    directory = tmp_path / "proc"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")}
    process = subprocess.Popen(
        [sys.executable, *command, "--dir", str(directory), "--save-interval", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout=30)
        assert lines == [f"lab ready: {directory.resolve()}/roomsops.toml\n"]
        info = json.loads((directory / "lab.json").read_text(encoding="utf-8"))
        address = f"late@{info['tenant']['domain']}"
        session = http_session(directory / "ca.pem")
        added = session.post(
            f"{info['endpoints']['base']}/lab/mailboxes",
            json={"email": address},
            headers={"Authorization": f"Bearer {info['admin_api']['token']}"},
            timeout=10,
        )
        assert added.status_code == 201, added.text
        assert address not in stored_addresses(directory / "tenant.json")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert address in stored_addresses(directory / "tenant.json")
