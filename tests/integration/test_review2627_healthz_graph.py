"""review2627: `/healthz`'s readiness rule (fix26u, fix26v: 503 after `NOT_READY_AFTER` rounds in a row "failed",
a round that ran passes and every one failed counting as failed, any other round ending the count) judges rounds,
and a round's content depends on which mailboxes happen to be due together. README: 503 after "3 rounds in a row
failed … a round that ran passes and every one failed — Exchange unreachable while the cached token is still
valid"; what monitors ask of readiness: the service cannot do its work (not: one mailbox of many is broken).

1. Graph down, a Graph tenant: a failed pass waits its interval (`serve.graph_interval`, 900 s), while the
   scheduler runs a round at least every `serve.ews_interval` (60 s). The rounds in between run no pass and count
   as rounds that "did not fail": the count goes 1, 0, 0, … for as long as Graph is down; /healthz stays 200, the
   README's "service down or failing" alert never fires.
2. The opposite: one mailbox broken for its own reason (Set-CASMailbox -EwsEnabled $false for the last EWS person
   of a tenant otherwise on Graph, mid-migration) is alone in the rounds every 60 s, so its failures alone are
   "every pass failed": /healthz turns 503 after 3 minutes while every other mailbox syncs. A readiness probe then
   takes the pod (and with it the Graph webhook) out of the load balancer for one mailbox's problem, which the
   status page and `roomsops_serve_mailbox_failures_total` already report with its remedy.

In this process against the lab, as test_fix26v_healthz_every_pass_failed: the rounds are run one by one
(`Serve.tick`, counted, no timing) with a clock moved as `Serve.run` waits (each next round `seconds_to_next`
later, at most `ews_interval`), over three Graph intervals (1.) or five rounds (2.); the clients' waits are
recorded, not slept.
/healthz is read over HTTP from the real status listener."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import pytest
import requests

from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings, graph_token_provider
from roomsops.adapters.ews.client import EwsClient
from roomsops.adapters.graph.backend import GraphCalendar
from roomsops.adapters.graph.client import GraphClient
from roomsops.adapters.listener import Listener
from roomsops.adapters.store import now_utc
from roomsops.core.logs import AuditLog
from roomsops.core.settings import app_settings_path, load_settings
from roomsops.services.rooms.common import open_database
from roomsops.services.serve.service import Serve
from roomsops.services.serve.status import NOT_READY_AFTER, status_app
from roomsops.services.sync.factory import ews_backend
from roomsops.services.sync.routing import RoutedCalendar
from tests.conftest import Invoke, ok

from .conftest import LabHelper
from .test_fix20e_leaving_resolve import set_ews

pytestmark = pytest.mark.integration


def rounds_of_serve(env: dict[str, str], rounds: int | None = None) -> tuple[list[int], str, list[str]]:
    """The rounds of a service (`rounds`, else as many as three Graph intervals take): /healthz's status code after
    each, the metrics, and /healthz's body after each."""
    from roomsops.cli.sync import lock_path

    settings = load_settings(environ={**os.environ, **env})
    credentials = credentials_from_app_settings(app_settings_path(None, settings, {}), settings, os.environ)
    tokens = TokenProvider(credentials, settings)
    ews = EwsClient(settings, tokens, sleep=lambda seconds: None)
    graph = GraphClient(settings, graph_token_provider(credentials, settings), sleep=lambda seconds: None)

    def open_backend(persons: list[tuple[str, str]], services: dict[str, str]) -> Any:
        routes = {email.casefold(): "graph" if mode == "Microsoft365" else "ews" for email, mode in persons}
        built = {
            "graph": GraphCalendar(graph, settings.rooms.time_zone or "UTC"),
            "ews": ews_backend(settings, ews),
        }
        return RoutedCalendar(built, routes, "ews")

    # the service's clock, ahead of the real one by a day (the database's last pass is of real time)
    now = [now_utc() + timedelta(days=1)]
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
    ews_interval = float(settings.serve.ews_interval)
    if rounds is None:
        rounds = int(NOT_READY_AFTER * float(settings.serve.graph_interval) / ews_interval) + 1
    seen: list[int] = []
    bodies: list[str] = []
    try:
        tokens.token()  # the token service answers (cached)
        graph.provider.token()
        for _ in range(rounds):
            serve.tick()
            answer = requests.get(f"http://{host}:{port}/healthz", timeout=30)
            seen.append(answer.status_code)
            bodies.append(answer.text)
            # the wait `Serve.run` takes before its next round (a round at least every ews_interval)
            now[0] += timedelta(seconds=serve.schedule.seconds_to_next(now[0], ews_interval))
    finally:
        listener.stop()
        store.close()
    assert serve.ticks == rounds
    return seen, serve.metrics.text().decode(), bodies


def passes(text: str, mailbox: str, result: str) -> float:
    lines = [
        line
        for line in text.splitlines()
        if line.startswith("roomsops_serve_passes_total{")
        and f'mailbox="{mailbox}"' in line
        and f'result="{result}"' in line
    ]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_review2627_healthz_turns_503_while_graph_is_down_for_a_graph_tenant(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Callable[[str], str]
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    diego = addr("DiegoS")
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    fresh_lab.fault(protocol="graph", operation="*", kind="http_503", count=100_000)
    try:
        seen, text, bodies = rounds_of_serve(env)
    finally:
        fresh_lab.clear_faults()
    # Diego's pass ran in NOT_READY_AFTER rounds (and more) and failed every time, none did its work
    assert passes(text, diego, "failed") >= NOT_READY_AFTER and passes(text, diego, "ok") == 0, text
    # what should be: Graph has been unreachable for three Graph intervals (45 min): not ready
    assert 503 in seen, seen
    # fix2627b: from the third round whose pass failed on, and the rounds with no pass between keep it so
    first = seen.index(503)
    assert set(seen[first:]) == {503}, seen
    assert re.match(r"not ready: live, but the last \d+ rounds failed: every pass of round", bodies[-1]), (
        bodies[-1]
    )
    assert "1 of 1 mailboxes failing" in bodies[-1], bodies[-1]


def test_review2627_healthz_stays_ready_when_one_mailbox_fails_and_the_others_sync(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Callable[[str], str]
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    diego, adele = addr("DiegoS"), addr("AdeleV")
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    set_ews(fresh_lab, diego, False)  # Set-CASMailbox -EwsEnabled $false: Diego's mailbox only
    try:
        # the first round works both; then Diego's mailbox is due alone every ews_interval (Adele's in 900 s)
        seen, text, _ = rounds_of_serve(env, rounds=NOT_READY_AFTER + 2)
    finally:
        set_ews(fresh_lab, diego, None)
    # Adele's pass did its work; Diego's all failed
    assert passes(text, adele, "ok") == 1 and passes(text, adele, "failed") == 0, text
    assert passes(text, diego, "failed") >= NOT_READY_AFTER and passes(text, diego, "ok") == 0, text
    # what should be: the service does its work (every mailbox but the one whose EWS is off): ready
    assert 503 not in seen, seen
