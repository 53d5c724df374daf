"""Issue 18's calendar item realism (all-day items, every free/busy value, zero-length meetings) and its smaller
gaps (subject length, ReminderDueBy, throttling variants, ambiguous identities, group name length), plus issue
17.7's lab half: PowerShell's typographic single quotes in the OPATH filter parser."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from exchangelib import EWSDateTime, EWSTimeZone
from exchangelib.errors import ErrorExceededConnectionCount, ErrorServerBusy
from exchangelib.items import SEND_TO_NONE

from roomsops.lab.authz import BoolOp, Comparison, parse_filter

from .conftest import LabHelper
from .test_lab_ews import EwsHelper, H, by_subject, exchangelib_against, meeting, monday_ahead, z
from .test_lab_ews_schema import envelope
from .test_lab_winrm import exception_message, exchange, run

pytestmark = pytest.mark.integration

MONDAY = monday_ahead(28)
ZURICH = EWSTimeZone("Europe/Zurich")


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    with exchangelib_against(fresh_lab) as helper:
        yield helper


# --- items ------------------------------------------------------------------------------------------------------


def test_an_all_day_item_moves_to_local_midnight_of_its_time_zone(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    start = EWSDateTime(MONDAY.year, MONDAY.month, MONDAY.day, 10, 30, tzinfo=ZURICH)
    item = meeting(diego, "Offsite", start, is_all_day=True)
    item.end = start + 5 * H  # 15:30 the same day: the item still takes the whole day
    item.save(send_meeting_invitations=SEND_TO_NONE)
    stored = by_subject(ews.calendar("DiegoS"), "Offsite")
    midnight = dt.datetime(MONDAY.year, MONDAY.month, MONDAY.day, tzinfo=dt.UTC)
    offset = dt.timedelta(hours=1 if start.dst() == dt.timedelta(0) else 2)  # CET or CEST
    assert (stored["start"], stored["end"]) == (
        (midnight - offset).strftime("%Y-%m-%dT%H:%M:%SZ"),
        (midnight + dt.timedelta(days=1) - offset).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    assert stored["is_all_day"] is True
    fetched = diego.calendar.get(id=item.id)
    assert fetched.is_all_day is True


@pytest.mark.parametrize("status", ["Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData"])
def test_every_free_busy_value_is_stored_and_returned(ews: EwsHelper, status: str) -> None:
    diego = ews.account("DiegoS")
    item = meeting(diego, f"Shown as {status}", MONDAY, legacy_free_busy_status=status)
    item.save(send_meeting_invitations=SEND_TO_NONE)
    assert by_subject(ews.calendar("DiegoS"), f"Shown as {status}")["free_busy"] == status
    assert diego.calendar.get(id=item.id).legacy_free_busy_status == status


def test_a_zero_length_meeting_is_allowed(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    item = meeting(diego, "Deadline", MONDAY)
    item.end = MONDAY
    item.save(send_meeting_invitations=SEND_TO_NONE)
    stored = by_subject(ews.calendar("DiegoS"), "Deadline")
    assert stored["start"] == stored["end"] == z(MONDAY)
    assert [i.subject for i in diego.calendar.view(MONDAY - H, MONDAY + H)] == ["Deadline"]


def test_a_subject_is_cut_to_255_characters_and_reminder_due_by_stays_as_set(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    # exchangelib refuses a longer subject itself; Outlook and other clients send one.
    created = ews.post(
        envelope(
            ews.address("DiegoS"),
            '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
            f"<t:Subject>{'x' * 300}</t:Subject><t:Start>{z(MONDAY)}</t:Start><t:End>{z(MONDAY + H)}</t:End>"
            "</t:CalendarItem></m:Items></m:CreateItem>",
        ),
        token=ews.token(),
    )
    assert created.status_code == 200 and "NoError" in created.text
    [stored] = ews.calendar("DiegoS")
    assert stored["subject"] == "x" * 255
    item = meeting(diego, "Reminder set", MONDAY, reminder_is_set=True, reminder_minutes_before_start=30)
    item.reminder_due_by = MONDAY - 2 * H
    item.save(send_meeting_invitations=SEND_TO_NONE)
    fetched = diego.calendar.get(id=item.id)
    assert fetched.reminder_due_by == MONDAY - 2 * H  # as set, not Start minus the 30 minutes
    plain = meeting(diego, "Default reminder", MONDAY + 3 * H, reminder_is_set=True)
    plain.save(send_meeting_invitations=SEND_TO_NONE)
    assert diego.calendar.get(id=plain.id).reminder_due_by == MONDAY + 3 * H  # unset: the start


# --- throttling variants ----------------------------------------------------------------------------------------


def test_server_busy_inside_http_200_and_exceeded_connection_count_can_be_injected(ews: EwsHelper) -> None:
    ews.lab.fault(protocol="ews", operation="GetFolder", kind="server_busy_200", back_off_ms=50)
    with pytest.raises(ErrorServerBusy):
        ews.account("AlexW").calendar  # noqa: B018
    ews.lab.fault(protocol="ews", operation="GetFolder", kind="exceeded_connection_count")
    with pytest.raises(ErrorExceededConnectionCount):
        ews.account("LeeG").calendar  # noqa: B018
    assert ews.account("MeganB").calendar.name == "Calendar"  # each fault applied once


# --- Exchange PowerShell wording -----------------------------------------------------------------------------------


def test_a_group_name_over_64_characters_is_refused(fresh_lab: LabHelper) -> None:
    with exchange(fresh_lab) as pool:
        long = run(pool, "New-DistributionGroup", Name="G" * 65)
        [error] = long.errors
        text = exception_message(error)
        assert "|Microsoft.Exchange.Data.DataValidationException|" in text
        assert text.endswith("The maximum length is 64 and the length of the value provided is 65.")
        assert not run(
            pool, "Get-DistributionGroup", Identity="G" * 65, ErrorAction="SilentlyContinue"
        ).objects
        assert not run(pool, "New-DistributionGroup", Name="G" * 64).errors


def test_an_identity_matching_several_recipients_is_management_object_ambiguous(fresh_lab: LabHelper) -> None:
    with exchange(fresh_lab) as pool:
        assert not run(pool, "New-DistributionGroup", Name="Diego Siciliani", Alias="diego-group").errors
        result = run(pool, "Get-Recipient", Identity="Diego Siciliani")
        [error] = result.errors
        assert exception_message(error) == (
            "Ex9E65A2|Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException|The operation "
            "couldn't be performed because object: 'Diego Siciliani' matches multiple entries."
        )
        member = run(
            pool,
            "Add-DistributionGroupMember",
            Identity="diego-group",
            Member="Diego Siciliani",
            BypassSecurityGroupManagerCheck=True,
        )
        assert exception_message(member.errors[0]) == (
            "Ex8155FB|Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException|There are "
            'multiple recipients matching the identity "Diego Siciliani". Please specify a unique value.'
        )


# --- 17.7: typographic single quotes in OPATH filters --------------------------------------------------------------


def test_typographic_single_quotes_end_a_filter_string_as_in_powershell() -> None:
    # The attack: a group named "Sync’ -or Alias -ne ’x" pasted between plain quotes escapes the string.
    group = "Sync\u2019 -or Alias -ne \u2019x"
    naive = parse_filter(f"MemberOfGroup -eq 'CN={group},OU=lab'")
    assert naive == BoolOp(
        "or",
        (Comparison("MemberOfGroup", "-eq", "CN=Sync"), Comparison("Alias", "-ne", "x,OU=lab")),
    )
    # Doubling every single quote character (of any kind) keeps it one value, as PowerShell's tokenizer reads it.
    escaped = "".join(c * 2 if c in "'\u2018\u2019\u201a\u201b" else c for c in f"CN={group},OU=lab")
    assert parse_filter(f"MemberOfGroup -eq '{escaped}'") == Comparison(
        "MemberOfGroup", "-eq", f"CN={group},OU=lab"
    )
    # Any kind opens and closes a string; a doubled pair of mixed kinds stands for the second.
    assert parse_filter("Alias -eq \u2018O'\u2019Brien\u2019") == Comparison("Alias", "-eq", "O\u2019Brien")
    assert parse_filter("Alias -eq \u201aa\u201b") == Comparison("Alias", "-eq", "a")
