"""`roomsops serve` from start to stop: the status listener in its threads, the scheduler in the main thread."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roomsops.adapters.listener import Listener
from roomsops.adapters.store import Store
from roomsops.adapters.store.runlock import SERVE_LOCK_KEY, DatabaseLock
from roomsops.core import traffic
from roomsops.core.logs import AuditLog, log
from roomsops.core.results import Result
from roomsops.core.settings import Settings
from roomsops.services.serve.config import StatusListen, WebhookListen
from roomsops.services.serve.service import Serve, Waker, WorkerMode, install_signals
from roomsops.services.serve.status import status_app
from roomsops.services.serve.subscriptions import Subscriptions
from roomsops.services.serve.webhook import MAX_BODY, webhook_app
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.lock import LockKind, LockTarget, database_lock_elsewhere, run_lock

#: One service per database: a second would delete the first's Graph subscriptions as left over (their
#: clientState is not its own) and run the same passes.
SERVE_LOCK = LockKind(
    "serve",
    "another roomsops serve is running on this database",
    "serve_locked",
    "; stop it first (one service per database)",
)


def serve_lock_path(lock: LockTarget) -> LockTarget:
    """The service's own lock, held while it runs, beside the run lock (`rooms.db.sync.lock` → `rooms.db.serve.lock`;
    in a server database an advisory lock of its own key)."""
    if isinstance(lock, DatabaseLock):
        return dataclasses.replace(lock, key=SERVE_LOCK_KEY)
    name = lock.name.removesuffix(".sync.lock").removesuffix(".lock")
    return lock.with_name(f"{name}.serve.lock")


def subscriptions_file(settings: Settings, lock: LockTarget) -> Path:
    """Where the service keeps its Graph subscriptions (their clientState: a private file): beside an SQLite
    database (`rooms.db` → `rooms.db.serve-subscriptions.json`), else in the data folder named per database as the
    sync summary is (`roomsops-serve-subscriptions-<digest>.json`): installations of other databases sharing the
    folder never take each other's subscriptions for left over."""
    if isinstance(lock, DatabaseLock):
        return settings.resolve_path(
            f"roomsops-serve-subscriptions-{lock.digest}.json", "sync.summary_file"
        ).absolute()
    name = lock.name.removesuffix(".sync.lock").removesuffix(".lock")
    return lock.with_name(f"{name}.serve-subscriptions.json")


if TYPE_CHECKING:
    from roomsops.adapters.graph.client import GraphClient


#: The webhook's threads (each request holds one while its body is read), how long a client may stay silent
#: while it sends a request, and how long a request may take at all, its TLS handshake included (Graph POSTs a
#: whole notification at once): clients that send slowly hold a thread for at most that, so more of them than
#: threads delay Graph's validation (10 s at most, graph/webhooks) by about that, not for as long as they like.
WEBHOOK_THREADS = 32
WEBHOOK_READ_TIMEOUT = 5
WEBHOOK_REQUEST_DEADLINE = 5.0
#: The status listener's threads (the same read timeout and request deadline as the webhook's).
STATUS_THREADS = 8
#: The largest request body the status listener takes (its pages are GET only; cheroot answers 413 over it).
STATUS_MAX_BODY = 64 * 1024


#: `serve --worker` with `serve.listen`: one such service per database keeps the Graph subscriptions (a second would
#: delete the first's as left over); the other workers run without serve.listen.
SERVE_WEBHOOK_LOCK = LockKind(
    "serve",
    "another roomsops serve with the Graph webhook (serve.listen) is running on this database",
    "serve_locked",
    "; one service per database keeps the Graph subscriptions: run the other 'serve --worker' without "
    "serve.listen",
)


@dataclass(frozen=True)
class ServeResult(Result):
    ticks: int
    passes: int
    failed: int
    #: serve --worker: mailboxes claimed, and passes whose lease was lost (None: not a worker)
    claimed: int | None = None
    lease_lost: int | None = None
    #: rounds that failed before their passes (the token service unreachable, the database down, a bug)
    failed_rounds: int = 0

    def lines(self) -> list[str]:
        rounds = f"{self.ticks} round(s)" + (
            f", {self.failed_rounds} of them failed" if self.failed_rounds else ""
        )
        line = f"serve: stopped after {rounds}: {self.passes} pass(es), {self.failed} failed"
        if self.claimed is not None:
            line += f"; claimed {self.claimed} mailbox(es), {self.lease_lost or 0} lease(s) lost"
        return [line]


def serve(
    settings: Settings,
    store: Store,
    audit: AuditLog,
    lock: LockTarget,
    open_backend: Callable[[list[tuple[str, str]], dict[str, str]], CalendarBackend],
    check_token: Callable[[], object],
    listen: StatusListen,
    max_ticks: int | None,
    announce: Callable[[str], None],
    webhook: WebhookListen | None = None,
    graph_client: Callable[[], GraphClient] | None = None,
    unsubscribe_on_exit: bool = False,
    worker: WorkerMode | None = None,
) -> ServeResult:
    """`worker`: one of several services sharing the mailboxes by their leases (`serve --worker`): the service
    lock is held only with the webhook (the Graph subscriptions are one service's)."""
    held: contextlib.AbstractContextManager[object]
    if worker is None:
        # a second service: exit 1 naming this one's pid
        held = run_lock(serve_lock_path(lock), SERVE_LOCK, database_lock_elsewhere(settings))
    elif webhook is not None and graph_client is not None:
        held = run_lock(serve_lock_path(lock), SERVE_WEBHOOK_LOCK, database_lock_elsewhere(settings))
    else:
        held = contextlib.nullcontext()
    with held:
        return _serve(
            settings,
            store,
            audit,
            lock,
            open_backend,
            check_token,
            listen,
            max_ticks,
            announce,
            webhook,
            graph_client,
            unsubscribe_on_exit,
            worker,
        )


def _serve(
    settings: Settings,
    store: Store,
    audit: AuditLog,
    lock: LockTarget,
    open_backend: Callable[[list[tuple[str, str]], dict[str, str]], CalendarBackend],
    check_token: Callable[[], object],
    listen: StatusListen,
    max_ticks: int | None,
    announce: Callable[[str], None],
    webhook: WebhookListen | None,
    graph_client: Callable[[], GraphClient] | None,
    unsubscribe_on_exit: bool,
    worker: WorkerMode | None = None,
) -> ServeResult:
    service = Serve(
        settings,
        store,
        audit,
        lock,
        open_backend,
        check_token,
        max_ticks=max_ticks,
        announce=announce,
        worker=worker,
    )
    # every request and throttling wait of the clients, passes and subscriptions alike, while the service runs
    forget = traffic.observe(service.metrics.request, service.metrics.throttle)
    try:
        return _run(
            service,
            settings,
            listen,
            announce,
            webhook,
            graph_client,
            unsubscribe_on_exit,
            subscriptions_file(settings, lock),
        )
    finally:
        forget()


def _run(
    service: Serve,
    settings: Settings,
    listen: StatusListen,
    announce: Callable[[str], None],
    webhook: WebhookListen | None,
    graph_client: Callable[[], GraphClient] | None,
    unsubscribe_on_exit: bool,
    state_file: Path,
) -> ServeResult:
    hook: Listener | None = None
    if webhook is not None and graph_client is not None:
        hook = Listener(
            webhook.host,
            webhook.port,
            webhook_app(service.lookup, service.notices, Waker(service), service.metrics, service.clock),
            "serve.listen",
            tls=(webhook.cert_file, webhook.key_file) if webhook.cert_file else None,
            # the app refuses a body over MAX_BODY (413), chunked too; the server refuses twice that unread
            max_body=2 * MAX_BODY,
            # headers over MAX_HEADER (16 KiB) are refused unread (413) and counted with the bodies too large
            on_too_large=service.metrics.webhook_refused.labels("too_large").inc,
            # Faces the internet when it serves TLS itself: clients that hold a request open (a body sent slowly,
            # or never) must not take every thread while Graph's validation waits (10 s at most, graph/webhooks).
            threads=WEBHOOK_THREADS,
            timeout=WEBHOOK_READ_TIMEOUT,
            deadline=WEBHOOK_REQUEST_DEADLINE,
        )
        bound = hook.start()
        notify, lifecycle = webhook.urls(bound)
        service.subscriptions = Subscriptions(
            graph_client(), notify, lifecycle, service.metrics, service.clock, state_file
        )
        announce(f"roomsops serve: Graph webhook on {notify}")
        log.info("serve: Graph webhook listening on %s:%d, notifications to %s", *bound, notify)
    intervals = {"ews": settings.serve.ews_interval, "graph": settings.serve.graph_interval}
    listener = Listener(
        listen.host,
        listen.port,
        status_app(service.board, service.metrics, listen.allow, intervals, listen.names),
        "serve.status_listen",
        # A scrape or a page answers in milliseconds: clients that send a request slowly (any local process, or a
        # host serve.status_allow lets in) hold a thread for at most the deadline, so /healthz stays answered.
        threads=STATUS_THREADS,
        # GET only: a body is never read, so none larger than STATUS_MAX_BODY is taken (headers: MAX_HEADER)
        max_body=STATUS_MAX_BODY,
        timeout=WEBHOOK_READ_TIMEOUT,
        deadline=WEBHOOK_REQUEST_DEADLINE,
    )
    try:
        host, port = listener.start()
    except BaseException:
        if hook is not None:
            hook.stop()
        raise
    shown = f"[{host}]" if ":" in host else host
    announce(f"roomsops serve: status on http://{shown}:{port}/")
    log.info("serve: started; status on http://%s:%d/", shown, port)
    restore = install_signals(service)
    try:
        try:
            service.run()
        finally:
            # The handlers stay until the very end: a second SIGTERM while the listeners stop and the
            # subscriptions are closed (deleted with --unsubscribe-on-exit) is only said, as during a round.
            listener.stop()
            if hook is not None:
                hook.stop()
            if service.subscriptions is not None:
                service.subscriptions.close(unsubscribe_on_exit)
    finally:
        restore()
    passes = sum(int(s.value) for s in _samples(service, "roomsops_serve_passes_total"))
    failed = sum(
        int(s.value)
        for s in _samples(service, "roomsops_serve_passes_total")
        if s.labels.get("result") == "failed"
    )
    rounds_failed = sum(int(s.value) for s in _samples(service, "roomsops_serve_round_errors_total"))
    log.info("serve: stopped after %d round(s), %d of them failed", service.ticks, rounds_failed)
    if service.worker is None:
        return ServeResult(service.ticks, passes, failed, failed_rounds=rounds_failed)
    claimed = sum(int(s.value) for s in _samples(service, "roomsops_serve_claimed_total"))
    lost = sum(int(s.value) for s in _samples(service, "roomsops_serve_lease_lost_total"))
    return ServeResult(service.ticks, passes, failed, claimed, lost, rounds_failed)


def _samples(service: Serve, name: str) -> list[Any]:
    return [s for metric in service.metrics.registry.collect() for s in metric.samples if s.name == name]
