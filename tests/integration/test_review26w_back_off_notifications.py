"""review26w: the back-off after a failed round (b341e10: "back off after a failed round", README: the next round
after one that failed — the token service unreachable, the database down — "waits 1 s, doubling to 15 s") is cut
short by every Graph change notification. `Serve.run` waits on the wake-up event, and the webhook sets that event
for each notification it queues, so the round starts at once; it fails on the token service again, and the next
notification starts the next. While the token service is down, every notification Graph posts (one per Outlook
change in any subscribed mailbox; hundreds a minute in a large tenant) is a round: a token request and an ERROR
line each, the spin review26s_round_errors fixed, back by way of the webhook. The notification cannot be served
anyway (its pass needs the token that just failed); it is kept in the schedule for the next round.

An operator expects the back-off to hold whatever wakes the scheduler: after a failed round, the next round only
once the back-off has passed (a notification then taken by that round).

In this process with a real token provider whose token service refuses connections (as review26s_round_errors) and
a DiegoS over Graph; the scheduler's wake-up event records each wait and, on every other one, queues a change
notification for Diego as the webhook does (set: woken), else returns as a wait that ran out. The test checks each
round after a failed one follows a wait that ran out. No timing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roomsops.adapters import store as db
from roomsops.adapters.entra.tokens import AppCredentials, TokenProvider
from roomsops.core.logs import AuditLog
from roomsops.core.settings import load_settings
from roomsops.services.serve.service import Serve
from roomsops.services.serve.webhook import Notice

pytestmark = pytest.mark.integration
T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
NOWHERE = "https://127.0.0.1:9"  # discard: refuses connections, the token service is unreachable
DIEGO = "diego@contoso.com"


class NotifiedWaits(threading.Event):
    """The scheduler's wake-up event: every other wait is cut by a notification queued meanwhile (woken), the
    others run out; `events` records the waits' outcomes and the rounds, in order."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events
        self.serve: Serve | None = None
        self.calls = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.calls += 1
        if self.calls % 2 == 1 and self.serve is not None:
            self.serve.notices.put(Notice(DIEGO, "change", T0))  # the webhook's put and wake-up
            self.set()
            self.events.append("woken")
            return True
        self.events.append("ran out")
        return self.is_set()


def test_review26w_a_notification_does_not_cut_the_back_off_after_a_failed_round(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"ROOMSOPS_CLOUD_AUTHORITY_HOST": NOWHERE, "ROOMSOPS_SERVE_EWS_INTERVAL": "60"}
    )
    store = db.open_store(f"sqlite:///{tmp_path / 'rooms.db'}")
    with store.write() as conn:
        db.insert_person(conn, db.PersonFields(DIEGO, "", "Microsoft365", None, "Rollback"), db.now_utc())
    tokens = TokenProvider(
        AppCredentials("00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002", "x"),
        settings,
    )

    def open_backend(persons: object, services: object) -> object:
        raise AssertionError("the backend was opened although the token service failed")

    events: list[str] = []
    waits = NotifiedWaits(events)
    serve = Serve(
        settings,
        store,
        AuditLog(None),
        tmp_path / "rooms.db.sync.lock",
        open_backend,  # type: ignore[arg-type]
        tokens.token,
        max_ticks=4,
        clock=lambda: T0,
        wake=waits,
    )
    waits.serve = serve
    tick = serve.tick

    def counted_tick() -> None:
        events.append("round")
        tick()

    serve.tick = counted_tick  # type: ignore[method-assign]
    serve.run()
    assert serve.ticks == 4 and serve.failed_rounds == 4  # each round failed on the token service
    # Each round after the first follows a failed one: a wait that ran out (the back-off) comes before it.
    before = [events[i - 1] for i, e in enumerate(events) if e == "round" and i > 0]
    assert before == ["ran out"] * 3, events
