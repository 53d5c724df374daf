"""review2627: SIGTERM (or SIGINT, SIGHUP) while notified passes run beside a round (fix26u, `Serve._beside`) does
not stop them from starting further mailboxes. The round's own pass stops as `roomsops sync` does ("no mailbox is
started any more; those running finish their phase", README "Running the service": finish the writes in flight,
exit 0), but the signal handler only sets `stopping`, which the thread beside the round reads between its passes,
never inside one: a notified pass of many mailboxes (a burst of notifications, debounced into one pass) runs every
one of them, every phase, before the service lets go of its run lock and exits. A service manager's stop timeout
(systemd: 90 s) then SIGKILLs it mid-write — what finishing only the writes in flight is for.

In this process against the lab: two Graph persons, a notified pass of both (`_notified_pass`, what the thread
beside the round runs) with `sync.concurrency = 1`; the backend hands every call on to the real Graph backend
and, at the first call for either mailbox, does what the signal handler does to the service (`Serve.stop`).
Counted: the calls for the other mailbox after that (its pass started anyway). No timing."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings, graph_token_provider
from roomsops.adapters.graph.backend import GraphCalendar
from roomsops.adapters.graph.client import GraphClient
from roomsops.core.logs import AuditLog
from roomsops.core.settings import app_settings_path, load_settings
from roomsops.services.rooms.common import open_database
from roomsops.services.serve.service import Serve
from tests.conftest import Invoke, ok

from .conftest import LabHelper

pytestmark = pytest.mark.integration


class StoppedAtFirstCall:
    """The Graph backend, every call handed on; the first call for one of `persons` stops the service (as SIGTERM's
    handler does) and names that person `stopped_in`; `after` records the mailboxes of the calls made since."""

    def __init__(self, backend: GraphCalendar, serve: Serve, persons: tuple[str, ...]) -> None:
        self._backend, self._serve = backend, serve
        self._persons = {p.casefold() for p in persons}
        self.stopped_in = ""
        self.after: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._backend, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            mailbox = str(args[0]).casefold() if args and isinstance(args[0], str) else ""
            if self._serve.stopping.is_set():
                self.after.append((name, mailbox))
            elif mailbox in self._persons:
                self.stopped_in = mailbox
                self._serve.stop()  # SIGTERM arrives while this mailbox's pass is under way
            return target(*args, **kwargs)

        return call


def test_review2627_sigterm_starts_no_further_mailbox_of_a_notified_pass_beside_the_round(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Callable[[str], str], tmp_path: Path
) -> None:
    from roomsops.cli.sync import lock_path

    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    diego, adele = addr("DiegoS"), addr("AdeleV")
    for person in (diego, adele):
        ok(invoke("persons", "add", person, "--sync-mode", "Microsoft365", env=env))
    settings = load_settings(environ={**os.environ, **env, "ROOMSOPS_SYNC_CONCURRENCY": "1"})
    assert settings.sync.concurrency == 1
    credentials = credentials_from_app_settings(app_settings_path(None, settings, {}), settings, os.environ)
    tokens = TokenProvider(credentials, settings)
    graph = GraphCalendar(
        GraphClient(settings, graph_token_provider(credentials, settings)), settings.rooms.time_zone or "UTC"
    )
    store = ExitStack()
    serve = Serve(
        settings,
        store.enter_context(open_database(settings)),
        AuditLog(None),
        lock_path(settings),
        lambda persons, services: graph,
        tokens.token,
    )
    backend = StoppedAtFirstCall(graph, serve, (diego, adele))
    try:
        serve._read_persons()
        ready = [serve.schedule.mailboxes[m.casefold()] for m in (diego, adele)]
        serve._notified_pass(ready, backend, lambda: True)
    finally:
        store.close()
    # the first mailbox's pass was under way when the service was stopped
    assert serve.stopping.is_set() and backend.stopped_in in (diego.casefold(), adele.casefold())
    other = ({diego.casefold(), adele.casefold()} - {backend.stopped_in}).pop()
    # what should be: that pass finishes its phase; the other mailbox's pass is not started any more
    assert [call for call in backend.after if call[1] == other] == [], backend.after
