"""Review of issue 22: the room profile's findings that need no lab (test_review22_rooms_check has the rest)."""

from __future__ import annotations

from pathlib import Path

from roomsops.adapters.exo.objects import CalendarProcessing
from roomsops.core.settings import Settings
from roomsops.services.rooms.check import RoomRequest, compare, profile, runbook
from tests.powershell_tokens import as_windows_powershell_reads, tokenize

from .test_rooms_profile import NEW_ROOM, settings


def test_an_unlimited_duration_is_wanted_only_by_unlimited(tmp_path: Path) -> None:
    """0 is "unlimited" (Set-CalendarProcessing.md): asked for, no finite maximum holds it; before, 1440 did."""
    loaded = settings(tmp_path, "[rooms.profile]\nMaximumDurationInMinutes = 0\n")
    duration = {w.setting: w for w in profile(loaded, "eiger@contoso.com")}["MaximumDurationInMinutes"]
    assert (duration.holds(0), duration.holds(1440), duration.holds(2147483647)) == (True, False, False)
    found = compare(CalendarProcessing.from_row(NEW_ROOM), profile(loaded, "eiger@contoso.com"))
    assert {d.setting: (d.current, d.wanted) for d in found}["MaximumDurationInMinutes"] == (1440, 0)


def test_a_rooms_tables_merge_over_its_addresses_the_last_winning(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        '[rooms.profile."alias@contoso.com"]\nDeleteComments = true\nProcessExternalMeetingMessages = true\n'
        '[rooms.profile."ROOM@contoso.com"]\nProcessExternalMeetingMessages = false\n',
    )
    wanted = {w.setting: w.value for w in profile(loaded, "alias@contoso.com", "room@contoso.com")}
    assert (wanted["DeleteComments"], wanted["ProcessExternalMeetingMessages"]) == (True, False)
    assert {w.setting: w.value for w in profile(loaded)} == {w.setting: w.value for w in profile(Settings())}


def test_a_window_set_in_the_profile_gives_its_own_reason(tmp_path: Path) -> None:
    """Before: "ROOMS books up to 365 days ahead" beside a wanted 90 from [rooms.profile]."""
    loaded = settings(tmp_path, "[rooms.profile]\nBookingWindowInDays = 90\nMaximumDurationInMinutes = 0\n")
    reasons = {w.setting: w.reason for w in profile(loaded)}
    assert reasons["BookingWindowInDays"].startswith("[rooms.profile] sets 90 days (ROOMS books up to 365, ")
    assert reasons["MaximumDurationInMinutes"].startswith("[rooms.profile] sets 0 minutes (0: unlimited; ")
    assert {w.setting: w.reason for w in profile(Settings())}["BookingWindowInDays"].startswith(
        "ROOMS books up to 365 days ahead"
    )


def test_the_rooms_runbook_template_is_ascii() -> None:
    from roomsops.core.templates import templates_dir

    text = (templates_dir() / "powershell" / "rooms-check.ps1.j2").read_text(encoding="utf-8")
    assert text.isascii(), [ch for ch in text if not ch.isascii()]


def test_the_rooms_runbook_reads_the_same_in_windows_powershell_without_a_bom() -> None:
    """A ROOMS room name (or address) with ё: its UTF-8 bytes D1 91 read as Ñ‘ in cp1252, and ‘ ends a
    single-quoted literal for PowerShell, so the rest of the name ran as code. Fixed with psquote's [char] form
    (issue 17 D2), which the rooms runbook uses for every value."""
    request = RoomRequest((("r\u0451@contoso.com", "Saal \u0451|calc#"),), "database", fix=True)
    text = runbook(Settings(), request, "admin\u0451@contoso.com")
    assert text.isascii()
    read = as_windows_powershell_reads(text)
    assert not [t for t in tokenize(read) if t.kind == "word" and t.value == "calc"]
