"""review24k: over Graph, an Outlook room meeting on the last day of the sync window (after the window's exact end,
before the end of that day, where Graph's delta round ends) is booked when Outlook makes it after the person's
first pass, but never when it existed before: the first pass drops it (`_discover` filters the round's candidates
by the exact window), and no later round reports it (the delta link reports changes only; the round that starts
the next day counts only events ending after the old round's end). It waits for a full reconciliation
(`sync.full_every`, default 24 passes) or an Outlook edit.

Steps: rooms.time_zone a whole-hour zone (below), `sync.window_days_future` 30. DiegoS in Microsoft365. In Outlook he books
room Zürich at now + 30 days + 10 minutes (5 minutes long: before the end of that local day) — "Before". His first
pass. Then he books Bern the same way, 20 minutes later — "After". Two passes.

Expected (docs/sync.md "Dates": over Graph an untagged meeting is left alone when it "starts at or after ... the end
of the window's last day, where the round ends", and "over Graph the round that moves with the day reports it";
"from day one": a room meeting made before the person joined is booked by the first pass): both meetings are
treated alike — both booked.

Actual: "After" is booked (the delta round reports it and `_discovers` ends where the round does); "Before" is not,
on the first pass nor on the next ones.

Not timing-dependent, whatever the hour it runs at: rooms.time_zone is the whole-hour zone (Etc/GMT±N, no DST) in
which the first meeting starts at 10 o'clock local time, so both meetings (after the window's exact end, now + 30
days) end more than 12 hours before the end of that local day, where the round ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import answer, stamp, sync

pytestmark = pytest.mark.integration


def zone_where_it_is_ten(moment: datetime) -> ZoneInfo:
    """The fixed whole-hour zone (no DST) in which `moment` is between 10:00 and 10:59 local time (Etc/GMT-N is
    UTC+N)."""
    offset = (10 - moment.astimezone(UTC).hour) % 24
    offset = offset - 24 if offset > 12 else offset
    zone = ZoneInfo(f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT")
    assert moment.astimezone(zone).hour == 10
    return zone


def test_review24k_a_meeting_on_the_windows_last_day_is_booked_whether_made_before_or_after_the_first_pass(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    first = now + timedelta(days=30, minutes=10)
    second = first + timedelta(minutes=20)
    zone = zone_where_it_is_ten(first)
    midnight = datetime.combine(first.astimezone(zone).date() + timedelta(days=1), datetime.min.time(), zone)
    assert second + timedelta(minutes=5) <= midnight - timedelta(hours=12)  # the premise: both fit, by far
    env = {**env, "ROOMSOPS_SYNC_WINDOW_DAYS_FUTURE": "30", "ROOMSOPS_ROOMS_TIME_ZONE": zone.key}
    diego, zurich, bern = addr("DiegoS").lower(), addr("room-zurich").lower(), addr("room-bern").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", bern, "--name", "Bern", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))

    def book(subject: str, start: datetime, room: str) -> None:
        body = {"subject": subject, "start": stamp(start), "end": stamp(start + timedelta(minutes=5))}
        response = lab.admin("POST", f"/lab/mailboxes/{diego}/calendar", json={**body, "resources": [room]})
        assert response.status_code == 201, response.text

    book("Before", first, zurich)
    answer(lab)
    assert sync(invoke, env)[0] == 0  # the first pass
    book("After", second, bern)
    answer(lab)
    assert sync(invoke, env)[0] == 0
    assert sync(invoke, env)[0] == 0
    titles = sorted(
        b["title"] for b in json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    )
    assert "After" in titles  # the control: the delta round's report is booked
    assert titles == ["After", "Before"]
