"""review26s: a round that fails with a RoomsopsError (the token service unreachable or refusing: a wrong secret,
an expired certificate, a network outage) is followed by the next round at once, with no wait at all. Only a
round refused by the run lock backs off (`lock_back_off`), and only an unexpected exception marks the round's
mailboxes tried (`_fail_due`); after a RoomsopsError every mailbox stays due, so `seconds_to_next` is 0 and the
scheduler spins: against the lab with `cloud.authority_host` unreachable, `roomsops serve --max-ticks 30` with
`serve.ews_interval` 60 ran its 30 rounds in about 3 s, each asking the token service again and logging an ERROR
line (about 40 a second: millions a day, and Entra throttles or locks out a client hammering it).

The test counts the waits the scheduler asks for between rounds (the service's wake-up event records the timeout
it was asked to wait and returns at once), with a real token provider whose token service refuses connections:
no timing is measured."""

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

pytestmark = pytest.mark.integration
T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
#: 127.0.0.1:9 (discard) refuses connections: the token service is unreachable.
NOWHERE = "https://127.0.0.1:9"


class RecordedWaits(threading.Event):
    """The scheduler's wake-up event: records each timeout it is asked to wait, and returns at once."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.asked.append(timeout)
        return self.is_set()


def test_review26s_a_round_failed_on_the_token_service_is_not_followed_at_once(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"ROOMSOPS_CLOUD_AUTHORITY_HOST": NOWHERE, "ROOMSOPS_SERVE_EWS_INTERVAL": "60"}
    )
    store = db.open_store(f"sqlite:///{tmp_path / 'rooms.db'}")
    with store.write() as conn:
        db.insert_person(
            conn, db.PersonFields("diego@contoso.com", "", "O365", None, "Rollback"), db.now_utc()
        )
    tokens = TokenProvider(
        AppCredentials("00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002", "x"),
        settings,
    )
    opened: list[int] = []

    def open_backend(persons: object, services: object) -> object:
        opened.append(1)  # never reached: the token is asked for first
        raise AssertionError("the backend was opened although the token service failed")

    waits = RecordedWaits()
    serve = Serve(
        settings,
        store,
        AuditLog(None),
        tmp_path / "rooms.db.sync.lock",
        open_backend,  # type: ignore[arg-type]
        tokens.token,
        max_ticks=3,
        clock=lambda: T0,
        wake=waits,
    )
    serve.run()
    text = serve.metrics.text().decode()
    assert serve.ticks == 3 and not opened
    assert 'roomsops_serve_round_errors_total{code="' in text  # each round failed on the token service
    # Between the failed rounds the scheduler waits (a back-off, or the interval), never 0 s.
    assert len(waits.asked) == 2 and all((t or 0) >= 1 for t in waits.asked), waits.asked
