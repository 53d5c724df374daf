"""ROOMS' vocabulary (sync modes, conflict behaviours, booking states): no imports, so the CLI loads fast."""

from __future__ import annotations

#: ROOMS' sync modes, spelled as ROOMS stores them (`PersonSettings/SyncMode`).
SYNC_MODES = ("O365", "O365Pull", "EWS1", "EWS2", "Microsoft365", "None")
#: The modes roomsops syncs itself (EWS against Exchange Online); the others are ROOMS' own business.
EWS_SYNC_MODES = ("O365", "O365Pull")
#: On-premises EWS provider slots: their sync URL is required.
ON_PREMISES_MODES = ("EWS1", "EWS2")
CONFLICT_BEHAVIOURS = ("Rollback", "Cancel")
FREE_BUSY = ("Free", "Tentative", "Busy", "OOF")
STATUSES = ("active", "cancelled", "sync_disabled")
#: A sync-disabled booking is still a booking in ROOMS (only its sync stopped): it keeps the room.
BLOCKING_STATUSES = ("active", "sync_disabled")
#: Application access policy rights (New-ApplicationAccessPolicy -AccessRight).
ACCESS_RIGHTS = ("RestrictAccess", "DenyAccess")
