"""The tag on every appointment roomsops writes: which installation wrote it and which booking it mirrors.

Two PublicStrings named properties, registered on exchangelib's CalendarItem as the fields `INSTALLATION` and
`BOOKING`; they let a later pass (or another process) find an item whose write answer was lost.
"""

from __future__ import annotations

from exchangelib.extended_properties import ExtendedProperty
from exchangelib.items import CalendarItem

INSTALLATION = "roomsops_installation"
BOOKING = "roomsops_booking"
REVISION = "roomsops_revision"


class InstallationTag(ExtendedProperty):
    """This roomsops installation's id on every appointment it creates (PublicStrings named property)."""

    distinguished_property_set_id = "PublicStrings"
    property_name = "roomsops-installation"
    property_type = "String"


class BookingTag(ExtendedProperty):
    """The booking an appointment mirrors: `<booking id>:<key>` (`core.calendar.booking_tag`; a plain id before
    schema 8)."""

    distinguished_property_set_id = "PublicStrings"
    property_name = "roomsops-booking"
    property_type = "String"


class RevisionTag(ExtendedProperty):
    """A new value with every write roomsops makes (create, update, tagging): with the link's snapshot it tells
    roomsops' own writes from others' (docs/sync.md, "Own writes are no edits")."""

    distinguished_property_set_id = "PublicStrings"
    property_name = "roomsops-revision"
    property_type = "String"


def register_tags() -> None:
    """Make the tags fields of CalendarItem (process-wide, once)."""
    names = {f.name for f in CalendarItem.FIELDS}
    if INSTALLATION not in names:
        CalendarItem.register(INSTALLATION, InstallationTag)
    if BOOKING not in names:
        CalendarItem.register(BOOKING, BookingTag)
    if REVISION not in names:
        CalendarItem.register(REVISION, RevisionTag)
