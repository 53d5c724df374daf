"""fix26v: `/healthz` stayed `ok: live, ready` (200) while Exchange was unreachable and the token service was not
(its cached token still valid): every pass of every round failed, but no round "failed" (the readiness rule of
fix26u counted only a round's own error). A round that ran passes and whose every pass failed now counts as a
failed round: 503 with the reason after `NOT_READY_AFTER` (3) such rounds in a row, 200 after a round with a pass
that did its work.

In this process against the lab, as test_fix26u_healthz: the rounds are run one by one (`Serve.tick`: counted, no
timing) with the real token provider, EWS client and backend; the lab's EWS answers 500 to every request (a lab
fault) until the fault is cleared; the token service answers. /healthz is read over HTTP from the real listener."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings
from roomsops.adapters.ews.client import EwsClient
from roomsops.adapters.listener import Listener
from roomsops.adapters.store import now_utc
from roomsops.core.logs import AuditLog
from roomsops.core.settings import app_settings_path, load_settings
from roomsops.services.rooms.common import open_database
from roomsops.services.serve.service import Serve
from roomsops.services.serve.status import NOT_READY_AFTER, status_app
from roomsops.services.sync.factory import calendar_backend
from tests.conftest import Invoke, ok

from .conftest import LabHelper

pytestmark = pytest.mark.integration


def test_fix26v_healthz_is_not_ready_when_every_pass_of_rounds_in_a_row_failed(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Callable[[str], str], tmp_path: Path
) -> None:
    from roomsops.cli.sync import lock_path

    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    settings = load_settings(environ={**os.environ, **env})
    credentials = credentials_from_app_settings(app_settings_path(None, settings, {}), settings, os.environ)
    tokens = TokenProvider(credentials, settings)
    waits: list[float] = []
    ews = EwsClient(settings, tokens, sleep=waits.append)  # the client's retry waits recorded, not slept

    def open_backend(persons: list[tuple[str, str]], services: dict[str, str]) -> Any:
        return calendar_backend(settings, ews, persons, services)

    # the service's clock, ahead of the real one (the database's last pass is of real time) by a day, then an hour
    # more each round: each round runs Diego's pass (interval 60 s), no waiting
    now = [now_utc() + timedelta(days=1)]
    step = timedelta(hours=1)
    store = ExitStack()
    serve = Serve(
        settings,
        store.enter_context(open_database(settings)),
        AuditLog(None),
        lock_path(settings),
        open_backend,
        tokens.token,
        clock=lambda: now[0],
    )
    listener = Listener(
        "127.0.0.1",
        0,
        status_app(serve.board, serve.metrics, (), {"ews": 60, "graph": 900}),
        "serve.status_listen",
        threads=2,
        timeout=5,
        deadline=5.0,
    )
    host, port = listener.start()

    def healthz() -> tuple[int, str]:
        answer = requests.get(f"http://{host}:{port}/healthz", timeout=30)
        return answer.status_code, answer.text

    try:
        tokens.token()  # the token cached: the token service is not what fails
        fresh_lab.fault(protocol="ews", operation="*", kind="http_500", count=10_000)
        seen = []
        for _ in range(NOT_READY_AFTER):
            serve.tick()
            seen.append(healthz())
            now[0] += step
        failing = seen[-1]
        fresh_lab.clear_faults()
        serve.tick()
        after = healthz()
    finally:
        fresh_lab.clear_faults()
        listener.stop()
        store.close()
    text = serve.metrics.text().decode()
    # no round failed of its own: each ran its pass, which failed on Exchange; the last pass did its work
    assert "roomsops_serve_round_errors_total{" not in text, text
    failed = [line for line in text.splitlines() if line.startswith("roomsops_serve_passes_total{")]
    assert any('result="failed"' in line and line.endswith(f" {NOT_READY_AFTER}.0") for line in failed), (
        failed
    )
    assert any('result="ok"' in line and line.endswith(" 1.0") for line in failed), failed
    assert seen[:-1] == [(200, "ok: live, ready\n")] * (NOT_READY_AFTER - 1), seen
    assert failing[0] == 503, failing
    assert failing[1].startswith(
        f"not ready: live, but the last {NOT_READY_AFTER} rounds failed: every pass"
    ), failing
    assert after == (200, "ok: live, ready\n"), after
    assert waits, "the failing passes went through the client's retries"
