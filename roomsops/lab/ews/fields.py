"""Calendar item properties: FieldURI ↔ CalendarItem, parsed from requests and written in schema order.

`FIELDS` lists the properties the lab keeps in the order of ItemType then CalendarItemType (types.xsd): a
response is built by walking it, so element order is right by construction. Properties a client may ask for
that the lab does not keep (MimeContent, EffectiveRights, ...) are left out of answers, which Exchange also does
for properties an item does not have.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from roomsops.lab.ews import series
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.soap import (
    T_NS,
    Element,
    child,
    format_datetime,
    local_name,
    parse_bool,
    parse_datetime,
    parse_int,
    t,
    t_opt,
    xml_bool,
)
from roomsops.lab.ews.store import Attendee, CalendarItem, ExtendedProperty, OccurrenceItem, folder_id

SENSITIVITIES = ("Normal", "Personal", "Private", "Confidential")
IMPORTANCES = ("Low", "Normal", "High")
FREE_BUSY = ("Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData")
BODY_TYPES = ("Text", "HTML")
MAX_SUBJECT = 255
EXTENDED_PATH_ATTRIBUTES = (
    "DistinguishedPropertySetId",
    "PropertySetId",
    "PropertyTag",
    "PropertyName",
    "PropertyId",
    "PropertyType",
)


@dataclass(frozen=True)
class View:
    """How an answer shows items: FindItem leaves out bodies and recipient lists and names the organizer only
    (finditem-operation.md); SyncFolderItems leaves out bodies (syncfolderitems-operation.md)."""

    mailbox_id: str
    find: bool = False
    sync: bool = False


Render = Callable[[CalendarItem, View], Element | None]
Parse = Callable[[CalendarItem, Element], None]


@dataclass(frozen=True)
class Field:
    uri: str  # FieldURI, e.g. "item:Subject"
    element: str  # the element's local name in t:CalendarItem
    render: Render
    value: Callable[[CalendarItem], object] | None = None  # typed value for restrictions and sorting
    parse: Parse | None = None  # None: read-only
    reset: Callable[[CalendarItem], None] | None = None  # DeleteItemField
    append: Parse | None = None  # AppendToItemField
    default_shape: bool = False  # part of BaseShape Default
    hidden_in_find: bool = False
    hidden_in_sync: bool = False


# --- value helpers -----------------------------------------------------------------------------------------


def _enum(value: str | None, allowed: Iterable[str], name: str) -> str:
    text = (value or "").strip()
    if text not in allowed:
        raise EwsError.schema(f"'{text}' is not a valid value for {name}")
    return text


def _text(element: Element) -> str:
    return element.text or ""


def _when(value: str) -> dt.datetime:
    return parse_datetime(value, "dateTime")


def _duration(item: CalendarItem) -> str:
    seconds = int((_when(item.end) - _when(item.start)).total_seconds())
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else ("" if days else "T0S"))


def mailbox_element(person: Attendee, *, name_only: bool = False) -> Element:
    """A t:Mailbox (EmailAddressType): Name, EmailAddress, RoutingType, MailboxType in schema order."""
    if name_only:
        return t("Mailbox", t("Name", text=person.name))
    return t(
        "Mailbox",
        t("Name", text=person.name),
        t("EmailAddress", text=person.email),
        t("RoutingType", text="SMTP"),
        t("MailboxType", text=person.mailbox_type),
    )


def parse_mailbox(element: Element) -> Attendee:
    """An EmailAddressType (t:Mailbox) as an Attendee without response; the address is required."""
    email = (element.findtext(f"{{{T_NS}}}EmailAddress") or "").strip()
    if not email:
        raise EwsError(
            "ErrorInvalidRecipients", "At least one recipient isn't valid: the e-mail address is missing."
        )
    name = (element.findtext(f"{{{T_NS}}}Name") or "").strip()
    return Attendee(email=email, name=name or email)


def parse_attendees(element: Element) -> list[Attendee]:
    attendees = []
    for attendee in element.findall(f"{{{T_NS}}}Attendee"):
        mailbox = child(attendee, T_NS, "Mailbox")
        if mailbox is None:
            raise EwsError.schema("Attendee needs a Mailbox")
        attendees.append(parse_mailbox(mailbox))
    return attendees


def _attendees_element(tag: str, attendees: list[Attendee], view: View) -> Element | None:
    if not attendees or view.find:
        return None
    return t(
        tag,
        *(
            t(
                "Attendee",
                mailbox_element(a),
                t("ResponseType", text=a.response),
                t_opt("LastResponseTime", a.last_response_time),
            )
            for a in attendees
        ),
    )


def _time_zone(tag: str, zone: str | None, name: str | None) -> Element | None:
    if zone is None:
        return None
    return t(tag, **({"Id": zone} | ({"Name": name} if name else {})))


# --- extended properties -------------------------------------------------------------------------------


def parse_extended_path(element: Element) -> ExtendedProperty:
    """An ExtendedFieldURI as a valueless ExtendedProperty (its path)."""
    attrs = element.attrib
    prop = ExtendedProperty(
        property_type=attrs.get("PropertyType", ""),
        distinguished_set_id=attrs.get("DistinguishedPropertySetId"),
        property_set_id=attrs.get("PropertySetId"),
        property_tag=attrs.get("PropertyTag"),
        property_name=attrs.get("PropertyName"),
        property_id=attrs.get("PropertyId"),
    )
    named = (prop.distinguished_set_id or prop.property_set_id) and (prop.property_name or prop.property_id)
    if not prop.property_type or not (named or prop.property_tag):
        raise EwsError.schema(
            "ExtendedFieldURI needs PropertyType and either a property set with a name or id, or a tag"
        )
    return prop


def parse_extended_property(element: Element) -> ExtendedProperty:
    uri = child(element, T_NS, "ExtendedFieldURI")
    if uri is None:
        raise EwsError.schema("ExtendedProperty needs an ExtendedFieldURI")
    prop = parse_extended_path(uri)
    value = child(element, T_NS, "Value")
    values = child(element, T_NS, "Values")
    if value is not None:
        prop.value = _text(value)
    elif values is not None:
        prop.values = [_text(v) for v in values.findall(f"{{{T_NS}}}Value")]
    else:
        raise EwsError.schema("ExtendedProperty needs a Value or Values")
    return prop


def extended_uri_element(prop: ExtendedProperty) -> Element:
    names = {
        "DistinguishedPropertySetId": prop.distinguished_set_id,
        "PropertySetId": prop.property_set_id,
        "PropertyTag": prop.property_tag,
        "PropertyName": prop.property_name,
        "PropertyId": prop.property_id,
        "PropertyType": prop.property_type,
    }
    return t("ExtendedFieldURI", **{k: v for k, v in names.items() if v is not None})


def extended_property_element(prop: ExtendedProperty) -> Element:
    if prop.values is not None:
        payload = t("Values", *(t("Value", text=v) for v in prop.values))
    else:
        payload = t("Value", text=prop.value or "")
    return t("ExtendedProperty", extended_uri_element(prop), payload)


def set_extended(item: CalendarItem, prop: ExtendedProperty) -> None:
    item.extended = [p for p in item.extended if p.path() != prop.path()] + [prop]


def find_extended(item: CalendarItem, path: ExtendedProperty) -> ExtendedProperty | None:
    return next((p for p in item.extended if p.path() == path.path()), None)


# --- the property table -------------------------------------------------------------------------------


def _set(name: str, convert: Callable[[Element], object]) -> Parse:
    def parse(item: CalendarItem, element: Element) -> None:
        setattr(item, name, convert(element))

    return parse


def _reset(name: str, value: object) -> Callable[[CalendarItem], None]:
    def reset(item: CalendarItem) -> None:
        setattr(item, name, list(value) if isinstance(value, list) else value)

    return reset


def _parse_body(item: CalendarItem, element: Element) -> None:
    item.body = _text(element)
    item.body_type = _enum(element.get("BodyType", "Text"), BODY_TYPES, "BodyType")


def _append_body(item: CalendarItem, element: Element) -> None:
    item.body = (item.body or "") + _text(element)


def _parse_categories(element: Element) -> list[str]:
    return [_text(s) for s in element.findall(f"{{{T_NS}}}String")]


def _append_categories(item: CalendarItem, element: Element) -> None:
    item.categories = [*item.categories, *_parse_categories(element)]


def _attendee_field(name: str) -> tuple[Parse, Parse]:
    def parse(item: CalendarItem, element: Element) -> None:
        setattr(item, name, parse_attendees(element))

    def append(item: CalendarItem, element: Element) -> None:
        known = {a.email.casefold() for a in getattr(item, name)}
        added = [a for a in parse_attendees(element) if a.email.casefold() not in known]
        setattr(item, name, [*getattr(item, name), *added])

    return parse, append


def _parse_time_zone(which: str) -> Parse:
    def parse(item: CalendarItem, element: Element) -> None:
        # The Id names the zone; a definition without one (periods and transitions only) is read as UTC, the
        # lab reading no transitions (unverified).
        setattr(item, f"{which}_time_zone", element.get("Id") or None)
        setattr(item, f"{which}_time_zone_name", element.get("Name"))

    return parse


def _reminder_due(item: CalendarItem) -> str | None:
    """ReminderDueBy as it was set; unset, the event's start (the reminder fires ReminderMinutesBeforeStart
    before it): Exchange does not subtract the minutes (reminderdueby.md)."""
    if not item.reminder_is_set:
        return None
    return item.reminder_due_by or item.start


def _appointment_state(item: CalendarItem) -> int:
    # AppointmentState bits: 1 meeting, 2 received (an attendee's copy), 4 cancelled.
    return (
        (1 if item.is_meeting else 0) | (2 if not item.is_organizer else 0) | (4 if item.is_cancelled else 0)
    )


_required = _attendee_field("required")
_optional = _attendee_field("optional")
_resources = _attendee_field("resources")


def _names(attendees: list[Attendee]) -> str | None:
    return "; ".join(a.name for a in attendees) or None


FIELDS: tuple[Field, ...] = (
    # ItemType
    Field(
        "item:ItemId",
        "ItemId",
        lambda i, v: t("ItemId", Id=i.id, ChangeKey=i.change_key),
        default_shape=True,
    ),
    Field(
        "item:ParentFolderId",
        "ParentFolderId",
        lambda i, v: t("ParentFolderId", Id=folder_id(v.mailbox_id, i.folder), ChangeKey="AQAAAA=="),
        default_shape=True,
    ),
    Field(
        "item:ItemClass", "ItemClass", lambda i, v: t("ItemClass", text="IPM.Appointment"), default_shape=True
    ),
    Field(
        "item:Subject",
        "Subject",
        lambda i, v: t_opt("Subject", i.subject),
        value=lambda i: i.subject or "",
        # Exchange keeps at most 255 characters of a subject (PidTagSubject's limit in Exchange Online).
        parse=_set("subject", lambda e: _text(e)[:MAX_SUBJECT]),
        reset=_reset("subject", None),
        default_shape=True,
    ),
    Field(
        "item:Sensitivity",
        "Sensitivity",
        lambda i, v: t("Sensitivity", text=i.sensitivity),
        value=lambda i: i.sensitivity,
        parse=_set("sensitivity", lambda e: _enum(e.text, SENSITIVITIES, "Sensitivity")),
        reset=_reset("sensitivity", "Normal"),
        default_shape=True,
    ),
    Field(
        "item:Body",
        "Body",
        lambda i, v: None if v.find or v.sync else t("Body", text=i.body or "", BodyType=i.body_type),
        parse=_parse_body,
        reset=_reset("body", None),
        append=_append_body,
        hidden_in_find=True,
        hidden_in_sync=True,
    ),
    Field("item:DateTimeReceived", "DateTimeReceived", lambda i, v: t("DateTimeReceived", text=i.created)),
    Field(
        "item:Categories",
        "Categories",
        lambda i, v: t("Categories", *(t("String", text=c) for c in i.categories)) if i.categories else None,
        parse=_set("categories", _parse_categories),
        reset=_reset("categories", []),
        append=_append_categories,
    ),
    Field(
        "item:Importance",
        "Importance",
        lambda i, v: t("Importance", text=i.importance),
        value=lambda i: i.importance,
        parse=_set("importance", lambda e: _enum(e.text, IMPORTANCES, "Importance")),
        reset=_reset("importance", "Normal"),
    ),
    Field("item:IsSubmitted", "IsSubmitted", lambda i, v: t("IsSubmitted", text="false")),
    Field("item:IsDraft", "IsDraft", lambda i, v: t("IsDraft", text="false")),
    Field("item:IsFromMe", "IsFromMe", lambda i, v: t("IsFromMe", text="false")),
    Field("item:IsResend", "IsResend", lambda i, v: t("IsResend", text="false")),
    Field(
        "item:IsUnmodified",
        "IsUnmodified",
        lambda i, v: t("IsUnmodified", text=xml_bool(i.created == i.modified)),
    ),
    Field("item:DateTimeSent", "DateTimeSent", lambda i, v: t("DateTimeSent", text=i.created)),
    Field(
        "item:DateTimeCreated",
        "DateTimeCreated",
        lambda i, v: t("DateTimeCreated", text=i.created),
        value=lambda i: _when(i.created),
    ),
    Field(
        "item:ReminderDueBy",
        "ReminderDueBy",
        lambda i, v: t_opt("ReminderDueBy", _reminder_due(i)),
        parse=_set("reminder_due_by", lambda e: format_datetime(parse_datetime(e.text, "ReminderDueBy"))),
        reset=_reset("reminder_due_by", None),
    ),
    Field(
        "item:ReminderIsSet",
        "ReminderIsSet",
        lambda i, v: t("ReminderIsSet", text=xml_bool(i.reminder_is_set)),
        value=lambda i: i.reminder_is_set,
        parse=_set("reminder_is_set", lambda e: parse_bool(e.text, "ReminderIsSet")),
        reset=_reset("reminder_is_set", False),
    ),
    Field(
        "item:ReminderMinutesBeforeStart",
        "ReminderMinutesBeforeStart",
        lambda i, v: t("ReminderMinutesBeforeStart", text=str(i.reminder_minutes)),
        value=lambda i: i.reminder_minutes,
        parse=_set("reminder_minutes", lambda e: parse_int(e.text, "ReminderMinutesBeforeStart")),
        reset=_reset("reminder_minutes", 15),
    ),
    Field("item:DisplayCc", "DisplayCc", lambda i, v: t_opt("DisplayCc", _names(i.optional))),
    Field("item:DisplayTo", "DisplayTo", lambda i, v: t_opt("DisplayTo", _names(i.required))),
    Field(
        "item:HasAttachments",
        "HasAttachments",
        lambda i, v: t("HasAttachments", text="false"),
        default_shape=True,
    ),
    # (ExtendedProperty elements go here, see render_item.)
    Field("item:Culture", "Culture", lambda i, v: t("Culture", text="en-US")),
    Field(
        "item:LastModifiedTime",
        "LastModifiedTime",
        lambda i, v: t("LastModifiedTime", text=i.modified),
        value=lambda i: _when(i.modified),
    ),
    Field(
        "item:IsAssociated", "IsAssociated", lambda i, v: t("IsAssociated", text="false"), default_shape=True
    ),
    # CalendarItemType
    Field(
        "calendar:UID",
        "UID",
        lambda i, v: t("UID", text=i.uid),
        value=lambda i: i.uid,
        parse=_set("uid", lambda e: _text(e).strip()),
    ),
    Field(
        "calendar:RecurrenceId",
        "RecurrenceId",
        lambda i, v: t("RecurrenceId", text=i.original_start) if isinstance(i, OccurrenceItem) else None,
    ),
    Field(
        "calendar:Start",
        "Start",
        lambda i, v: t("Start", text=i.start),
        value=lambda i: _when(i.start),
        parse=_set("start", lambda e: format_datetime(parse_datetime(e.text, "Start"))),
        default_shape=True,
    ),
    Field(
        "calendar:End",
        "End",
        lambda i, v: t("End", text=i.end),
        value=lambda i: _when(i.end),
        parse=_set("end", lambda e: format_datetime(parse_datetime(e.text, "End"))),
        default_shape=True,
    ),
    Field(
        "calendar:OriginalStart",
        "OriginalStart",
        lambda i, v: t("OriginalStart", text=i.original_start) if isinstance(i, OccurrenceItem) else None,
    ),
    Field(
        "calendar:IsAllDayEvent",
        "IsAllDayEvent",
        lambda i, v: t("IsAllDayEvent", text=xml_bool(i.is_all_day)),
        value=lambda i: i.is_all_day,
        parse=_set("is_all_day", lambda e: parse_bool(e.text, "IsAllDayEvent")),
        reset=_reset("is_all_day", False),
    ),
    Field(
        "calendar:LegacyFreeBusyStatus",
        "LegacyFreeBusyStatus",
        lambda i, v: t("LegacyFreeBusyStatus", text=i.free_busy),
        value=lambda i: i.free_busy,
        parse=_set("free_busy", lambda e: _enum(e.text, FREE_BUSY, "LegacyFreeBusyStatus")),
        reset=_reset("free_busy", "Busy"),
        default_shape=True,
    ),
    Field(
        "calendar:Location",
        "Location",
        lambda i, v: t_opt("Location", i.location),
        value=lambda i: i.location or "",
        parse=_set("location", _text),
        reset=_reset("location", None),
        default_shape=True,
    ),
    Field(
        "calendar:IsMeeting",
        "IsMeeting",
        lambda i, v: t("IsMeeting", text=xml_bool(i.is_meeting)),
        value=lambda i: i.is_meeting,
    ),
    Field(
        "calendar:IsCancelled",
        "IsCancelled",
        lambda i, v: t("IsCancelled", text=xml_bool(i.is_cancelled)),
        value=lambda i: i.is_cancelled,
    ),
    Field(
        "calendar:IsRecurring",
        "IsRecurring",
        lambda i, v: t("IsRecurring", text=xml_bool(series.is_recurring(i))),
        value=series.is_recurring,
    ),
    Field(
        "calendar:MeetingRequestWasSent",
        "MeetingRequestWasSent",
        lambda i, v: t("MeetingRequestWasSent", text=xml_bool(i.meeting_request_was_sent)),
    ),
    Field(
        "calendar:IsResponseRequested",
        "IsResponseRequested",
        lambda i, v: t("IsResponseRequested", text=xml_bool(i.is_response_requested)),
        parse=_set("is_response_requested", lambda e: parse_bool(e.text, "IsResponseRequested")),
    ),
    Field(
        "calendar:CalendarItemType",
        "CalendarItemType",
        lambda i, v: t("CalendarItemType", text=series.item_type(i)),
        value=series.item_type,
        default_shape=True,
    ),
    Field(
        "calendar:MyResponseType",
        "MyResponseType",
        lambda i, v: t("MyResponseType", text=i.my_response),
        value=lambda i: i.my_response,
    ),
    Field(
        "calendar:Organizer",
        "Organizer",
        lambda i, v: t("Organizer", mailbox_element(i.organizer, name_only=v.find)),
        default_shape=True,
    ),
    Field(
        "calendar:RequiredAttendees",
        "RequiredAttendees",
        lambda i, v: _attendees_element("RequiredAttendees", i.required, v),
        parse=_required[0],
        reset=_reset("required", []),
        append=_required[1],
        hidden_in_find=True,
    ),
    Field(
        "calendar:OptionalAttendees",
        "OptionalAttendees",
        lambda i, v: _attendees_element("OptionalAttendees", i.optional, v),
        parse=_optional[0],
        reset=_reset("optional", []),
        append=_optional[1],
        hidden_in_find=True,
    ),
    Field(
        "calendar:Resources",
        "Resources",
        lambda i, v: _attendees_element("Resources", i.resources, v),
        parse=_resources[0],
        reset=_reset("resources", []),
        append=_resources[1],
        hidden_in_find=True,
    ),
    Field("calendar:Duration", "Duration", lambda i, v: t("Duration", text=_duration(i))),
    Field(
        "calendar:AppointmentSequenceNumber",
        "AppointmentSequenceNumber",
        lambda i, v: t("AppointmentSequenceNumber", text=str(i.sequence)),
        value=lambda i: i.sequence,
    ),
    Field(
        "calendar:AppointmentState",
        "AppointmentState",
        lambda i, v: t("AppointmentState", text=str(_appointment_state(i))),
        value=_appointment_state,
    ),
    Field(
        "calendar:Recurrence",
        "Recurrence",
        lambda i, v: series.recurrence_element(i.recurrence) if i.recurrence is not None else None,
        parse=_set("recurrence", series.parse_recurrence),
        reset=_reset("recurrence", None),
    ),
    Field("calendar:FirstOccurrence", "FirstOccurrence", lambda i, v: series.first_occurrence(i)),
    Field("calendar:LastOccurrence", "LastOccurrence", lambda i, v: series.last_occurrence(i)),
    Field("calendar:ModifiedOccurrences", "ModifiedOccurrences", lambda i, v: series.modified_occurrences(i)),
    Field("calendar:DeletedOccurrences", "DeletedOccurrences", lambda i, v: series.deleted_occurrences(i)),
    Field(
        "calendar:StartTimeZone",
        "StartTimeZone",
        lambda i, v: _time_zone("StartTimeZone", i.start_time_zone, i.start_time_zone_name),
        parse=_parse_time_zone("start"),
    ),
    Field(
        "calendar:EndTimeZone",
        "EndTimeZone",
        lambda i, v: _time_zone("EndTimeZone", i.end_time_zone, i.end_time_zone_name),
        parse=_parse_time_zone("end"),
    ),
    Field("calendar:IsOnlineMeeting", "IsOnlineMeeting", lambda i, v: t("IsOnlineMeeting", text="false")),
    Field(
        "calendar:IsOrganizer",
        "IsOrganizer",
        lambda i, v: t("IsOrganizer", text=xml_bool(i.is_organizer)),
        value=lambda i: i.is_organizer,
    ),
)

BY_URI = {f.uri: f for f in FIELDS}
BY_ELEMENT = {f.element: f for f in FIELDS}
#: Where ExtendedProperty elements go: right after HasAttachments (ItemType's sequence).
_EXTENDED_AFTER = FIELDS.index(BY_URI["item:HasAttachments"])

#: Elements a client may send in a CalendarItem that the lab accepts and ignores (no meaning for a single item).
IGNORED_ELEMENTS = frozenset(
    {
        "MimeContent",
        "ItemClass",
        "Culture",
        "MeetingTimeZone",
        "AllowNewTimeProposal",
        "IsOnlineMeeting",
        "MeetingWorkspaceUrl",
        "NetShowUrl",
        "ConferenceType",
        "InReplyTo",
        "IsDraft",
        "EffectiveRights",
    }
)


@dataclass(frozen=True)
class Shape:
    """What an answer includes: BaseShape plus AdditionalProperties (FieldURIs and ExtendedFieldURIs)."""

    base: str = "IdOnly"  # IdOnly | Default | AllProperties
    uris: frozenset[str] = frozenset()
    extended: tuple[ExtendedProperty, ...] = field(default_factory=tuple)

    def includes(self, f: Field) -> bool:
        if f.uri == "item:ItemId" or f.uri in self.uris or self.base == "AllProperties":
            return True
        return self.base == "Default" and f.default_shape


def render_item(item: CalendarItem, shape: Shape, view: View) -> Element:
    """The t:CalendarItem with the properties `shape` asks for, in schema order."""
    element = t("CalendarItem")
    for index, f in enumerate(FIELDS):
        if shape.includes(f):
            rendered = f.render(item, view)
            if rendered is not None:
                element.append(rendered)
        if index == _EXTENDED_AFTER:
            for path in shape.extended:
                found = find_extended(item, path)
                if found is not None:
                    element.append(extended_property_element(found))
    return element


def apply_properties(item: CalendarItem, source: Element, *, append: bool = False) -> None:
    """Set (or append to) the item's properties from the children of a request's t:CalendarItem."""
    for element in source:
        name = local_name(element.tag)
        if name == "ExtendedProperty":
            set_extended(item, parse_extended_property(element))
            continue
        f = BY_ELEMENT.get(name)
        handler = (f.append if append else f.parse) if f is not None else None
        if handler is None:
            if name in IGNORED_ELEMENTS and not append:
                continue
            raise EwsError(
                "ErrorInvalidPropertySet" if not append else "ErrorInvalidPropertyAppend",
                f"The property {name} cannot be {'appended to' if append else 'set'} on a calendar item.",
            )
        handler(item, element)
