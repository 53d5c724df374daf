"""review24h: fix24g made Graph leave alone an Outlook meeting without a link that ended before the sync window's
start (docs/sync.md "Dates": "bookings that ended before the window's start (`sync.window_days_past`) and have no
link are left alone"), but only Graph: over EWS (O365) the same Outlook meeting, reported by SyncFolderItems, is
booked. The two backends answer the same Outlook calendar differently.

Steps: DiegoS (O365, or Microsoft365) is synced once. In Outlook he creates a meeting with room Zürich 12 days ago
(`sync.window_days_past` 7) and one in two days; the room accepts both; a pass.

Expected (docs/sync.md "Dates"; issue 24 acceptance: "syncs both ways ... with the same tests as EWS, parametrised by
backend"; test_fix24g_past_watch.py asserts this for Graph): only "Planning" becomes a booking, over either backend.

Actual: over EWS `_discover_from` is None (`Changes.covers_from` is None for EWS), so `_exchange_item` hands the
old meeting to `_new_meeting`, which has no window check: "Last week's review" is booked too."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, outlook_new, sync

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "mode",
    ["O365", "Microsoft365"],
)
def test_review24h_an_outlook_meeting_before_the_window_is_left_alone_over_either_backend(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    sync(invoke, env)
    outlook_new(lab, diego, "Last week's review", DAY - timedelta(days=12), resources=[zurich])
    outlook_new(lab, diego, "Planning", DAY, resources=[zurich])
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200
    code, mailboxes = sync(invoke, env)
    assert code == 0, mailboxes
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert [b["title"] for b in found] == ["Planning"]


@pytest.mark.parametrize(
    "mode",
    ["O365", "Microsoft365"],
)
def test_review24h_an_outlook_meeting_beyond_the_windows_end_is_left_alone_over_either_backend(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """docs/sync.md "Dates": "The window's end (`sync.window_days_future`) limits only which untagged Outlook
    meetings are discovered". A first pass with the default window (90 days ahead); the administrator narrows it to
    30 days; in Outlook DiegoS books room Zürich 60 days ahead (and one in two days); a pass. Only "Planning" is in
    the window. Actual: over EWS SyncFolderItems reports the whole calendar and `_new_meeting` has no window check;
    over Graph `GraphCalendar.changes` keeps reading the stored round (to 91 days ahead) when the wanted end is
    earlier, and the engine checks the start only (`_discover_from`): both book "Far ahead"."""
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    sync(invoke, env)
    narrow = {**env, "ROOMSOPS_SYNC_WINDOW_DAYS_FUTURE": "30"}
    outlook_new(lab, diego, "Far ahead", DAY + timedelta(days=60), resources=[zurich])
    outlook_new(lab, diego, "Planning", DAY, resources=[zurich])
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200
    code, mailboxes = sync(invoke, narrow)
    assert code == 0, mailboxes
    found = json.loads(ok(invoke("--json", "bookings", "list", env=narrow)).out)["bookings"]
    assert [b["title"] for b in found] == ["Planning"]
