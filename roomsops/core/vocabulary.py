"""ROOMS' vocabulary (sync modes, conflict behaviours, booking states): no imports, so the CLI loads fast."""

from __future__ import annotations

#: ROOMS' sync modes, spelled as ROOMS stores them (`PersonSettings/SyncMode`).
SYNC_MODES = ("O365", "O365Pull", "EWS1", "EWS2", "Microsoft365", "None")
#: The modes roomsops syncs itself (EWS against Exchange Online); the others are ROOMS' own business.
EWS_SYNC_MODES = ("O365", "O365Pull")
#: ROOMS' Graph mode: roomsops syncs these persons over Microsoft Graph (issue 24).
GRAPH_SYNC_MODES = ("Microsoft365",)
#: Every mode roomsops syncs: over EWS or over Graph, chosen per person (services/sync/factory.py).
SYNCED_MODES = EWS_SYNC_MODES + GRAPH_SYNC_MODES
#: On-premises EWS provider slots: their sync URL is required.
ON_PREMISES_MODES = ("EWS1", "EWS2")
CONFLICT_BEHAVIOURS = ("Rollback", "Cancel")
FREE_BUSY = ("Free", "Tentative", "Busy", "OOF")
STATUSES = ("active", "cancelled", "sync_disabled")
#: A sync-disabled booking is still a booking in ROOMS (only its sync stopped): it keeps the room.
BLOCKING_STATUSES = ("active", "sync_disabled")
#: Application access policy rights (New-ApplicationAccessPolicy -AccessRight).
ACCESS_RIGHTS = ("RestrictAccess", "DenyAccess")
#: Set-CalendarProcessing's AutomateProcessing values.
AUTOMATE_PROCESSING = ("None", "AutoUpdate", "AutoAccept")
#: Set-CalendarProcessing's parameters `rooms check` reads and `[rooms.profile]` may set: name -> (kind, low,
#: high), kind "bool", "int" (within low..high, as Set-CalendarProcessing.md gives them) or "automate".
CALENDAR_PROCESSING: dict[str, tuple[str, int, int]] = {
    "AutomateProcessing": ("automate", 0, 0),
    "AllowConflicts": ("bool", 0, 1),
    "BookingWindowInDays": ("int", 0, 1080),
    "MaximumDurationInMinutes": ("int", 0, 2147483647),
    "AllowRecurringMeetings": ("bool", 0, 1),
    "EnforceSchedulingHorizon": ("bool", 0, 1),
    "ScheduleOnlyDuringWorkHours": ("bool", 0, 1),
    "ConflictPercentageAllowed": ("int", 0, 100),
    "MaximumConflictInstances": ("int", 0, 2147483647),
    "AddOrganizerToSubject": ("bool", 0, 1),
    "DeleteSubject": ("bool", 0, 1),
    "DeleteComments": ("bool", 0, 1),
    "RemovePrivateProperty": ("bool", 0, 1),
    "ProcessExternalMeetingMessages": ("bool", 0, 1),
    "AddNewRequestsTentatively": ("bool", 0, 1),
    "RemoveCanceledMeetings": ("bool", 0, 1),
}
