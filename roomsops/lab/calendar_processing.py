"""A mailbox's calendar processing: one table of Set-CalendarProcessing's emulated parameters, read and changed by
the cmdlets (Get-/Set-CalendarProcessing, Get-/Set-MailboxCalendarConfiguration) and the admin API alike.

What the settings mean is decided in `roomsops.lab.ews.delivery.decide` (the resource booking attendant).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from roomsops.lab.ews.recurrence import DAYS, known_zone
from roomsops.lab.tenant import Mailbox

AUTOMATE_PROCESSING = ("None", "AutoUpdate", "AutoAccept")
INT32_MAX = 2147483647


class SettingError(ValueError):
    """A value the parameter does not take (the message names the parameter and its range)."""


@dataclass(frozen=True)
class Setting:
    parameter: str  # the PowerShell parameter / output property name
    attribute: str  # Mailbox.calendar_processing's field (or the Mailbox's own for the first two)
    kind: str  # bool | int | enum | time | days | zone | string
    low: int = 0
    high: int = INT32_MAX

    @property
    def json_name(self) -> str:
        return self.attribute


_ON_MAILBOX = ("automate_processing", "allow_conflicts")

#: Set-CalendarProcessing.md's parameters the lab gives a meaning (ranges from the page).
PROCESSING: tuple[Setting, ...] = (
    Setting("AutomateProcessing", "automate_processing", "enum"),
    Setting("AllowConflicts", "allow_conflicts", "bool"),
    Setting("BookingWindowInDays", "booking_window_in_days", "int", 0, 1080),
    Setting("MaximumDurationInMinutes", "maximum_duration_in_minutes", "int"),
    Setting("AllowRecurringMeetings", "allow_recurring_meetings", "bool"),
    Setting("EnforceSchedulingHorizon", "enforce_scheduling_horizon", "bool"),
    Setting("ScheduleOnlyDuringWorkHours", "schedule_only_during_work_hours", "bool"),
    Setting("ConflictPercentageAllowed", "conflict_percentage_allowed", "int", 0, 100),
    Setting("MaximumConflictInstances", "maximum_conflict_instances", "int"),
    Setting("AddOrganizerToSubject", "add_organizer_to_subject", "bool"),
    Setting("DeleteSubject", "delete_subject", "bool"),
    Setting("DeleteComments", "delete_comments", "bool"),
    Setting("RemovePrivateProperty", "remove_private_property", "bool"),
    Setting("ProcessExternalMeetingMessages", "process_external_meeting_messages", "bool"),
    Setting("AddNewRequestsTentatively", "add_new_requests_tentatively", "bool"),
    Setting("RemoveCanceledMeetings", "remove_canceled_meetings", "bool"),
)
#: Set-MailboxCalendarConfiguration.md's working hours.
WORKING_HOURS: tuple[Setting, ...] = (
    Setting("WorkDays", "work_days", "days"),
    Setting("WorkingHoursStartTime", "working_hours_start", "time"),
    Setting("WorkingHoursEndTime", "working_hours_end", "time"),
    Setting("WorkingHoursTimeZone", "working_hours_time_zone", "zone"),
)
ALL = PROCESSING + WORKING_HOURS
BY_JSON = {s.json_name: s for s in ALL}


def get(mailbox: Mailbox, setting: Setting) -> Any:
    owner: Any = mailbox if setting.attribute in _ON_MAILBOX else mailbox.calendar_processing
    value = getattr(owner, setting.attribute)
    return list(value) if isinstance(value, list) else value


def convert(setting: Setting, value: Any) -> Any:
    """The value the setting stores, or SettingError naming the parameter's valid values."""
    name = setting.parameter
    if setting.kind == "bool":
        if not isinstance(value, bool):
            raise SettingError(f"{name} must be $true or $false")
        return value
    if setting.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not setting.low <= value <= setting.high:
            raise SettingError(f"{name} must be an integer from {setting.low} through {setting.high}")
        return value
    if setting.kind == "enum":
        known = {v.casefold(): v for v in AUTOMATE_PROCESSING}
        if not isinstance(value, str) or value.casefold() not in known:
            raise SettingError(f"{name} must be one of {', '.join(AUTOMATE_PROCESSING)}")
        return known[value.casefold()]
    if setting.kind == "time":
        try:
            return dt.time.fromisoformat(str(value)).strftime("%H:%M:%S")
        except ValueError:
            raise SettingError(f"{name} must be a time of day (hh:mm:ss)") from None
    if setting.kind == "days":
        return _days(name, value)
    if setting.kind == "zone":
        # A Windows time zone id (ExTimeZoneValue): an unknown one would leave working hours in UTC unnoticed.
        if not isinstance(value, str) or not value.strip() or not known_zone(value.strip()):
            raise SettingError(f"{name} must be a Windows time zone id, such as 'W. Europe Standard Time'")
        return value.strip()
    if not isinstance(value, str) or not value.strip():
        raise SettingError(f"{name} must be a non-empty string")
    return value.strip()


def _days(name: str, value: Any) -> list[str]:
    """WorkDays: day names, or Weekdays / WeekendDays / AllDays / None (Set-MailboxCalendarConfiguration.md)."""
    # A flags enum: "Monday, Tuesday" and ["Monday", "Tuesday"] both name two days.
    texts = value if isinstance(value, list) else [value]
    items = [part for text in texts for part in str(text).replace(",", " ").split()]
    groups = {"weekdays": DAYS[:5], "weekenddays": DAYS[5:], "alldays": DAYS, "none": ()}
    chosen: set[str] = set()
    for entry in items:
        text = str(entry).strip()
        known = next((d for d in DAYS if d.casefold() == text.casefold()), None)
        if known is not None:
            chosen.add(known)
        elif text.casefold() in groups:
            chosen.update(groups[text.casefold()])
        else:
            raise SettingError(
                f"{name} takes day names, Weekdays, WeekendDays, AllDays or None, not {text!r}"
            )
    return [d for d in DAYS if d in chosen]


def apply(mailbox: Mailbox, changes: Mapping[Setting, Any]) -> bool:
    """Validate every change first, then apply them all; True when something changed."""
    converted = {setting: convert(setting, value) for setting, value in changes.items()}
    if "automate_processing" in {s.attribute for s in converted} and mailbox.kind != "room":
        if converted[next(s for s in converted if s.attribute == "automate_processing")] != "AutoUpdate":
            # "The default value for user mailboxes is AutoUpdate, but you can't change the value on a user mailbox."
            raise SettingError("AutomateProcessing can't be changed on a user mailbox")
    changed = False
    for setting, value in converted.items():
        owner: Any = mailbox if setting.attribute in _ON_MAILBOX else mailbox.calendar_processing
        if getattr(owner, setting.attribute) != value:
            setattr(owner, setting.attribute, value)
            changed = True
    return changed


def as_json(mailbox: Mailbox) -> dict[str, Any]:
    return {"mailbox": mailbox.primary_smtp, **{s.json_name: get(mailbox, s) for s in ALL}}


def from_json(body: Mapping[str, Any], reject: Callable[[str], Exception]) -> dict[Setting, Any]:
    unknown = sorted(set(body) - set(BY_JSON))
    if unknown:
        raise reject(f"unknown field(s): {', '.join(unknown)}; known: {', '.join(BY_JSON)}")
    return {BY_JSON[name]: value for name, value in body.items()}
