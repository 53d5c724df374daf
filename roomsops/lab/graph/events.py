"""An EWS store item as Graph's `event` JSON, and Graph's event JSON applied to a store item.

Property names, types and enum members are the v1.0 metadata's (tests check every answer against it); the mapping
from EWS values (ResponseType, LegacyFreeBusyType, CalendarItemType, RecurrenceType) is Microsoft's documented
correspondence of the two APIs' enums (graph/api/resources/event, ews-ref/*), see FIDELITY.md "Graph".
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.recurrence import (
    DAY_GROUPS,
    DAYS,
    INDEXES,
    MONTHS,
    Recurrence,
    check,
    known_zone,
    zone,
)
from roomsops.lab.ews.series import item_type
from roomsops.lab.ews.store import Attendee, CalendarItem, ExtendedProperty, OccurrenceItem
from roomsops.lab.graph.errors import GraphError, bad_request
from roomsops.lab.graph.ids import immutable_id, rest_id

RESPONSES = {
    "Unknown": "none",
    "Organizer": "organizer",
    "Tentative": "tentativelyAccepted",
    "Accept": "accepted",
    "Decline": "declined",
    "NoResponseReceived": "notResponded",
}
SHOW_AS = {
    "Free": "free",
    "Tentative": "tentative",
    "Busy": "busy",
    "OOF": "oof",
    "WorkingElsewhere": "workingElsewhere",
    "NoData": "unknown",
}
EVENT_TYPES = {
    "Single": "singleInstance",
    "Occurrence": "occurrence",
    "Exception": "exception",
    "RecurringMaster": "seriesMaster",
}
PATTERN_TYPES = {
    "DailyRecurrence": "daily",
    "WeeklyRecurrence": "weekly",
    "AbsoluteMonthlyRecurrence": "absoluteMonthly",
    "RelativeMonthlyRecurrence": "relativeMonthly",
    "AbsoluteYearlyRecurrence": "absoluteYearly",
    "RelativeYearlyRecurrence": "relativeYearly",
}
RANGE_TYPES = {"NoEndRecurrence": "noEnd", "EndDateRecurrence": "endDate", "NumberedRecurrence": "numbered"}
LEVELS = ("low", "normal", "high")
SENSITIVITIES = ("normal", "personal", "private", "confidential")
NO_TIME = "0001-01-01T00:00:00Z"

#: Graph's GUIDs of the distinguished property sets (graph/api/resources/extended-properties-overview; MS-OXPROPS).
PROPERTY_SETS = {
    "PublicStrings": "00020329-0000-0000-c000-000000000046",
    "Common": "00062008-0000-0000-c000-000000000046",
    "Appointment": "00062002-0000-0000-c000-000000000046",
    "Meeting": "6ed8da90-450b-101b-98da-00aa003f1305",
    "InternetHeaders": "00020386-0000-0000-c000-000000000046",
}
_BY_GUID = {guid: name for name, guid in PROPERTY_SETS.items()}
_PROP_ID = re.compile(
    r"^\s*(?P<type>\w+)\s+(?:\{(?P<guid>[0-9a-fA-F-]{36})\}\s+(?P<kind>Name|Id)\s+(?P<name>.+?)|(?P<tag>0x[0-9a-fA-F]{1,4}))\s*$"
)

#: What a client may write (POST, PATCH) of an event; the lab refuses other properties as Graph does.
WRITABLE = {
    "subject",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "attendees",
    "isAllDay",
    "showAs",
    "sensitivity",
    "importance",
    "categories",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "responseRequested",
    "recurrence",
    "transactionId",
    "singleValueExtendedProperties",
    "allowNewTimeProposals",
    "isOnlineMeeting",
    "hideAttendees",
}


@dataclass(frozen=True)
class View:
    """How a request wants events: the time zone of start/end (Prefer: outlook.timezone), immutable ids, the
    extended properties to include ($expand; None: none, empty tuple: all) and the mailbox id."""

    mailbox_id: str
    time_zone: str = "UTC"
    immutable: bool = False
    expand: tuple[str, ...] | None = None


def event_id(view: View, item: CalendarItem) -> str:
    return immutable_id(view.mailbox_id, item) if view.immutable else rest_id(item.id)


def graph_time(utc: str, time_zone: str) -> dict[str, str]:
    moment = dt.datetime.fromisoformat(utc.replace("Z", "+00:00"))
    local = moment.astimezone(zone(time_zone)) if time_zone != "UTC" else moment
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": time_zone}


def _local(utc: str, time_zone: str | None) -> dt.datetime:
    moment = dt.datetime.fromisoformat(utc.replace("Z", "+00:00"))
    return moment.astimezone(zone(time_zone)) if time_zone and time_zone != "UTC" else moment


def _all_day_time(utc: str, own_zone: str | None, view_zone: str) -> dict[str, str]:
    """An all-day event's boundary is a date, not an instant: midnight of its date in the zone it was made in,
    answered as that date's midnight whatever zone the client prefers (Microsoft Q&A 970878; review23b)."""
    return {"dateTime": _local(utc, own_zone).strftime("%Y-%m-%dT00:00:00.0000000"), "timeZone": view_zone}


def check_all_day(item: CalendarItem) -> None:
    """graph/api/resources/event (isAllDay): start and end at midnight, in the same time zone, at least a day."""
    if not item.is_all_day:
        return
    start = _local(item.start, item.start_time_zone)
    end = _local(item.end, item.end_time_zone or item.start_time_zone)
    if (
        (item.end_time_zone or item.start_time_zone) != item.start_time_zone
        or start.time() != dt.time(0)
        or end.time() != dt.time(0)
        or end.date() <= start.date()
    ):
        raise bad_request(
            "An all-day event's start and end must be at midnight in the same time zone, at least one day apart.",
            "ErrorPropertyValidationFailure",
        )


def offset_time(utc: str) -> str:
    """An Edm.DateTimeOffset as Graph writes them (UTC, seven fraction digits)."""
    moment = dt.datetime.fromisoformat(utc.replace("Z", "+00:00"))
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _attendee(attendee: Attendee, kind: str) -> dict[str, Any]:
    status: dict[str, Any] = {"response": RESPONSES.get(attendee.response, "none"), "time": NO_TIME}
    if attendee.last_response_time:
        status["time"] = offset_time(attendee.last_response_time)
    return {
        "type": kind,
        "status": status,
        "emailAddress": {"name": attendee.name or attendee.email, "address": attendee.email},
    }


def _location(name: str) -> dict[str, Any]:
    return {"displayName": name, "locationType": "default", "uniqueIdType": "unknown"}


def recurrence_json(rec: Recurrence, time_zone: str | None) -> dict[str, Any]:
    pattern: dict[str, Any] = {
        "type": PATTERN_TYPES[rec.pattern],
        "interval": rec.interval,
        "month": MONTHS.index(rec.month) + 1 if rec.month in MONTHS else 0,
        "dayOfMonth": rec.day_of_month,
        "firstDayOfWeek": rec.first_day_of_week.lower(),
        "index": (rec.day_of_week_index or "First").lower(),
    }
    days = [d for name in rec.days_of_week for d in DAY_GROUPS.get(name, (name,))]
    if days:
        pattern["daysOfWeek"] = [d.lower() for d in days]
    boundary = {
        "type": RANGE_TYPES[rec.range],
        "startDate": rec.start_date,
        "endDate": rec.end_date if rec.end_date else "0001-01-01",
        "recurrenceTimeZone": time_zone or "UTC",
        "numberOfOccurrences": rec.number or 0,
    }
    return {"pattern": pattern, "range": boundary}


def property_id(prop: ExtendedProperty) -> str:
    """Graph's id of an extended property: `{type} {guid} Name {name}`, `... Id 0x...` or `{type} 0x{tag}`."""
    kind = prop.property_type
    if prop.property_tag:
        return f"{kind} {prop.property_tag}"
    guid = PROPERTY_SETS.get(prop.distinguished_set_id or "", prop.property_set_id or "")
    if prop.property_name is not None:
        return f"{kind} {{{guid}}} Name {prop.property_name}"
    return f"{kind} {{{guid}}} Id {prop.property_id}"


def normal_property_id(value: str) -> str:
    """A property id compared as Graph does: type, GUID and tag case-insensitively, a name as written."""
    found = _PROP_ID.match(value)
    if found is None:
        raise bad_request(f"'{value}' is not a valid extended property id.", "ErrorInvalidProperty")
    if found.group("tag"):
        return f"{found.group('type').lower()} {int(found.group('tag'), 16):#06x}"
    name = found.group("name") if found.group("kind") == "Name" else found.group("name").lower()
    return f"{found.group('type').lower()} {{{found.group('guid').lower()}}} {found.group('kind')} {name}"


def _check_property_value(kind: str, raw: str | None) -> None:
    """An extended property's value must be one of its type (the string form Graph reads and writes)."""
    if raw is None:
        return
    ok = True
    if kind.lower() in ("integer", "long", "short"):
        ok = re.fullmatch(r"[+-]?\d+", raw.strip()) is not None
    elif kind.lower() == "boolean":
        ok = raw.strip().lower() in ("true", "false")
    elif kind.lower() in ("double", "float", "currency"):
        try:
            float(raw)
        except ValueError:
            ok = False
    if not ok:
        raise bad_request(
            f"The value '{raw}' is not valid for an extended property of type {kind}.",
            "ErrorInvalidExtendedPropertyValue",
        )


def parse_property(value: Mapping[str, Any]) -> ExtendedProperty:
    if not isinstance(value, Mapping) or not isinstance(value.get("id"), str):
        raise bad_request("An extended property needs an id and a value.")
    found = _PROP_ID.match(value["id"])
    if found is None:
        raise bad_request(f"'{value['id']}' is not a valid extended property id.", "ErrorInvalidProperty")
    raw = value.get("value")
    if raw is not None and not isinstance(raw, str):
        raise bad_request(f"Cannot convert the literal '{raw}' to the expected type 'Edm.String'.")
    _check_property_value(found.group("type"), raw)
    prop = ExtendedProperty(property_type=found.group("type"), value=raw)
    if found.group("tag"):
        prop.property_tag = f"{int(found.group('tag'), 16):#06x}"
        return prop
    guid = found.group("guid").lower()
    if guid in _BY_GUID:
        prop.distinguished_set_id = _BY_GUID[guid]
    else:
        prop.property_set_id = guid
    if found.group("kind") == "Name":
        prop.property_name = found.group("name")
    else:
        prop.property_id = found.group("name")
    return prop


def event_json(item: CalendarItem, view: View) -> dict[str, Any]:
    """The item as Graph's event (organizer's or attendee's copy; an OccurrenceItem as occurrence/exception)."""
    kind = EVENT_TYPES[item_type(item)]
    time_zone = view.time_zone
    body = item.body or ""
    event: dict[str, Any] = {
        "@odata.etag": f'W/"{item.change_key}"',
        "id": event_id(view, item),
        "createdDateTime": offset_time(item.created),
        "lastModifiedDateTime": offset_time(item.modified),
        "changeKey": item.change_key,
        "categories": list(item.categories),
        "transactionId": item.transaction_id,
        "originalStartTimeZone": item.start_time_zone or "UTC",
        "originalEndTimeZone": item.end_time_zone or item.start_time_zone or "UTC",
        "iCalUId": item.uid,
        "reminderMinutesBeforeStart": item.reminder_minutes,
        "isReminderOn": item.reminder_is_set,
        "hasAttachments": False,
        "subject": item.subject or "",
        "bodyPreview": html.unescape(re.sub(r"<[^>]+>", "", body))[:255]
        if item.body_type == "HTML"
        else body[:255],
        "importance": item.importance.lower() if item.importance.lower() in LEVELS else "normal",
        "sensitivity": item.sensitivity.lower() if item.sensitivity.lower() in SENSITIVITIES else "normal",
        "isAllDay": item.is_all_day,
        "isCancelled": item.is_cancelled,
        "isOrganizer": item.is_organizer,
        "responseRequested": item.is_response_requested,
        "seriesMasterId": None,
        "showAs": SHOW_AS.get(item.free_busy, "unknown"),
        "type": kind,
        "webLink": f"https://outlook.office365.com/owa/?itemid={rest_id(item.id)}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {"response": RESPONSES.get(item.my_response, "none"), "time": NO_TIME},
        "body": {"contentType": "html" if item.body_type == "HTML" else "text", "content": body},
        "start": _all_day_time(item.start, item.start_time_zone, time_zone)
        if item.is_all_day
        else graph_time(item.start, time_zone),
        "end": _all_day_time(item.end, item.end_time_zone or item.start_time_zone, time_zone)
        if item.is_all_day
        else graph_time(item.end, time_zone),
        "location": _location(item.location or ""),
        "locations": [_location(item.location)] if item.location else [],
        "recurrence": None,
        "attendees": [
            *(_attendee(a, "required") for a in item.required),
            *(_attendee(a, "optional") for a in item.optional),
            *(_attendee(a, "resource") for a in item.resources),
        ],
        "organizer": {"emailAddress": {"name": item.organizer.name, "address": item.organizer.email}},
    }
    if isinstance(item, OccurrenceItem):
        master = CalendarItem.__new__(CalendarItem)
        # An occurrence carries its master's fields (series.as_item), the entry key too: the master's immutable
        # id derives from it.
        master.id, master.uid, master.entry_key = item.master_id, item.uid, item.entry_key
        event["seriesMasterId"] = event_id(view, master)
        event["originalStart"] = offset_time(item.original_start)
    elif item.recurrence is not None:
        event["recurrence"] = recurrence_json(item.recurrence, item.start_time_zone)
    if view.expand is not None:
        wanted = set(view.expand)
        event["singleValueExtendedProperties"] = [
            {"id": property_id(p), "value": p.value}
            for p in item.extended
            if p.values is None and (not wanted or normal_property_id(property_id(p)) in wanted)
        ]
    return event


# --- writes ----------------------------------------------------------------------------------------------


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.String'.")
    return value


def _bool(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Boolean'.")
    return value


def parse_time(value: Any, name: str) -> tuple[str, str]:
    """(UTC `...Z`, time zone) of a dateTimeTimeZone."""
    if not isinstance(value, Mapping) or not isinstance(value.get("dateTime"), str):
        raise bad_request(f"{name} needs a dateTimeTimeZone with a dateTime.")
    time_zone = value.get("timeZone") or "UTC"
    if not isinstance(time_zone, str) or (time_zone != "UTC" and not known_zone(time_zone)):
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. "
            f"The following TimeZone value is not supported: '{time_zone}'.",
        )
    text = value["dateTime"].strip()
    try:
        moment = dt.datetime.fromisoformat(text[:19] if len(text) > 19 and text[19] == "." else text)
    except ValueError:
        raise bad_request(f"'{text}' is not a valid dateTime for {name}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(time_zone) if time_zone != "UTC" else dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), time_zone


def _attendees(value: Any) -> tuple[list[Attendee], list[Attendee], list[Attendee]]:
    if not isinstance(value, list):
        raise bad_request("attendees must be a collection of attendee.")
    groups: dict[str, list[Attendee]] = {"required": [], "optional": [], "resource": []}
    for entry in value:
        address = (entry.get("emailAddress") or {}) if isinstance(entry, Mapping) else {}
        email = address.get("address") if isinstance(address, Mapping) else None
        if not isinstance(email, str) or "@" not in email:
            raise bad_request("An attendee needs an emailAddress with an address.", "ErrorInvalidRecipients")
        kind = entry.get("type") or "required"
        if kind not in groups:
            raise bad_request(f"Requested value '{kind}' was not found.")
        groups[kind].append(Attendee(email=email, name=str(address.get("name") or email)))
    return groups["required"], groups["optional"], groups["resource"]


def _int32(body: Mapping[str, Any], name: str, default: int) -> int:
    """An Edm.Int32 member (absent or null: `default`); anything else is a body Graph cannot read (400)."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**31) <= value < 2**31:
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Int32'.")
    return value


def _days(pattern: Mapping[str, Any]) -> tuple[list[str], str]:
    """A pattern's daysOfWeek and firstDayOfWeek as EWS names them; what is no dayOfWeek: 400."""
    raw = pattern.get("daysOfWeek") or []
    if not isinstance(raw, list):
        raise bad_request("daysOfWeek must be a collection of dayOfWeek.")
    days = [str(d).capitalize() for d in raw]
    if any(d not in DAYS for d in days):
        raise bad_request("daysOfWeek holds a day that does not exist.")
    first_day = str(pattern.get("firstDayOfWeek") or "sunday").capitalize()
    if first_day not in DAYS:
        raise bad_request(f"Requested value '{pattern.get('firstDayOfWeek')}' was not found.")
    return days, first_day


def _day_group(days: list[str]) -> list[str]:
    """A relative pattern's days: EWS's group name when they are exactly one (Day, Weekday, WeekendDay)."""
    chosen = set(days)
    for name, members in DAY_GROUPS.items():
        if chosen == set(members):
            return [name]
    return sorted(chosen, key=DAYS.index)


def parse_recurrence(value: Any) -> Recurrence:
    if not isinstance(value, Mapping) or not isinstance(value.get("pattern"), Mapping):
        raise bad_request("recurrence needs a pattern and a range.")
    pattern, boundary = value["pattern"], value.get("range")
    if not isinstance(boundary, Mapping):
        raise bad_request("recurrence needs a pattern and a range.")
    kinds = {v: k for k, v in PATTERN_TYPES.items()}
    ranges = {v: k for k, v in RANGE_TYPES.items()}
    if pattern.get("type") not in kinds or boundary.get("type") not in ranges:
        raise bad_request("The recurrence pattern or range type is not valid.")
    rec = Recurrence(
        pattern=kinds[pattern["type"]],
        range=ranges[boundary["type"]],
        start_date=str(boundary.get("startDate") or ""),
        interval=_int32(pattern, "interval", 1),
    )
    if rec.interval < 1:
        raise bad_request("The recurrence interval must be at least 1.")
    days, first_day = _days(pattern)
    if rec.pattern == "WeeklyRecurrence":
        rec.days_of_week = days
        rec.first_day_of_week = first_day
    elif rec.pattern.startswith("Relative"):
        if not days:
            raise bad_request("daysOfWeek is required for a relativeMonthly or relativeYearly pattern.")
        # graph/api/resources/recurrencepattern (index): "which instance of the allowed days specified in
        # daysOfWeek", so every listed day counts (monday..friday: the fourth weekday); a listing that is one of
        # EWS's day groups is kept as that group (DaysOfWeek Weekday, as EWS reads it, unverified).
        rec.days_of_week = _day_group(days)
        rec.day_of_week_index = str(pattern.get("index") or "first").capitalize()
        if rec.day_of_week_index not in INDEXES:
            raise bad_request("index is not a weekIndex.")
    if rec.pattern.startswith("Absolute"):
        rec.day_of_month = _int32(pattern, "dayOfMonth", 0)
    if rec.pattern.endswith("YearlyRecurrence"):
        month = _int32(pattern, "month", 0)
        if not 1 <= month <= 12:
            raise bad_request("month must be 1 to 12 for a yearly pattern.")
        rec.month = MONTHS[month - 1]
    if rec.range == "EndDateRecurrence":
        rec.end_date = str(boundary.get("endDate") or "")
    elif rec.range == "NumberedRecurrence":
        rec.number = _int32(boundary, "numberOfOccurrences", 0)
    try:
        check(rec)
    except EwsError as error:
        raise bad_request(error.text or "The recurrence is not valid.") from None
    return rec


def apply_event(item: CalendarItem, body: Mapping[str, Any]) -> None:
    """Apply an event's JSON (POST or PATCH) to a store item; unknown or read-only properties: 400."""
    for name in body:
        if name.startswith("@odata."):
            continue
        if name not in WRITABLE:
            raise bad_request(
                f"The property '{name}' does not exist on type 'microsoft.graph.event'. Make sure to only use "
                "property names that are defined by the type or mark the type as open type.",
                "RequestBodyRead",
            )
    _apply_content(item, body)
    _apply_flags(item, body)
    if "singleValueExtendedProperties" in body:
        values = body["singleValueExtendedProperties"]
        if not isinstance(values, list):
            raise bad_request("singleValueExtendedProperties must be a collection.")
        for value in values:
            prop = parse_property(value)
            item.extended = [p for p in item.extended if p.path() != prop.path()] + [prop]


def _apply_content(item: CalendarItem, body: Mapping[str, Any]) -> None:
    if "subject" in body:
        item.subject = _text(body, "subject")
    if "body" in body:
        content = body["body"] or {}
        if not isinstance(content, Mapping):
            raise bad_request("body must be an itemBody.")
        kind, text = content.get("contentType") or "text", content.get("content")
        if not isinstance(kind, str) or kind.lower() not in ("text", "html"):
            raise bad_request(f"Requested value '{kind}' was not found.")
        if text is not None and not isinstance(text, str):
            raise bad_request(f"Cannot convert the literal '{text}' to the expected type 'Edm.String'.")
        item.body = text or ""
        item.body_type = "HTML" if kind.lower() == "html" else "Text"
    if "start" in body:
        item.start, item.start_time_zone = parse_time(body["start"], "start")
    if "end" in body:
        item.end, item.end_time_zone = parse_time(body["end"], "end")
    if "location" in body:
        location = body["location"] or {}
        if not isinstance(location, Mapping):
            raise bad_request(
                f"Cannot convert the literal '{location}' to the expected type 'microsoft.graph.location'."
            )
        item.location = str(location.get("displayName") or "") or None
    if "locations" in body:
        locations = body["locations"] or []
        if not isinstance(locations, list) or not all(isinstance(x, Mapping) for x in locations):
            raise bad_request("locations must be a collection of microsoft.graph.location.")
        if "location" not in body:
            item.location = str(locations[0].get("displayName") or "") or None if locations else None
    if "attendees" in body:
        item.required, item.optional, item.resources = _attendees(body["attendees"])


def _apply_flags(item: CalendarItem, body: Mapping[str, Any]) -> None:
    if "isAllDay" in body:
        item.is_all_day = _bool(body, "isAllDay")
    if "showAs" in body:
        names = {v: k for k, v in SHOW_AS.items()}
        if not isinstance(body["showAs"], str) or body["showAs"] not in names:
            raise bad_request(f"Requested value '{body['showAs']}' was not found.")
        item.free_busy = names[body["showAs"]]
    if "sensitivity" in body:
        if body["sensitivity"] not in SENSITIVITIES:
            raise bad_request(f"Requested value '{body['sensitivity']}' was not found.")
        item.sensitivity = str(body["sensitivity"]).capitalize()
    if "importance" in body:
        if body["importance"] not in LEVELS:
            raise bad_request(f"Requested value '{body['importance']}' was not found.")
        item.importance = str(body["importance"]).capitalize()
    if "categories" in body:
        if not isinstance(body["categories"], list) or not all(
            isinstance(c, str) for c in body["categories"]
        ):
            raise bad_request("categories must be a collection of strings.")
        item.categories = list(body["categories"])
    if "isReminderOn" in body:
        item.reminder_is_set = _bool(body, "isReminderOn")
    if "reminderMinutesBeforeStart" in body:
        minutes = body["reminderMinutesBeforeStart"]
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not -(2**31) <= minutes < 2**31:
            raise bad_request("reminderMinutesBeforeStart must be an Edm.Int32.")
        item.reminder_minutes = minutes
    if "responseRequested" in body:
        item.is_response_requested = _bool(body, "responseRequested")
    if "recurrence" in body:
        item.recurrence = None if body["recurrence"] is None else parse_recurrence(body["recurrence"])
