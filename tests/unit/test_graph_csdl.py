"""The CSDL check the Graph lab tests rely on catches what it must (else 0 violations would prove nothing)."""

from __future__ import annotations

from tests.graph_csdl import Checker, schema


def good_event() -> dict[str, object]:
    return {
        "@odata.etag": 'W/"x"',
        "id": "AAMk",
        "subject": "s",
        "showAs": "busy",
        "type": "seriesMaster",
        "isAllDay": False,
        "reminderMinutesBeforeStart": 15,
        "createdDateTime": "2030-03-04T09:00:00.0000000Z",
        "start": {"dateTime": "2030-03-04T09:00:00.0000000", "timeZone": "UTC"},
        "attendees": [
            {
                "type": "resource",
                "status": {"response": "accepted", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"address": "a@b", "name": "A"},
            }
        ],
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"type": "numbered", "startDate": "2030-03-04", "numberOfOccurrences": 3},
        },
        "singleValueExtendedProperties": [{"id": "String 0x0037", "value": "v"}],
    }


def test_a_valid_event_passes_and_each_kind_of_mistake_is_found() -> None:
    checker = Checker()
    assert checker.check(good_event(), "event") == []
    mistakes = {
        "madeUpProperty": 1,
        "showAs": "sleeping",
        "isAllDay": "false",
        "reminderMinutesBeforeStart": "15",
        "createdDateTime": "yesterday",
        "start": {"dateTime": "x", "timeZone": "UTC", "offset": 1},
        "attendees": [{"type": "chair"}],
        "recurrence": {"range": {"startDate": "04.03.2030"}},
    }
    for name, value in mistakes.items():
        found = Checker().check({**good_event(), name: value}, "event")
        assert found, name
    # Not nullable: an enum collection member.
    assert Checker().check({"attendees": [None]}, "event")
    # Annotations pass; a collection answer's elements are checked.
    assert checker.check_collection({"@odata.nextLink": "x", "value": [good_event()]}, "event") == []
    assert checker.check_collection({"value": [{"nope": 1}]}, "event")
    assert (
        checker.check(
            {"@odata.type": "#microsoft.graph.event", "id": "x", "@removed": {"reason": "deleted"}}, "event"
        )
        == []
    )
    assert checker.check({"@removed": {}}, "event")


def test_the_metadata_subset_holds_the_calendar_types() -> None:
    types = schema()
    for name in (
        "event",
        "attendee",
        "patternedRecurrence",
        "subscription",
        "changeNotification",
        "convertIdResult",
    ):
        assert name in types.types
    members, flags = types.enums["freeBusyStatus"]
    assert {"free", "busy", "tentative", "oof", "workingElsewhere", "unknown"} <= members and not flags
