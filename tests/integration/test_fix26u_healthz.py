"""fix26u: `/healthz` said `ok: live, ready` (200) while every round failed (the token service down: no pass at
all), so a readiness probe or a load balancer saw a healthy service. It now answers 503 with the reason after
`NOT_READY_AFTER` (3) rounds in a row failed, and 200 again after the next round that did not fail.

In this process against the lab: the service's rounds are run one by one (`Serve.tick`: counted, no timing), with
the real token provider, EWS client and backend; the lab's token service answers 503 to every token request (a lab
fault) until the fault is cleared. /healthz is read over HTTP from the real status listener."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings
from roomsops.adapters.ews.client import EwsClient
from roomsops.adapters.listener import Listener
from roomsops.core.logs import AuditLog
from roomsops.core.settings import app_settings_path, load_settings
from roomsops.services.rooms.common import open_database
from roomsops.services.serve.service import Serve
from roomsops.services.serve.status import NOT_READY_AFTER, status_app
from roomsops.services.sync.factory import calendar_backend
from tests.conftest import Invoke, ok

from .conftest import LabHelper

pytestmark = pytest.mark.integration


def test_fix26u_healthz_is_not_ready_after_rounds_in_a_row_failed_and_ready_after_a_good_one(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Callable[[str], str], tmp_path: Path
) -> None:
    from roomsops.cli.sync import lock_path

    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    settings = load_settings(environ={**os.environ, **env})
    credentials = credentials_from_app_settings(app_settings_path(None, settings, {}), settings, os.environ)
    tokens = TokenProvider(credentials, settings)
    ews = EwsClient(settings, tokens)

    def open_backend(persons: list[tuple[str, str]], services: dict[str, str]) -> Any:
        return calendar_backend(settings, ews, persons, services)

    store = ExitStack()
    serve = Serve(
        settings,
        store.enter_context(open_database(settings)),
        AuditLog(None),
        lock_path(settings),
        open_backend,
        tokens.token,
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
        fresh_lab.fault(protocol="token", operation="*", kind="http_503", count=10_000)
        seen = []
        for _ in range(NOT_READY_AFTER):
            serve.tick()
            seen.append(healthz())
        failing = seen[-1]
        fresh_lab.clear_faults()
        serve.tick()
        after = healthz()
    finally:
        fresh_lab.clear_faults()
        listener.stop()
        store.close()
    text = serve.metrics.text().decode()
    # the first rounds failed on the token service (no pass), the last did its work
    assert 'roomsops_serve_round_errors_total{code="' in text and serve.ticks == NOT_READY_AFTER + 1, text
    assert 'roomsops_serve_passes_total{mailbox="' in text and 'result="ok"' in text, text
    # ready (rounds failed, but fewer than NOT_READY_AFTER in a row), then not ready with the reason
    assert seen[:-1] == [(200, "ok: live, ready\n")] * (NOT_READY_AFTER - 1), seen
    assert failing[0] == 503, failing
    assert failing[1].startswith(f"not ready: live, but the last {NOT_READY_AFTER} rounds failed: "), failing
    assert "503" in failing[1] and " — " in failing[1], failing  # the token service's answer, and a remedy
    assert after == (200, "ok: live, ready\n"), after
