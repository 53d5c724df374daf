"""Get-/Set-CalendarProcessing and Get-/Set-MailboxCalendarConfiguration (working hours) over a mailbox's calendar
processing (`roomsops.lab.calendar_processing`); the resource booking attendant (ews/delivery.py) obeys them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from roomsops.lab import calendar_processing as cp
from roomsops.lab.cmdlets.base import CmdletSpec, Invocation, Param, exchange_error, exchange_object, names
from roomsops.lab.cmdlets.directory import mailbox_by_id, mailbox_recipient
from roomsops.lab.cmdlets.recipients import find_one
from roomsops.lab.tenant import Mailbox, TenantState

_PAGE = "exchange/exchange-ps/ExchangePowerShell/"
_PROCESSING_TYPES = ["Microsoft.Exchange.Management.StoreTasks.CalendarConfiguration"]
_CONFIGURATION_TYPES = ["Microsoft.Exchange.Management.StoreTasks.MailboxCalendarConfiguration"]

#: Output properties of Get-CalendarProcessing the lab does not give a meaning, with Microsoft's defaults.
_FIXED: dict[str, Any] = {
    "BookingType": "Standard",
    "MinimumDurationInMinutes": 0,
    "ForwardRequestsToDelegates": True,
    "DeleteAttachments": True,
    "DeleteNonCalendarItems": True,
    "TentativePendingApproval": True,
    "EnableResponseDetails": True,
    "OrganizerInfo": True,
    "ResourceDelegates": [],
    "RequestOutOfPolicy": [],
    "AllRequestOutOfPolicy": False,
    "BookInPolicy": [],
    "AllBookInPolicy": True,
    "RequestInPolicy": [],
    "AllRequestInPolicy": False,
    "AddAdditionalResponse": False,
    "AdditionalResponse": None,
    "RemoveOldMeetingMessages": True,
    "RemoveForwardedMeetingNotifications": False,
    "EnableAutoRelease": False,
    "PostReservationMaxClaimTimeInMinutes": 10,
    "EnforceCapacity": False,
}


def _target(inv: Invocation, state: TenantState) -> Mailbox:
    found = find_one(inv, state, inv.params.get("Identity"), ("mailbox",))
    mailbox = mailbox_by_id(state, found.id)
    assert mailbox is not None
    return mailbox


def _processing_object(state: TenantState, mailbox: Mailbox) -> Any:
    recipient = mailbox_recipient(state, mailbox)
    props: dict[str, Any] = {s.parameter: cp.get(mailbox, s) for s in cp.PROCESSING}
    props.update(_FIXED)
    props.update(
        {
            "MailboxOwnerId": recipient.name,
            "Identity": recipient.name,
            "IsValid": True,
            "ObjectState": "Unchanged",
        }
    )
    return exchange_object(_PROCESSING_TYPES, props, recipient.name)


def _configuration_object(state: TenantState, mailbox: Mailbox) -> Any:
    recipient = mailbox_recipient(state, mailbox)
    settings = mailbox.calendar_processing
    props: dict[str, Any] = {
        # WorkDays is a flags enum; PowerShell shows it as "Monday, Tuesday, ..." (Weekdays when all five).
        "WorkDays": _work_days_text(settings.work_days),
        "WorkingHoursStartTime": settings.working_hours_start,
        "WorkingHoursEndTime": settings.working_hours_end,
        "WorkingHoursTimeZone": settings.working_hours_time_zone,
        "MailboxOwnerId": recipient.name,
        "Identity": recipient.name,
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    return exchange_object(_CONFIGURATION_TYPES, props, recipient.name)


def _work_days_text(days: list[str]) -> str:
    groups = {
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"): "Weekdays",
        ("Saturday", "Sunday"): "WeekendDays",
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"): "AllDays",
        (): "None",
    }
    return groups.get(tuple(days), ", ".join(days))


def get_calendar_processing(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        return [_processing_object(state, _target(inv, state))]


def get_mailbox_calendar_configuration(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        return [_configuration_object(state, _target(inv, state))]


def _set(inv: Invocation, settings: tuple[cp.Setting, ...]) -> Iterable[Any]:
    changes = {s: inv.params.get(s.parameter) for s in settings if s.parameter in inv.params}
    with inv.ctx.tenant.change() as state:
        mailbox = _target(inv, state)
        try:
            changed = cp.apply(mailbox, changes)
        except cp.SettingError as exc:
            inv.fail(
                exchange_error(
                    inv.spec.name,
                    "Microsoft.Exchange.Data.DataValidationException",
                    str(exc),
                    target=str(inv.params.get("Identity")),
                )
            )
        name = mailbox.alias
    if not changed:
        inv.warn(f"The command completed successfully but no settings of '{name}' have been modified.")
    return []


def set_calendar_processing(inv: Invocation) -> Iterable[Any]:
    return _set(inv, cp.PROCESSING)


def set_mailbox_calendar_configuration(inv: Invocation) -> Iterable[Any]:
    return _set(inv, cp.WORKING_HOURS)


def _param(setting: cp.Setting) -> Param:
    if setting.kind == "bool":
        return Param(setting.parameter, "bool", type_name="System.Boolean")
    if setting.kind == "int":
        return Param(setting.parameter, "int", type_name="System.Int32")
    if setting.kind == "enum":
        return Param(
            setting.parameter,
            "enum",
            choices=cp.AUTOMATE_PROCESSING,
            type_name="Microsoft.Exchange.Data.Storage.CalendarProcessingFlags",
        )
    if setting.kind == "days":
        return Param(setting.parameter, "strings", type_name="Microsoft.Exchange.Data.DaysOfWeek")
    return Param(setting.parameter)


_IDENTITY = Param("Identity", mandatory=True, position=0)
_SET_PROCESSING_OTHERS = names(
    "AddAdditionalResponse AdditionalResponse AllBookInPolicy AllRequestInPolicy AllRequestOutOfPolicy "
    "BookingType BookInPolicy DeleteAttachments DeleteNonCalendarItems DomainController EnableAutoRelease "
    "EnableResponseDetails EnforceCapacity ForwardRequestsToDelegates IgnoreDefaultScope "
    "MinimumDurationInMinutes OrganizerInfo PostReservationMaxClaimTimeInMinutes "
    "RemoveForwardedMeetingNotifications RemoveOldMeetingMessages RequestInPolicy RequestOutOfPolicy "
    "ResourceDelegates TentativePendingApproval"
)
_SET_CONFIGURATION_OTHERS = names(
    "AgendaMailEnabled AgendaMailIntroductionEnabled AutoDeclineWhenBusy CalendarFeedsPreferredLanguage "
    "CalendarFeedsPreferredRegion CalendarFeedsRootPageId ConversationalSchedulingEnabled "
    "CreateEventsFromEmailAsPrivate DefaultMinutesToReduceLongEventsBy DefaultMinutesToReduceShortEventsBy "
    "DefaultOnlineMeetingProvider DefaultReminderTime DeleteMeetingRequestOnRespond DiningEventsFromEmailEnabled "
    "DomainController EntertainmentEventsFromEmailEnabled EventsFromEmailEnabled FirstWeekOfYear "
    "FlightEventsFromEmailEnabled HotelEventsFromEmailEnabled InvoiceEventsFromEmailEnabled "
    "LocationDetailsInFreeBusy MailboxLocation OnlineMeetingsByDefaultEnabled "
    "PackageDeliveryEventsFromEmailEnabled PreserveDeclinedMeetings RemindersEnabled ReminderSoundEnabled "
    "RentalCarEventsFromEmailEnabled ServiceAppointmentEventsFromEmailEnabled ShortenEventScopeDefault "
    "ShowWeekNumbers TimeIncrement UseBrightCalendarColorThemeInOwa WeatherEnabled WeatherLocationBookmark "
    "WeatherLocations WeatherUnit WeekStartDay"
)

CMDLETS = (
    CmdletSpec(
        "Get-CalendarProcessing",
        get_calendar_processing,
        (_IDENTITY,),
        source=_PAGE + "Get-CalendarProcessing.md",
        not_emulated=names("DomainController ReadFromDomainController"),
    ),
    CmdletSpec(
        "Set-CalendarProcessing",
        set_calendar_processing,
        (_IDENTITY, *(_param(s) for s in cp.PROCESSING)),
        source=_PAGE + "Set-CalendarProcessing.md",
        not_emulated=_SET_PROCESSING_OTHERS,
        should_process=True,
    ),
    CmdletSpec(
        "Get-MailboxCalendarConfiguration",
        get_mailbox_calendar_configuration,
        (_IDENTITY,),
        source=_PAGE + "Get-MailboxCalendarConfiguration.md",
        not_emulated=names("DomainController MailboxLocation ReadFromDomainController"),
    ),
    CmdletSpec(
        "Set-MailboxCalendarConfiguration",
        set_mailbox_calendar_configuration,
        (_IDENTITY, *(_param(s) for s in cp.WORKING_HOURS)),
        source=_PAGE + "Set-MailboxCalendarConfiguration.md",
        not_emulated=_SET_CONFIGURATION_OTHERS,
        should_process=True,
    ),
)
