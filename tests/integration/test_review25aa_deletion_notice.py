"""review25aa: the `note:` fix19z prints for an occurrence deleted in Outlook names a `roomsops bookings add` command
that books another slot than the one it says.

What happens: a weekly series made in Outlook by an organizer in New York (`recurrenceTimeZone`
America/New_York), inviting a ROOMS room, is taken over whole; its booking keeps the series' time zone
(docs/series.md: "The booking's time zone is the series'"). ROOMS retitles the series; before the next pass the
organizer deletes one occurrence in Outlook. The pass takes the deletion (fix19z) and says: "the occurrence
<day> 09:00 (America/New_York) was deleted … book the slot again as a single booking: roomsops bookings add …
--start <day>T09:00 --end <day>T10:00 …". But `bookings add --start` reads a time without offset in
`rooms.time_zone` (Europe/Zurich here; README / `--help`: "local in rooms.time_zone"), so the command the note
gives books 09:00–10:00 Zürich time — six hours before the slot that was freed — and the administrator who runs it
as told holds the room at the wrong time, while the freed slot stays free.

What should be: the command books the slot the note names (e.g. times with their UTC offset, or converted to
rooms.time_zone).

Also: the note quotes the title with Python's repr, not for a shell. A title with an apostrophe and a `$`
("Lunch: Bob's $100 budget") is printed in double quotes, so a shell expands `$1` (the command books "Lunch: Bob's
00 budget"); one with both quote kinds is printed with `\'` inside single quotes, which no POSIX shell reads (an
unterminated quote). What should be: shell-quoted (shlex.quote), so that pasting the command books the title
shown."""

from __future__ import annotations

import json
import shlex
import subprocess
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.test_series_from_exchange import occurrence_id, series_of, synced_series
from tests.integration.test_series_sync import ZURICH, setup
from tests.integration.test_sync_rooms20_a import answer, links, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")


def new_york_series(lab: LabHelper, diego: str, room: str, first: date, count: int) -> None:
    """A weekly Monday series at 09:00–10:00 New York time, made in Outlook (Graph), inviting the room."""
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
    body = {
        "subject": "NY jour fixe",
        "start": {"dateTime": f"{first}T09:00:00", "timeZone": "America/New_York"},
        "end": {"dateTime": f"{first}T10:00:00", "timeZone": "America/New_York"},
        "attendees": [{"emailAddress": {"address": room}, "type": "resource"}],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {
                "type": "numbered",
                "startDate": str(first),
                "numberOfOccurrences": count,
                "recurrenceTimeZone": "America/New_York",
            },
        },
    }
    made = graph.post(f"/users/{diego}/events", body)
    assert made.status_code == 201, made.text


def test_the_notes_command_books_the_slot_the_deleted_occurrence_held(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room = setup(invoke, env, lab, addr, "Microsoft365")
    assert sync(invoke, env)[0] == 0
    today = datetime.now(NEW_YORK).date()
    first = today + timedelta(days=14 + (7 - today.weekday()) % 7)  # a Monday two to three weeks ahead
    new_york_series(lab, diego, room, first, 4)
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["bookings_created"]) == (0, [], 1), found[diego]
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    series = int(booking["id"])
    assert booking["series"]["time_zone"] == "America/New_York", booking["series"]
    assert sync(invoke, env)[0] == 0
    answer(lab)
    assert links(env)[series][0] == "linked", links(env)

    ok(invoke("bookings", "update", str(series), "--title", "NY weekly", env=env))
    second = first + timedelta(days=7)
    slot = (
        datetime.combine(second, datetime.min.time().replace(hour=9), NEW_YORK).astimezone(UTC),
        datetime.combine(second, datetime.min.time().replace(hour=10), NEW_YORK).astimezone(UTC),
    )
    day = slot[0].astimezone(ZURICH).date()
    window = f"{day}T00:00:00Z,{day}T23:59:00Z"
    items = lab.admin("GET", f"/lab/mailboxes/{diego}/calendar?expand={window}").json()["items"]
    (occurrence,) = [i for i in items if i["type"] in ("Occurrence", "Exception")]
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence['id']}")
    assert gone.status_code == 200, gone.text

    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["failures"]) == (0, []), found[diego]
    (notice,) = found[diego]["notices"]
    assert f"{second} 09:00 (America/New_York)" in notice, notice
    command = shlex.split(notice.split("book the slot again as a single booking: ", 1)[1])
    assert command[:3] == ["roomsops", "bookings", "add"], command
    added = ok(invoke("--json", *command[1:], env=env))
    made = json.loads(added.out)["booking"]
    booked = (datetime.fromisoformat(made["start"]), datetime.fromisoformat(made["end"]))
    # The slot the deleted occurrence held (09:00–10:00 New York), not 09:00–10:00 in rooms.time_zone.
    assert booked == slot, (booked, slot, notice)
    assert series_of(invoke, env, series)["status"] == "active"


#: Titles a person types in Outlook or ROOMS that Python's repr does not quote for a shell, each given to one
#: occurrence (one series, one pass: fix25ab).
TITLES = {"2027-04-05": "Lunch: Bob's $100 budget", "2027-04-12": 'Q&A: Tom\'s "Budget" review'}


def test_the_notes_command_keeps_the_title_in_a_shell(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, _room, series = synced_series(invoke, env, lab, addr, "O365")
    for day, title in TITLES.items():
        ok(invoke("bookings", "update", str(series), "--occurrence", day, "--title", title, env=env))
    for day in TITLES:
        gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, day)}")
        assert gone.status_code == 200, gone.text
    answer(lab)
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"]) == (0, []), found[diego]
    notices = found[diego]["notices"]
    assert len(notices) == len(TITLES), notices
    for notice, title in zip(sorted(notices), TITLES.values(), strict=True):
        command = notice.split("book the slot again as a single booking: ", 1)[1]
        # The words a POSIX shell passes to roomsops when the administrator pastes the command.
        shell = subprocess.run(
            ["sh", "-c", f"printf '%s\\n' {command}"],
            capture_output=True,
            text=True,
            check=False,
        )
        words = shell.stdout.splitlines()
        assert shell.returncode == 0 and "--title" in words, (shell.returncode, shell.stderr, command)
        assert words[words.index("--title") + 1] == title, (words, command)
