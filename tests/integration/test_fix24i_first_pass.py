"""fix24i: a pass from no position reads the window's untagged meetings, over EWS and Graph alike.

A position from scratch shows no meeting (the port: `changes(mailbox, None)` returns only a state), and a mailbox
without links needs no reconciliation by tag, so before this fix an Outlook room meeting that existed before the
person joined the sync (or before their stored position was found invalid) was booked only by `sync --full`.
docs/sync.md ("The full reconciliation": "A first pass of a mailbox without links needs none"; the untagged
meetings of the window are discovered from the first pass) and issue 24 ("must sync from day one")."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import timedelta

import pytest

from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings
from roomsops.adapters.ews.client import EwsClient
from roomsops.core.settings import app_settings_path, load_settings
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.factory import ews_backend, graph_backend
from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, outlook_new, sync

pytestmark = pytest.mark.integration

MODES = ["O365", "Microsoft365"]


def titles(invoke: Invoke, env: dict[str, str]) -> list[str]:
    return [b["title"] for b in json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]]


@pytest.mark.parametrize("mode", MODES)
def test_fix24i_an_outlook_room_meeting_made_before_the_person_joined_is_booked_by_the_first_pass(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    outlook_new(lab, diego, "Planning", DAY, resources=[zurich])
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    code, mailboxes = sync(invoke, env)
    assert code == 0, mailboxes
    assert mailboxes[diego]["bookings_created"] == 1, mailboxes
    assert titles(invoke, env) == ["Planning"]
    # The meeting is the booking's now (tagged): the next pass books nothing again.
    code, mailboxes = sync(invoke, env)
    assert (code, mailboxes[diego]["bookings_created"]) == (0, 0), mailboxes
    assert titles(invoke, env) == ["Planning"]


@pytest.mark.parametrize("mode", MODES)
def test_fix24i_after_an_invalid_position_the_windows_untagged_meetings_are_read_again(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """review24i doubt 5: a mailbox without links whose stored position the service no longer accepts starts over
    from no position; what Outlook made meanwhile is found by the window's read, not lost."""
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    assert sync(invoke, env)[0] == 0  # a position stored, no link
    outlook_new(lab, diego, "Planning", DAY, resources=[zurich])
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(
        path
    ) as conn:  # a position neither EWS nor Graph accepts (ErrorInvalidSyncStateData)
        assert (
            conn.execute("UPDATE mailbox_sync SET sync_state = 'H4sIAAAAAAAEAAtJLS5RSEksSQQAAP//'").rowcount
            == 1
        )
    code, mailboxes = sync(invoke, env)
    assert code == 0, mailboxes
    assert mailboxes[diego]["bookings_created"] == 1, mailboxes
    assert titles(invoke, env) == ["Planning"]


def port(env: dict[str, str], mode: str) -> CalendarBackend:
    """The backend the sync uses for a person in `mode`, with the real clients (as `roomsops sync` builds it)."""
    settings = load_settings(env["ROOMSOPS_SETTINGS"], environ={})
    provider = TokenProvider(
        credentials_from_app_settings(app_settings_path(None, settings, {}), settings, os.environ), settings
    )
    ews = EwsClient(settings, provider)
    return graph_backend(settings, ews) if mode == "Microsoft365" else ews_backend(settings, ews)


@pytest.mark.parametrize("mode", MODES)
def test_cost19r_the_first_pass_discovers_from_its_own_read_and_reads_only_the_candidates(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """cost19r: a pass from no position finds the candidates for new bookings in its own read from scratch
    (SyncFolderItems' items, the delta round's events), with no CalendarView (FindItem) or calendarView of the
    window: only the mailbox's own single meetings with attendees that are not cancelled are candidates, so
    appointments and an attendee's copy are never read, and the engine reads only those in the window (here one,
    the room meeting beyond the window is left out). The first pass then costs what it did before fix24i: the read
    from scratch, one read of the candidates, the tag, the catch-up read."""
    lab = fresh_lab
    diego, adele, zurich = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    for index in range(3):
        outlook_new(lab, diego, f"Dentist {index}", DAY + timedelta(hours=3 + index))
    outlook_new(lab, adele, "Adele's review", DAY + timedelta(hours=7), attendees=[diego])
    far = outlook_new(lab, diego, "Far ahead", DAY + timedelta(days=200), resources=[zurich])
    planning = outlook_new(lab, diego, "Planning", DAY, resources=[zurich])
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))

    # The port: a read from scratch names the candidates (ids of the service the mode syncs over).
    backend = port(env, mode)
    candidates = backend.changes(diego, None).candidates
    assert candidates is not None
    subjects = sorted(
        m.fields.subject for m in backend.get(diego, [c.item_id for c in candidates]) if m.fields
    )
    # Graph's delta round covers the sync window only: the meeting 200 days ahead is no event of it.
    assert subjects == (["Planning"] if mode == "Microsoft365" else ["Far ahead", "Planning"])
    if mode == "O365":
        assert {c.item_id for c in candidates} == {far["id"], planning["id"]}

    lab.reset_requests()
    code, mailboxes = sync(invoke, env)
    assert code == 0, mailboxes
    assert mailboxes[diego]["bookings_created"] == 1, mailboxes
    assert titles(invoke, env) == ["Planning"]
    asked = {k: v for k, v in lab.requests().items() if k.startswith(("ews:", "graph:"))}
    if mode == "O365":
        # No GetFolder + FindItem (CalendarView) of the window: one GetItem reads the one candidate in the window.
        assert asked == {"ews:SyncFolderItems": 2, "ews:GetItem": 1, "ews:UpdateItem": 1}, asked
    else:
        # No calendarView of the window; one candidate is read by a GET of its own (several would be a $batch).
        assert asked == {"graph:calendarView.delta": 2, "graph:events.get": 1, "graph:events.update": 1}, (
            asked
        )
    assert mailboxes[diego]["requests"] == 4
