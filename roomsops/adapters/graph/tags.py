"""The tag on every event roomsops writes, over Graph: the same three PublicStrings named properties as over EWS
(`roomsops.adapters.ews.tags`), as Graph names them in `singleValueExtendedProperties` — `String {<PublicStrings'
GUID>} Name <name>` (graph/api/resources/extended-properties-overview). One property, two faces: a meeting tagged
over EWS is found over Graph and back, which is what lets a mailbox move from EWS to Graph without a duplicate.
"""

from __future__ import annotations

#: PS_PUBLIC_STRINGS, EWS's DistinguishedPropertySetId "PublicStrings" (MS-OXPROPS).
PUBLIC_STRINGS = "00020329-0000-0000-C000-000000000046"

#: Names as in adapters/ews/tags.py (InstallationTag, BookingTag, RevisionTag).
INSTALLATION = f"String {{{PUBLIC_STRINGS}}} Name roomsops-installation"
BOOKING = f"String {{{PUBLIC_STRINGS}}} Name roomsops-booking"
REVISION = f"String {{{PUBLIC_STRINGS}}} Name roomsops-revision"
TAGS = (INSTALLATION, BOOKING, REVISION)


def same_property(a: str, b: str) -> bool:
    """Graph answers property ids in its own spelling (the GUID's case): compare them as Graph does."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def expand(*ids: str) -> str:
    """The `$expand` value that returns these extended properties with each event."""
    return "singleValueExtendedProperties($filter=" + " or ".join(f"id eq '{i}'" for i in ids) + ")"


def has_value(property_id: str, value: str) -> str:
    """The `$filter` for events whose property `property_id` has `value`."""
    quoted = value.replace("'", "''")
    return f"singleValueExtendedProperties/Any(ep: ep/id eq '{property_id}' and ep/value eq '{quoted}')"


def values(event: dict[str, object]) -> dict[str, str | None]:
    """The tag values an event carries (its expanded extended properties), by the ids above."""
    found: dict[str, str | None] = dict.fromkeys(TAGS)
    for prop in event.get("singleValueExtendedProperties") or []:  # type: ignore[attr-defined]
        if not isinstance(prop, dict):
            continue
        for tag in TAGS:
            if same_property(str(prop.get("id", "")), tag):
                value = prop.get("value")
                found[tag] = str(value) if value is not None else None
    return found
