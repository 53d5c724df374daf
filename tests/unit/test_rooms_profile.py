"""The room profile of `rooms check`: built-in values, rooms.* settings and [rooms.profile] in their order, and the
comparison (exact, or "at least" with 0 as unlimited for the duration)."""

from __future__ import annotations

from pathlib import Path

from roomsops.adapters.exo.objects import CalendarProcessing
from roomsops.core.settings import Settings, load_settings
from roomsops.services.rooms.check import compare, profile

#: Get-CalendarProcessing of a new room (Microsoft's defaults), as pypsrp hands it over.
NEW_ROOM = {
    "MailboxOwnerId": "Eiger",
    "Identity": "Eiger",
    "AutomateProcessing": "AutoAccept",
    "AllowConflicts": False,
    "BookingWindowInDays": 180,
    "MaximumDurationInMinutes": 1440,
    "AllowRecurringMeetings": True,
    "EnforceSchedulingHorizon": True,
    "ScheduleOnlyDuringWorkHours": False,
    "ConflictPercentageAllowed": 0,
    "MaximumConflictInstances": 0,
    "AddOrganizerToSubject": True,
    "DeleteSubject": True,
    "DeleteComments": True,
    "RemovePrivateProperty": True,
    "ProcessExternalMeetingMessages": False,
    "AddNewRequestsTentatively": True,
    "RemoveCanceledMeetings": False,
}


def settings(tmp_path: Path, toml: str) -> Settings:
    path = tmp_path / "roomsops.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(str(path), {})


def test_a_new_room_differs_in_seven_settings_from_the_built_in_profile(tmp_path: Path) -> None:
    found = compare(CalendarProcessing.from_row(NEW_ROOM), profile(Settings(), "eiger@contoso.com"))
    assert {d.setting: (d.current, d.wanted) for d in found} == {
        "BookingWindowInDays": (180, 365),
        "ConflictPercentageAllowed": (0, 25),
        "MaximumConflictInstances": (0, 5),
        "AddOrganizerToSubject": (True, False),
        "DeleteSubject": (True, False),
        "DeleteComments": (True, False),
        "RemovePrivateProperty": (True, False),
    }
    assert [d.at_least for d in found] == [True] + [False] * 6


def test_at_least_takes_more_and_zero_is_an_unlimited_duration(tmp_path: Path) -> None:
    loaded = settings(tmp_path, "[rooms]\nbooking_horizon_days = 100\nlongest_booking_minutes = 3000\n")
    wanted = {w.setting: w for w in profile(loaded, "eiger@contoso.com")}
    window, duration = wanted["BookingWindowInDays"], wanted["MaximumDurationInMinutes"]
    assert (window.holds(180), window.holds(100), window.holds(99)) == (True, True, False)
    assert (duration.holds(0), duration.holds(3000), duration.holds(1440)) == (True, True, False)
    assert not wanted["AddOrganizerToSubject"].holds(True) and wanted["AddOrganizerToSubject"].holds(False)


def test_a_rooms_own_table_wins_over_every_room_which_wins_over_the_built_in(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        "[rooms.profile]\nConflictPercentageAllowed = 0\nAllowConflicts = false\n"
        '[rooms.profile."Eiger@Contoso.com"]\nConflictPercentageAllowed = 50\n',
    )
    eiger = {w.setting: w.value for w in profile(loaded, "eiger@contoso.com")}
    other = {w.setting: w.value for w in profile(loaded, "moench@contoso.com")}
    assert (eiger["ConflictPercentageAllowed"], other["ConflictPercentageAllowed"]) == (50, 0)
    assert eiger["AllowConflicts"] is False and "AllowConflicts" not in {
        w.setting for w in profile(Settings(), "eiger@contoso.com")
    }
