"""review24r: an Outlook series whose time zone Exchange names "tzone://Microsoft/Utc" (the id Exchange gives UTC
in a StartTimeZone / recurrenceTimeZone; exchangelib's table maps it, and the lab knows it:
roomsops/lab/ews/windows_zones.py) is booked over EWS and parked over Graph.

Since fix24q the Graph backend reads zones by tzlocal's `win_tz` "the same table exchangelib's EWS backend reads
StartTimeZone by" (roomsops/adapters/graph/series.py `iana_zone`) — but exchangelib's MS_TIMEZONE_TO_IANA_MAP adds
"tzone://Microsoft/Utc" → UTC to CLDR's table, `win_tz` does not: `iana_zone` raises `UnknownTimeZone`, the series
is read without its pattern and parked ("neither an IANA nor a Windows time zone id"). The same meeting is booked
for an O365 person; a person moved to Microsoft365 (`sync migrate --to graph`) loses it (issue 24: the same tests
over both backends)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.test_series_sync import ZURICH
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

UTC_ID = "tzone://Microsoft/Utc"


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_review24r_a_series_in_exchanges_utc_zone_id_is_booked_over_both_backends(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, room = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=7 + (1 - today.weekday()) % 7)  # a Tuesday one to two weeks ahead
    last = first + timedelta(weeks=2)
    body = {
        "subject": "Outlook jour fixe",
        "start": {"dateTime": f"{first}T08:00:00", "timeZone": UTC_ID},
        "end": {"dateTime": f"{first}T09:00:00", "timeZone": UTC_ID},
        "attendees": [{"emailAddress": {"address": room}, "type": "resource"}],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {
                "type": "endDate",
                "startDate": str(first),
                "endDate": str(last),
                "recurrenceTimeZone": UTC_ID,
            },
        },
    }
    made = graph.post(f"/users/{diego}/events", body)
    assert made.status_code == 201, made.text
    assert made.json()["recurrence"]["range"]["recurrenceTimeZone"] == UTC_ID  # as Exchange names it
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["bookings_created"]) == (0, [], 1), json.dumps(found)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert len(booking["series"]["occurrences"]) == 3, booking["series"]
    assert booking["start"][11:16] == "08:00", booking
