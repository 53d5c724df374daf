"""review24n: with a sync window over two years (`sync.window_days_future` 800, which the settings accept: 0 to
3,650), every full reconciliation of an EWS person fails — `sync --full`, every `sync.full_every` pass, the recovery
after `rooms add` — while the same pass over Graph succeeds.

Steps: ROOMSOPS_SYNC_WINDOW_DAYS_FUTURE=800; DiegoS in O365 with one booking of Zürich, synced; `sync --full`.

Expected (docs/sync.md: calendar views "of at most two years (EWS's CalendarView limit)"; the engine cuts its own
views so, `_spans`/CALENDAR_VIEW_SPAN; issue 24: the same tests for both backends): exit 0, the pass a full one.

Found: exit 1, "EWS answered ErrorCalendarViewRangeTooBig: The time range of the calendar view is larger than the
maximum of two years." — `MailboxSync._discover` asks `find_untagged` over the whole window in one CalendarView
(not cut by `_spans`); the EWS backend's `find_untagged` does not cut it either. `sync migrate`'s UID lookup
(`migrate._by_uid`, fix20q) asks the same one view, so `sync migrate --to ews` of such a link fails the same way.
Microsoft365 (Graph calendarView) passes the same steps.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY

pytestmark = pytest.mark.integration


def test_review24n_a_full_pass_of_an_ews_person_with_a_window_over_two_years_succeeds(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    env = {**env, "ROOMSOPS_SYNC_WINDOW_DAYS_FUTURE": "800"}
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_hour_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    run = invoke("--json", "sync", "--full", env=env)
    (mailbox,) = json.loads(run.out)["mailboxes"]
    assert (run.code, mailbox["error"], mailbox["pass_kind"]) == (0, None, "full"), mailbox
