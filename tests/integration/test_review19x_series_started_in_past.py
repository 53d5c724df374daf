"""review19x: an Outlook jour fixe that began before today is silently left alone, on every pass.

What happens: Diego (EWS or Graph mode) has a weekly Tuesday series made in Outlook that began eight weeks ago and
ends after 20 occurrences, so twelve of them lie ahead inside the sync window; the room accepted it and holds every
one. `sync`, `sync` again and `sync --full` each say nothing about it: no booking created, nothing skipped or
counted, no failure, no difference — while ROOMS knows none of the twelve future Tuesdays the room holds.

Cause: `MailboxSync._exchange_item` (services/sync/engine.py) drops an unknown meeting whose `fields.end <= since`
("outside the sync window: left alone"); a series' master carries its FIRST occurrence's times (EWS: the master's
Start/End; Graph: the seriesMaster's start/end), so any series that began before the window's start is dropped
however many of its occurrences are ahead. The first pass, the incremental pass and the full reconciliation
(series36) all take this path.

What Exchange/ROOMS do: rooms-product.md ("series": synced fields include Series; "a series from Exchange can only be
taken over as a whole"); docs/series.md: a full reconciliation and a first pass find "the master of each untagged
series with an occurrence in the window" and a series ROOMS cannot hold "is reported and not booked"; docs/sync.md
I2: every change is applied, recorded or reported — never silently dropped. Exchange expands the series' pattern
from its start (exchange-online.md: series are expanded occurrences of one master), so the room's calendar holds the
future occurrences (the lab's room accepted).

Why it matters: issue 25 says most room meetings in a real tenant are weekly jour-fixes, and those a company already
runs began in the past — exactly the ones an installation adopting roomsops (`persons add`, `rooms add`) meets first.
ROOMS then shows the room free on those Tuesdays and gives it to someone else, whom the room declines.

Fixed by fix19y: a series is judged by its last occurrence (`model.ends_after`) and taken over whole
(`test_fix19y_series_begun_in_past.py` checks the booking on each path).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.test_series_from_exchange import MODES
from tests.integration.test_series_sync import ZURICH, setup
from tests.integration.test_sync_rooms20_a import answer

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", MODES)
def test_review19x_an_outlook_series_that_began_in_the_past_is_booked_or_reported(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room = setup(invoke, env, lab, addr, mode)
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
    today = datetime.now(ZURICH).date()
    first = today - timedelta(days=56 + (today.weekday() - 1) % 7)  # a Tuesday eight to nine weeks ago
    body = {
        "subject": "Old jour fixe",
        "start": {"dateTime": f"{first}T09:00:00", "timeZone": "Europe/Zurich"},
        "end": {"dateTime": f"{first}T10:00:00", "timeZone": "Europe/Zurich"},
        "attendees": [{"emailAddress": {"address": room}, "type": "resource"}],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {
                "type": "numbered",
                "startDate": str(first),
                "numberOfOccurrences": 20,
                "recurrenceTimeZone": "Europe/Zurich",
            },
        },
    }
    made = graph.post(f"/users/{diego}/events", body)
    assert made.status_code == 201, made.text
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    # The room holds the occurrences ahead (eleven or twelve of the 20 lie after today).
    view = f"{today}T00:00:00Z,{today + timedelta(days=89)}T00:00:00Z"
    ahead = lab.admin("GET", f"/lab/mailboxes/{room}/calendar?expand={view}").json()["items"]
    assert len([i for i in ahead if i["type"] in ("Occurrence", "Exception") and not i["is_cancelled"]]) >= 11

    told: list[object] = []
    for args in (("sync",), ("sync",), ("sync", "--full")):
        run = invoke("--json", *args, env=env)
        (found,) = [m for m in json.loads(run.out)["mailboxes"] if m["mailbox"].lower() == diego]
        told += found["failures"] + [found["skipped"]] * bool(found["skipped"])
        told += [found[k] for k in ("bookings_created", "differences") if found[k]]
    booked = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    # Booked (taken over whole), or at least reported/counted: never nothing at all.
    assert booked or told, (booked, told)
