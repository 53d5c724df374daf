"""The scheduler of `roomsops serve`: rounds that run the passes due (`schedule.py`) with the sync pass of
`roomsops sync` (`services/sync/run.py`), each under the database's run lock, until stopped.

The run lock is taken for each round and released between rounds: a `roomsops sync` (or `sync resolve`, `purge`,
…) started beside the service is refused (exit 1, naming the service's pid) while a round runs and runs between
rounds; a round that finds the lock held by such a command waits for the next round, 1 s after the first refusal, doubling to 15 s (counted in
`roomsops_serve_lock_busy_total`). SIGTERM/SIGINT: no new round starts; a round under way stops like `roomsops
sync` on SIGTERM (no mailbox is started any more, those running finish their phase, so every write in flight
is settled in the database), and the service exits 0. A restart reads each mailbox's last pass and sync state
from the database: it goes on where the last process stopped.

A Graph change notification that comes during a round does not wait for it (issue 26: notification → pass p95
≤ 10 s): the notified mailbox's pass runs beside the round in a thread of its own (`_beside`), under the round's run
lock, unless the round works that mailbox itself.

With `worker` (`roomsops serve --worker`, issue 27.2, PostgreSQL) the service is one of several sharing the
mailboxes through the sync workers' leases instead of the run lock (`_worker_round`): each round holds the run lock
shared, as `sync --worker` does, and runs `worker_run` until nothing is left that was due when it started — claims
in batches, the same pass code and lease fence, each lease given back as its pass is done, due again after
`serve.ews_interval` or `serve.graph_interval` (by the mailbox's service); SIGTERM gives the leases back (a write in
flight keeps its own until it expires). The schedule is the database's: the mailboxes' next runs. A change
notification makes its mailbox due in the database (`leases.make_due`, after the debounce), so whichever service
claims it next works it; under a live lease too, and the lease's release keeps that sooner next run (the pass under
way may have read the mailbox before the change): nothing waits in this process's memory. Between rounds the
database is asked every second whether such a lease was given back (`_wait_for_work`), not a round. No pass runs
beside a round: every pass is a claimed one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from roomsops.adapters.store import Difference, Store, email_key, now_utc
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.leases import ensure_mailboxes, make_due, queue_state
from roomsops.core.errors import OperationFailed, RoomsopsError, Terminated
from roomsops.core.logs import AuditLog, log, mask
from roomsops.core.settings import Settings
from roomsops.core.vocabulary import SYNCED_MODES
from roomsops.services.serve.metrics import ServeMetrics
from roomsops.services.serve.schedule import Due, Schedule
from roomsops.services.serve.status import (
    DIFFERENCES_SHOWN,
    Board,
    DeclinedRow,
    DifferenceRow,
    MailboxRow,
    Snapshot,
    SubscriptionRow,
)
from roomsops.services.serve.subscriptions import Subscriptions
from roomsops.services.serve.webhook import Notice
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.engine import MailboxReport, unexpected
from roomsops.services.sync.factory import backend_for_mode
from roomsops.services.sync.fence import LEASE_LOST, MAILBOX_GONE, LockLost
from roomsops.services.sync.lock import WORKER, LockHeld, LockTarget, database_lock_elsewhere, run_lock
from roomsops.services.sync.run import persons_left_to_settle, sync_pass
from roomsops.services.sync.worker import leased, worker_run

#: The kinds of differences (`roomsops sync diff`): each is in the gauge, at 0 when none is open.
DIFFERENCE_KINDS = ("both_changed", "room_changed", "attendees_changed")

#: The changes a mailbox's row on the status page sums up.
_CHANGES = (
    "created",
    "updated",
    "cancelled",
    "exchange_edits",
    "bookings_cancelled",
    "bookings_created",
    "duplicates_removed",
)


def back_off(rounds: int, interval: float | None = None) -> float:
    """Seconds before the next round after `rounds` rounds in a row that could not do their work (the run lock held
    by another command, a round failed, mailboxes leased by a sync worker): 1, 2, 4, 8, 15, never more than the
    interval (but at least 1 s: the mailboxes stay due, so without a wait the rounds would spin)."""
    cap = float(BACK_OFF_MAX_S) if interval is None else max(1.0, min(float(BACK_OFF_MAX_S), interval))
    return float(min(cap, 2 ** max(0, rounds - 1)))


def lock_back_off(busy_rounds: int) -> float:
    """Seconds before the next round after `busy_rounds` rounds in a row found the run lock held: 1, 2, 4, 8, 15."""
    return back_off(busy_rounds)


BACK_OFF_MAX_S = 15
LOCK_BACK_OFF_MAX_S = BACK_OFF_MAX_S
#: In worker mode, how often notifications waiting for a lease to be given back are asked about again (seconds).
LEASE_RECHECK_S = 1.0


@dataclass(frozen=True)
class WorkerMode:
    """`roomsops serve --worker`: the batch a round claims at once and the name its leases carry."""

    batch: int
    owner: str


@dataclass
class Serve:
    """One service: `run()` until `stop()` (or `max_ticks` rounds)."""

    settings: Settings
    store: Store
    audit: AuditLog
    lock: LockTarget
    #: the calendar backend for the synced persons (email, sync mode) and the service each was last synced over
    open_backend: Callable[[list[tuple[str, str]], dict[str, str]], CalendarBackend]
    #: asks the token service once per round that has work (a refusal fails the round, not every mailbox)
    check_token: Callable[[], object]
    metrics: ServeMetrics = field(default_factory=ServeMetrics)
    board: Board = field(default_factory=Board)
    max_ticks: int | None = None
    clock: Callable[[], datetime] = now_utc
    stopping: threading.Event = field(default_factory=threading.Event)
    #: set by a notification the webhook queued (and by `stop`): the scheduler looks at once
    wake: threading.Event = field(default_factory=threading.Event)
    notices: queue.Queue[Notice] = field(default_factory=queue.Queue)
    #: the Graph subscriptions (None: no webhook, Graph mailboxes on serve.graph_interval only)
    subscriptions: Subscriptions | None = None
    ticks: int = 0
    #: Rounds in a row refused by the run lock (another command holds it): the next waits 1 s, doubling to 15 s.
    busy_rounds: int = 0
    #: Rounds in a row that failed (a RoomsopsError or a bug) or left leased mailboxes out: the same back-off.
    stalled_rounds: int = 0
    #: Rounds in a row that failed before their passes (a RoomsopsError or a bug; a round refused by the run lock is
    #: not counted, nor does it end the count).
    error_rounds: int = 0
    #: Rounds in a row that ran passes, one or more failing, while most mailboxes were failing (`_judge_passes`):
    #: judged by each mailbox's last pass, not by which mailboxes a round happens to work (review2627).
    failing_rounds: int = 0
    #: The larger of the two: /healthz says not ready from `status.NOT_READY_AFTER` on.
    failed_rounds: int = 0
    #: why the last round counted in `failed_rounds` failed (/healthz's reason while it is not ready)
    _failure: RoomsopsError | None = None
    #: the token check of the round under way: None not asked (no work), True answered, False refused
    _token_now: bool | None = None
    #: the last failed round's error came from the token check: only a round whose token check is answered ends
    #: the count, not a round with no work that never asked (review27y)
    _token_failed: bool = False
    _last: dict[str, MailboxReport] = field(default_factory=dict)
    _in_round: bool = False
    #: the round under way left mailboxes leased by a sync worker out (they stay due: the next round backs off)
    _left_leased: bool = False
    #: the reports of the passes the round under way (or the last) ran itself (`_every_pass_failed`)
    _round_reports: list[MailboxReport] = field(default_factory=list)
    #: the (organizer, booking, version) of the Graph persons' bookings ROOMS changed and no pass wrote, last round
    _unsynced_seen: set[tuple[str, int, int]] = field(default_factory=set)
    #: mailbox (casefolded) -> the label of its last-pass gauge (removed when the person leaves the sync)
    _gauged: dict[str, str] = field(default_factory=dict)
    #: a signal already stopped the round under way (`on_signal`): the next ones wait for its writes in flight
    _interrupted: bool = False
    #: a line for the operator on stderr (the service manager's journal)
    announce: Callable[[str], None] = field(default=lambda line: None)
    #: set with `wake` by a notification the webhook queued: the notified passes beside a round look at once
    _beside_wake: threading.Event = field(default_factory=threading.Event)
    #: the schedule, the last reports and the metrics' labels, shared by the round and the notified passes beside it
    _guard: threading.Lock = field(default_factory=threading.Lock)
    #: `roomsops serve --worker` (None: the run lock's rounds)
    worker: WorkerMode | None = None
    #: worker mode: mailbox key -> the debounce: notified mailboxes not made due in the database yet
    #: (`_settle_notified`; left for the next time when the database failed)
    _notified: dict[str, timedelta] = field(default_factory=dict)
    #: worker mode: mailbox keys a change in ROOMS made due, not written to the database yet (`_settle_notified`)
    _prompted: set[str] = field(default_factory=set)
    #: worker mode: a notification made a mailbox due under a live lease (`queue_state`): between rounds the
    #: database is asked every `LEASE_RECHECK_S` whether it was given back (`_wait_for_work`), without a round
    _lease_waited: bool = False
    #: worker mode: the last round claimed nothing (the next waits a little even if a mailbox is due)
    _idle_round: bool = False

    def __post_init__(self) -> None:
        serve = self.settings.serve
        # In worker mode healing is `sync.full_every`'s count in the database, as for `sync --worker`: which
        # service claims a mailbox changes from pass to pass, so no process's own healing schedule would hold.
        healing = (
            timedelta(seconds=serve.healing_interval)
            if serve.healing_interval and self.worker is None
            else None
        )
        self.schedule = Schedule(
            {"ews": timedelta(seconds=serve.ews_interval), "graph": timedelta(seconds=serve.graph_interval)},
            healing=healing,
            started=self.clock(),
        )
        # With a healing schedule the service decides which passes are full; `sync.full_every`'s count of passes
        # (every 24 minutes at a 60 s interval) would heal far more often than asked.
        sync = self.settings.sync
        self.pass_settings = (
            dataclasses.replace(self.settings, sync=dataclasses.replace(sync, full_every=0))
            if healing is not None
            else self.settings
        )

    def lookup(self, subscription_id: str, client_state: object) -> tuple[str | None, str | None]:
        """For the webhook: the mailbox of a subscription of ours with its clientState, else why not."""
        if self.subscriptions is None:
            return None, "unknown_subscription"
        return self.subscriptions.lookup(subscription_id, client_state)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self._beside_wake.set()

    def notified(self) -> None:
        """The webhook queued notifications: the scheduler (between rounds) and the notified passes beside a round
        (during one) look at once."""
        self.wake.set()
        self._beside_wake.set()

    def run(self) -> None:
        """Rounds until stopped: the first at once, each next when a mailbox is due (at most `ews_interval`
        apart, so a person added meanwhile is picked up)."""
        while not self.stopping.is_set():
            if self.max_ticks is not None and self.ticks >= self.max_ticks:
                return
            if self.ticks:
                # the mailboxes stay due after a refused, failed or leased round: without a back-off the rounds
                # would spin (each asking the token service and the database again, each logging a line). A
                # notification does not cut it short (its pass needs what just failed): it is kept for the round
                # after the back-off; only a stop does.
                stalled = max(self.busy_rounds, self.stalled_rounds)
                wait = self._seconds_to_next()
                if stalled:
                    held = back_off(stalled, float(self.settings.serve.ews_interval))
                    if not self._back_off(held):
                        return
                    wait -= held  # what is left of the wait for the next mailbox due, after the back-off
                if self.notices.empty() and wait > 0:
                    self._wait_for_work(wait)
                self.wake.clear()
                if self.stopping.is_set():
                    return
            try:
                self.tick()
            except Terminated:
                log.info("serve: stopped during a round; the writes in flight were finished")
                return

    def _seconds_to_next(self) -> float:
        """Seconds until the next round: until the next mailbox is due (the schedule's, or in worker mode the
        database's), at most `serve.ews_interval` (a person added meanwhile is picked up)."""
        at_most = float(self.settings.serve.ews_interval)
        if self.worker is None:
            return self.schedule.seconds_to_next(self.clock(), at_most)
        try:
            with self.store.read() as conn:
                due, soonest, now, lease_end = queue_state(conn)
        except RoomsopsError:
            self._lease_waited = False
            return at_most  # the next round says what failed
        wait = 0.0 if due else at_most if soonest is None else min(at_most, (soonest - now).total_seconds())
        # A notification under a live lease: its mailbox is due once the lease is given back (`_wait_for_work`
        # asks), at the latest when it ends.
        self._lease_waited = lease_end is not None
        if lease_end is not None:
            wait = min(wait, (lease_end - now).total_seconds())
        if self._notified or self._prompted:  # not in the database yet (it failed): tried again soon
            wait = min(wait, LEASE_RECHECK_S)
        if self._idle_round:  # due, but nothing was claimable (rows locked by a claim under way): no spin
            wait = max(wait, LEASE_RECHECK_S)
        return max(0.0, wait)

    def _wait_for_work(self, wait: float) -> None:
        """Waits `wait` seconds for the next round (or a notification, or a stop). In worker mode, while a
        notification waits for another service's lease to be given back, the database is asked every
        `LEASE_RECHECK_S` (`queue_state`: a few aggregate statements, not a round reading every person and
        mailbox state) and the wait ends as soon as a mailbox is due."""
        while not self.stopping.is_set():
            step = min(wait, LEASE_RECHECK_S) if self.worker is not None and self._lease_waited else wait
            if self.wake.wait(timeout=max(0.0, step)) or step >= wait or self.stopping.is_set():
                return
            wait = min(wait - step, self._seconds_to_next())
            if wait <= 0:
                return

    def _back_off(self, seconds: float) -> bool:
        """Waits `seconds` after a round that could not do its work, whatever notifications come meanwhile (each
        wakes the wait: it goes on for the time left); False when the service was stopped meanwhile."""
        until = time.monotonic() + seconds
        timeout = seconds
        while not self.stopping.is_set():
            if not self.wake.wait(timeout=timeout):
                return True  # the back-off ran out
            self.wake.clear()  # a notification (queued, taken by the round after the back-off) or a stop
            timeout = max(0.0, until - time.monotonic())
        return False

    def _check_token(self) -> None:
        """The round's token check, its answer kept for readiness (`_token_failed`)."""
        self._token_now = False
        self.check_token()
        self._token_now = True

    def tick(self) -> None:
        """One round: read the persons and their last passes, run the passes due under the run lock."""
        now = self.clock()
        snapshot_error: RoomsopsError | None = None
        busy: str | None = None
        self._left_leased = False
        self._round_reports = []
        self._token_now = None
        due: list[Due] = []
        try:
            persons, services = self._read_persons()
            self._drop_gauges_of_leavers()
            self._take_notices()
            self._keep_subscriptions()
            if self.worker is not None:
                busy = self._worker_round(persons, services)
            else:
                now = self.clock()
                due = self.schedule.due(now)
                self.metrics.queue.set(len(due))
                # Persons who left the sync (removed, or a mode roomsops does not sync) are in no mailbox due: their
                # meetings are dealt with as `roomsops sync` does (reported or purged, `sync.on_person_removed`).
                leavers = persons_left_to_settle(self.store)
                if due or leavers:
                    busy = self._passes(due, persons, services, leavers)
        except RoomsopsError as exc:
            snapshot_error = exc
            self.metrics.round_errors.labels(exc.code or type(exc).__name__).inc()
            log.error("serve: round %d failed: %s", self.ticks + 1, exc.one_line())
        except Exception as exc:  # a bug, not the service's end: counted, logged with its traceback, and on
            snapshot_error = OperationFailed(
                mask(f"round {self.ticks + 1} failed: {unexpected(exc)}"),  # the page shows it: no secret
                "report it with the log file (its traceback); the service goes on with the next round",
                code="internal",
            )
            self.metrics.round_errors.labels("internal").inc()
            # The log's filter masks every registered secret in the message and the traceback.
            log.exception("serve: round %d failed: %s", self.ticks + 1, unexpected(exc))
            self._fail_due(due, snapshot_error)
        self.busy_rounds = self.busy_rounds + 1 if busy else 0
        stalled = snapshot_error is not None or self._left_leased
        self.stalled_rounds = self.stalled_rounds + 1 if stalled else 0
        # Readiness (README "Running the service"): rounds that failed before their passes, and rounds whose passes
        # failed while most mailboxes fail (Exchange unreachable while the cached token is still valid: not an error
        # of the round, no back-off, each failed mailbox waits its interval).
        failing = None
        if snapshot_error is not None:
            self.error_rounds += 1
            self._failure = snapshot_error
            self._token_failed = self._token_now is False
        elif not busy:
            if not self._token_failed or self._token_now:
                if self.error_rounds:  # said on stderr after the failures (core.logs.FailureConsole)
                    log.info(
                        "serve: round %d worked after %d failed round(s)",
                        self.ticks + 1,
                        self.error_rounds,
                        extra={"fields": {"event": "rounds_recovered"}},
                    )
                self.error_rounds = 0
                self._token_failed = False
            failing = self._judge_passes()
        self.failed_rounds = max(self.error_rounds, self.failing_rounds)
        if not self.failed_rounds:
            self._failure = None
        self.ticks += 1
        self.metrics.ticks.inc()
        self.board.publish(self._snapshot(snapshot_error or failing, busy))

    def _judge_passes(self) -> RoomsopsError | None:
        """The round's passes for readiness (review2627), judged by every mailbox's last pass (`_last`, those of the
        notified passes too): with more than half of the mailboxes failing, a round with a failed pass is a failed
        round (its error returned: the first failure's error and remedy); with half or fewer the count ends (one
        mailbox failing alone in its rounds is that mailbox's problem: the page and the metrics show it). A round
        that ran no pass, or whose passes all did their work while most mailboxes still fail, changes nothing: a
        failed Graph mailbox waits `serve.graph_interval`, while rounds come every `serve.ews_interval`."""
        reports = self._round_reports
        if not reports:
            return None
        known = [r for key, r in self._last.items() if key in self.schedule.mailboxes]
        failing = [r for r in known if not r.ok]
        if len(failing) * 2 <= len(known):
            self.failing_rounds = 0
            return None
        failed = [r for r in reports if not r.ok]
        if not failed:
            return None
        self.failing_rounds += 1
        first, round_ = failed[0], self.ticks + 1
        what = (
            f"every pass of round {round_} failed"
            if len(failed) == len(reports)
            else f"{len(failed)} of {len(reports)} passes of round {round_} failed"
        )
        self._failure = OperationFailed(
            f"{what} ({len(failing)} of {len(known)} mailboxes failing; "
            f"{first.mailbox}: {first.error or first.error_code or 'failed'})",
            first.remedy or "see each mailbox's error on the status page",
            code=first.error_code or "passes_failed",
        )
        return self._failure

    def _read_persons(self) -> tuple[list[tuple[str, str]], dict[str, str]]:
        now = self.clock()
        with self.store.read() as conn:
            persons = [(p.email, p.sync_mode) for p in q.list_persons(conn, sync_modes=SYNCED_MODES)]
            kinds = {email: backend_for_mode(self.settings, mode) for email, mode in persons}
            services = q.mailbox_services(conn)
            last = {p: q.get_mailbox_sync(conn, p) for p, _ in persons}
            graph = [email for email, service in kinds.items() if service == "graph"]
            unsynced = q.unsynced_bookings(conn, graph, now)
        self.schedule.update(
            kinds,
            {email.casefold(): state.last_pass if state else None for email, state in last.items()},
            {email.casefold(): state.passes_since_full if state else 0 for email, state in last.items()},
        )
        # A Graph mailbox is due on a notification (Outlook's side) or its interval: a booking made or changed in
        # ROOMS since its last pass makes its pass due now, as an EWS mailbox's next round would write it. Only a
        # (booking, version) not seen unsynced before does, so a booking its pass cannot write (a failed pass) waits
        # for the interval instead of bringing a pass every round.
        addresses = {email_key(email): email for email in graph}
        for organizer in {key for key, _, _ in unsynced - self._unsynced_seen}:
            if self.worker is None:
                self.schedule.prompt(addresses.get(organizer, organizer), now)
            else:  # due in the database, for whichever service claims it (a pass under way takes it)
                self._prompted.add(organizer)
        self._unsynced_seen = unsynced
        return persons, services

    def _drop_gauges_of_leavers(self) -> None:
        """The last-pass gauge of a person who left the sync (removed, or a mode roomsops does not sync) goes: kept,
        README's "a mailbox is not synced" alert would fire for a person nobody syncs any more."""
        for key in [k for k in self._gauged if k not in self.schedule.mailboxes]:
            with contextlib.suppress(KeyError):
                self.metrics.last_pass.remove(self._gauged[key])
            del self._gauged[key]

    def _take_notices(self) -> None:
        """The webhook's notifications since the last round: a change makes its mailbox's pass due after the
        debounce; `missed` a full pass at once; `subscriptionRemoved` a new subscription and a pass (changes
        meanwhile were not notified); `reauthorizationRequired` a reauthorization."""
        debounce = timedelta(seconds=self.settings.serve.notification_debounce)
        while True:
            try:
                notice = self.notices.get_nowait()
            except queue.Empty:
                break
            if notice.kind == "change":
                self._push(notice.mailbox, notice.received, debounce)
            elif notice.kind == "missed":
                self._push(notice.mailbox, notice.received, timedelta(0), full=True)
            elif notice.kind == "subscriptionRemoved":
                if self.subscriptions is not None:
                    self.subscriptions.removed(notice.mailbox)
                self._push(notice.mailbox, notice.received, timedelta(0))
            elif notice.kind == "reauthorizationRequired" and self.subscriptions is not None:
                self.subscriptions.reauthorize(notice.mailbox)
        self.metrics.queue_notifications.set(self.notices.qsize())
        self._settle_notified()

    def _push(self, mailbox: str, received: datetime, debounce: timedelta, full: bool = False) -> None:
        """A notification (or a new subscription) makes the mailbox's pass due `debounce` after it: in the
        schedule, or in worker mode in the database (`_settle_notified`; a `missed` notification's pass is then a
        normal one, not a full one: `sync.full_every` heals)."""
        if self.worker is None:
            self.schedule.push(mailbox, received, debounce, full)
            return
        key = email_key(mailbox)
        self._notified[key] = min(debounce, self._notified.get(key, debounce))

    def _settle_notified(self) -> None:
        """Worker mode: each notified mailbox made due in the database (`leases.make_due`), under a live lease too:
        the release of that lease keeps the sooner next run (the pass under way may have read the mailbox before the
        change), whatever becomes of this service meanwhile. A mailbox a change in ROOMS prompted is made due unless
        leased (the pass under way takes it, as in a plain service: marked under the lease, every mailbox a service
        saw prompted while another worked it would get a second pass). A database failure leaves them for the next
        time."""
        if self.worker is None or not (self._notified or self._prompted):
            return
        try:
            for key in sorted(self._prompted):
                with self.store.leases() as conn:
                    make_due(conn, key, timedelta(0), under_lease=False)
                self._prompted.discard(key)
            for key, debounce in sorted(self._notified.items()):
                with self.store.leases() as conn:
                    make_due(conn, key, debounce)
                del self._notified[key]
        except RoomsopsError as exc:
            log.warning("serve: notified mailboxes not made due yet: %s", exc.one_line())

    def _keep_subscriptions(self) -> None:
        """Every Graph mailbox subscribed (made, renewed at half their lifetime, those of persons gone deleted)."""
        if self.subscriptions is None:
            return
        graph = [d.mailbox for d in self.schedule.mailboxes.values() if d.service == "graph"]
        for mailbox in self.subscriptions.keep(graph, self.stopping.is_set):
            # Changes before the subscription existed were not notified: a pass (at once) catches them up, except
            # for a mailbox never synced (its first pass is due anyway).
            due = self.schedule.mailboxes.get(mailbox.casefold())
            if due is not None and self.schedule.next_due(due) is not None:
                self._push(mailbox, self.clock(), timedelta(0))

    def _passes(
        self, due: list[Due], persons: list[tuple[str, str]], services: dict[str, str], leavers: list[str]
    ) -> str | None:
        """The passes of the mailboxes due, in one sync pass under the run lock (those after a `missed`
        notification in a full one), the persons who left the sync (`leavers`) in the first; what held the lock,
        if it was."""
        now = self.clock()
        healing = {d.mailbox.casefold() for d in due if self.schedule.heal_due(d, now)}
        wanted = self.schedule.full | healing
        full = [d for d in due if d.mailbox.casefold() in wanted]
        rest = [d for d in due if d.mailbox.casefold() not in wanted]
        reports: list[MailboxReport] = []
        try:
            with (
                run_lock(self.lock, elsewhere=database_lock_elsewhere(self.settings)) as lock_held,
                self._interruptible(),
            ):
                self._check_token()
                # A killed sync worker's live leases (PostgreSQL): those mailboxes wait for the lease's next owner
                # or its expiry, as a plain sync refuses beside them (their pending intents are not ours).
                held = leased(self.store, [d.mailbox for d in due] + leavers)
                if held:
                    self._left_leased = True
                    log.warning(
                        "serve: %d mailbox(es) are leased by sync workers (e.g. %s); they wait for the next round",
                        len(held),
                        min(held),
                        extra={"fields": {"event": "leased", "mailboxes": len(held)}},
                    )
                    rest = [d for d in rest if email_key(d.mailbox) not in held]
                    full = [d for d in full if email_key(d.mailbox) not in held]
                    leavers = [p for p in leavers if email_key(p) not in held]
                backend = self.open_backend(persons, services)
                # The mailboxes this round works (and those leased): the notified passes beside it take none of them.
                worked = {email_key(d.mailbox) for d in due} | {email_key(p) for p in leavers} | held
                with self._beside(backend, lock_held, worked):
                    for group, is_full in ((rest, False), (full, True)):
                        if self.stopping.is_set():
                            break
                        # the persons who left, in the first pass of the round (a pass of them alone if none is due)
                        named, leavers = [d.mailbox for d in group] + leavers, []
                        if not named:
                            continue
                        self._take_pushed(group)
                        result = sync_pass(
                            self.store,
                            backend,
                            self.pass_settings,
                            self.audit,
                            named,
                            concurrency=self.settings.sync.concurrency,
                            full=is_full,
                            lock_held=lock_held,  # review27s: lost mid-round, nothing more is written
                            stopping=self.stopping.is_set,
                        )
                        reports += result.mailboxes
        except (LockHeld, LockLost) as exc:
            self.metrics.lock_busy.inc()
            log.warning(
                "serve: round %d waits %g s for the next: %s",
                self.ticks + 1,
                lock_back_off(self.busy_rounds + 1),
                exc.message,
            )
            return exc.message
        with self._guard:
            self._account(reports, due, services, healing)
            self.metrics.queue.set(0)
        self._round_reports = reports
        return None

    def _worker_round(self, persons: list[tuple[str, str]], services: dict[str, str]) -> str | None:
        """Worker mode (`roomsops serve --worker`): the round claims the mailboxes due in batches and works them
        with the sync workers' code (`worker_run`: claim, lease fence, each lease given back as its pass is done),
        holding the run lock shared; until nothing is left that was due when it started. What held the lock, if
        it was."""
        assert self.worker is not None
        with self.store.leases() as conn:  # a person added meanwhile is queued, due at once
            ensure_mailboxes(conn, [email for email, _ in persons], now_utc())
            due, _, _, _ = queue_state(conn)
        self.metrics.queue.set(due)
        self._idle_round = False
        if not due:
            return None
        kinds = {email_key(d.mailbox): d.service for d in self.schedule.mailboxes.values()}
        intervals = {
            "ews": timedelta(seconds=self.settings.serve.ews_interval),
            "graph": timedelta(seconds=self.settings.serve.graph_interval),
        }

        def interval_for(key: str) -> timedelta:
            return intervals.get(kinds.get(key, "ews"), intervals["ews"])

        try:
            with (
                run_lock(self.lock, WORKER, database_lock_elsewhere(self.settings)) as lock_held,
                self._interruptible(),
            ):
                self._check_token()
                backend = self.open_backend(persons, services)
                with self._beside(backend, lock_held, set()):
                    result = worker_run(
                        self.store,
                        backend,
                        self.pass_settings,
                        self.audit,
                        batch=self.worker.batch,
                        until_idle=True,
                        concurrency=self.settings.sync.concurrency,
                        owner=self.worker.owner,
                        lock_held=lock_held,
                        interval_for=interval_for,
                    )
        except (LockHeld, LockLost) as exc:
            self.metrics.lock_busy.inc()
            log.warning(
                "serve: round %d waits %g s for the next: %s",
                self.ticks + 1,
                lock_back_off(self.busy_rounds + 1),
                exc.message,
            )
            return exc.message
        self.metrics.claimed.inc(result.claimed)
        self._idle_round = result.claimed == 0
        passes = [m for m in result.mailboxes if m.error_code not in (LEASE_LOST, MAILBOX_GONE)]
        for mailbox in result.lease_lost:
            self.metrics.lease_lost.labels(self._address(mailbox)).inc()
        with self._guard:
            self._account(passes, list(self.schedule.mailboxes.values()), services, set())
            self.metrics.queue.set(0)
        self._round_reports = passes
        if result.stopped is not None:  # the run lock's connection ended: as a lock lost
            self.metrics.lock_busy.inc()
            return str(result.stopped["message"])
        return None

    def _take_pushed(self, group: list[Due]) -> dict[str, tuple[datetime, datetime]]:
        """The passes of `group` start: the notifications so far are theirs (the lag since the first is measured);
        what was taken (mailbox casefolded -> (due, received))."""
        with self._guard:
            started = self.clock()
            taken = {
                k: self.schedule.pushed[k]
                for d in group
                if (k := d.mailbox.casefold()) in self.schedule.pushed
            }
            received = [t for d in group if (t := self.schedule.take_pushed(d.mailbox)) is not None]
            if received:
                self.metrics.notification_lag.set((started - min(received)).total_seconds())
            return taken

    def _account(
        self, reports: list[MailboxReport], due: list[Due], services: dict[str, str], healing: set[str]
    ) -> None:
        """The passes that ended: each mailbox tried now, its report kept for the page, and counted (under
        `_guard`)."""
        finished = self.clock()
        kinds = {d.mailbox.casefold(): d.service for d in due}
        for report in reports:
            service = kinds.get(report.mailbox.casefold()) or services.get(report.mailbox.casefold(), "ews")
            self.schedule.done(report.mailbox, finished)
            self._last[report.mailbox.casefold()] = report
            outcome = "ok" if report.ok else "failed"
            self.metrics.passes.labels(report.mailbox, service, outcome).inc()
            if report.pass_kind == "full":
                self.metrics.full_passes.labels(report.mailbox).inc()
                if report.ok:
                    self.schedule.healed_at(report.mailbox, finished)
            if report.mailbox.casefold() in healing:
                self.metrics.healing_passes.labels(report.mailbox, outcome).inc()
            self.metrics.last_pass.labels(report.mailbox).set(finished.timestamp())
            self._gauged[report.mailbox.casefold()] = report.mailbox
            if not report.ok:
                self.metrics.failures.labels(report.mailbox, report.error_code or "write_failed").inc()

    def _fail_due(self, due: list[Due], error: RoomsopsError) -> None:
        """The mailboxes of a round (or of notified passes beside one) that failed unexpectedly: each a failed
        pass, tried now (so it waits its interval, not a busy loop on the same bug)."""
        finished = self.clock()
        for d in due:
            report = MailboxReport(d.mailbox, error=error.message, error_code="internal", remedy=error.remedy)
            self.schedule.done(d.mailbox, finished)
            self._last[d.mailbox.casefold()] = report
            self.metrics.passes.labels(d.mailbox, d.service, "failed").inc()
            self.metrics.failures.labels(d.mailbox, "internal").inc()

    @contextmanager
    def _beside(
        self, backend: CalendarBackend, lock_held: Callable[[], bool], worked: set[str]
    ) -> Iterator[None]:
        """While the round's passes run (the block): the passes of mailboxes a Graph notification named, in a
        thread of their own, as soon as their debounce passed, so a notified pass never waits for a slow pass of
        another mailbox (issue 26: notification → pass p95 ≤ 10 s). They share the round's run lock (its holder
        is this process; `lock_held` fences each of their writes too) and backend, and take no mailbox the round
        works (`worked`, by `email_key`): a mailbox is worked by one pass at a time. A notification for one of
        those waits for the next round, as before. The block ends only after the pass under way beside it ended,
        so the run lock is let go of with no write in flight (a signal while it waits is raised after)."""
        done = threading.Event()
        thread = threading.Thread(
            target=self._notified_passes if self.worker is None else self._notified_to_database,
            args=(backend, lock_held, worked, done),
            name="serve-notified",
            daemon=True,
        )
        thread.start()
        try:
            yield
        finally:
            done.set()
            self._beside_wake.set()
            interrupted: BaseException | None = None
            while thread.is_alive():
                try:
                    thread.join()
                except Terminated as exc:  # the first signal of the round: raised once the pass beside ended
                    interrupted = exc
            if interrupted is not None:
                raise interrupted

    def _notified_passes(
        self, backend: CalendarBackend, lock_held: Callable[[], bool], worked: set[str], done: threading.Event
    ) -> None:
        """The thread of `_beside`: takes the webhook's notifications into the schedule and runs the passes of
        the notified mailboxes due that the round does not work, one pass after the other, until the round ends."""
        while not done.is_set() and not self.stopping.is_set():
            self._beside_wake.clear()  # before the queue is read: a notification after it wakes the wait below
            try:
                with self._guard:
                    self._take_notices()
                    now = self.clock()
                    ready, wait = self._notified_due(now, worked)
                if not ready:
                    self._beside_wake.wait(timeout=wait)
                    continue
                if not self._notified_pass(ready, backend, lock_held):
                    return  # the run lock is lost or the database refused: the next round sees to it
            except (
                Exception
            ) as exc:  # a bug here: the notifications wait for the next round, the round goes on
                log.exception("serve: the notified passes beside the round stopped: %s", unexpected(exc))
                return

    def _notified_to_database(
        self, backend: CalendarBackend, lock_held: Callable[[], bool], worked: set[str], done: threading.Event
    ) -> None:
        """Worker mode, the thread of `_beside`: no pass runs beside the round (every pass is a claimed one); the
        webhook's notifications are made due in the database as they come (and those waiting for a lease asked
        about again), so another service may claim them while this round runs."""
        while not done.is_set() and not self.stopping.is_set():
            self._beside_wake.clear()
            try:
                with self._guard:
                    self._take_notices()
                    waiting = bool(self._notified)
            except (
                Exception
            ) as exc:  # a bug here: the notifications wait for the next round, the round goes on
                log.exception("serve: the notifications beside the round stopped: %s", unexpected(exc))
                return
            self._beside_wake.wait(timeout=LEASE_RECHECK_S if waiting else None)

    def _notified_due(self, now: datetime, worked: set[str]) -> tuple[list[Due], float | None]:
        """The mailboxes a notification made due by `now` that the round does not work, and else the seconds until
        the next such one is due (None: none is waited for)."""
        ready: list[Due] = []
        soonest: datetime | None = None
        for key, (at, _) in sorted(self.schedule.pushed.items()):
            due = self.schedule.mailboxes.get(key)
            if due is None or email_key(due.mailbox) in worked:
                continue
            if at <= now:
                ready.append(due)
            elif soonest is None or at < soonest:
                soonest = at
        return ready, None if soonest is None else max(0.0, (soonest - now).total_seconds())

    def _notified_pass(
        self, ready: list[Due], backend: CalendarBackend, lock_held: Callable[[], bool]
    ) -> bool:
        """The passes of `ready` beside the round (those owing a full one in a full pass); False: no more of
        them in this round."""
        reports: list[MailboxReport] = []
        taken: dict[str, tuple[datetime, datetime]] = {}
        try:
            held = leased(self.store, [d.mailbox for d in ready])
            if held:  # a killed sync worker's live leases: they stay notified, for a round (which backs off)
                ready = [d for d in ready if email_key(d.mailbox) not in held]
                if not ready:
                    return False
            with self._guard:
                full_owed = set(self.schedule.full)
            for is_full in (False, True):
                group = [d for d in ready if (d.mailbox.casefold() in full_owed) == is_full]
                if not group or self.stopping.is_set():
                    continue
                taken = self._take_pushed(group)
                log.info(
                    "serve: notified pass of %s beside the round under way",
                    ", ".join(d.mailbox for d in group),
                    extra={"fields": {"event": "notified_pass", "mailboxes": len(group)}},
                )
                result = sync_pass(
                    self.store,
                    backend,
                    self.pass_settings,
                    self.audit,
                    [d.mailbox for d in group],
                    concurrency=self.settings.sync.concurrency,
                    full=is_full,
                    lock_held=lock_held,
                    # review2627: a signal is raised in the main thread only; this pass is told by the event
                    stopping=self.stopping.is_set,
                )
                reports += result.mailboxes
        except Terminated:
            # stopped (SIGTERM/SIGINT/SIGHUP): no mailbox was started after it, those running finished their phase
            log.info("serve: the notified passes beside the round stopped: the service is stopping")
            with self._guard:
                self._account(reports, ready, {}, set())
            return False
        except (LockHeld, LockLost, RoomsopsError) as exc:
            # the lock lost, the database or the token service refused: as for a round, the mailboxes stay due
            # (their notifications kept for the next round, which counts the error and backs off)
            log.warning("serve: the notified passes beside the round stopped: %s", exc.one_line())
            with self._guard:
                self._account(reports, ready, {}, set())
                for key, entry in taken.items():
                    self.schedule.pushed.setdefault(key, entry)
            return False
        except Exception as exc:  # a bug: counted and logged as a round's, the round goes on
            error = OperationFailed(
                mask(f"a notified pass failed: {unexpected(exc)}"),
                "report it with the log file (its traceback); the service goes on with the next round",
                code="internal",
            )
            log.exception("serve: a notified pass failed: %s", unexpected(exc))
            reported = {r.mailbox.casefold() for r in reports}
            with self._guard:
                self._account(reports, ready, {}, set())
                self._fail_due([d for d in ready if d.mailbox.casefold() not in reported], error)
            return False
        with self._guard:
            self._account(reports, ready, {}, set())
        return True

    @contextmanager
    def _interruptible(self) -> Iterator[None]:
        """While a pass runs, SIGTERM/SIGINT stop it as they stop `roomsops sync` (see the module's docstring)."""
        self._in_round = True
        try:
            yield
        finally:
            self._in_round = False

    def on_signal(self, signum: int, frame: object) -> None:
        """The first SIGTERM/SIGINT/SIGHUP during a round stops it (`Terminated`: no mailbox is started any more, those
        running finish their phase). Any further one only says so: raised again, it would cut the wait for the
        writes in flight short, and the run lock and the database would be let go of while a write is still
        unanswered (a pass after would send it again, or adopt it by its tag). SIGKILL still ends the process. In
        worker mode a second one cuts the wait as for `sync --worker`: each mailbox with a write in flight keeps
        its lease until it expires, which fences it from every other service meanwhile."""
        name = signal.Signals(signum).name
        again = self.stopping.is_set()
        self.stop()
        if not self._in_round:
            if again:  # stopping already (the listeners and subscriptions are being closed): only said
                self._tell(f"serve: {name} again: already stopping", "stopping_again")
            else:
                self._tell(f"serve: {name}: stopping; no round is under way", "stopping")
            return
        if self._interrupted and self.worker is not None:
            # worker mode, as `sync --worker`: the wait for the writes in flight is cut short; their mailboxes'
            # leases are not given back (`worker_run`) but left to expire, so no other service sends them again first
            self._tell(
                f"serve: {name} again: no longer waiting for the calendar writes in flight; the leases of their "
                "mailboxes are left to expire (sync.worker_lease), the others given back",
                "stopping_again",
            )
            raise Terminated()
        if self._interrupted:
            self._tell(
                f"serve: {name} again: still waiting for the calendar writes in flight to be answered and "
                "recorded; the run lock is held until then (SIGKILL would leave them for the next pass to find "
                "by their tag)",
                "stopping_again",
            )
            return
        self._interrupted = True
        self._tell(
            f"serve: {name}: stopping; the mailboxes under way finish their phase, so every calendar write in "
            "flight is recorded before the run lock is let go",
            "stopping",
        )
        raise Terminated()

    def _tell(self, message: str, event: str) -> None:
        """Said in the log and on stderr (a service manager's journal) from a signal handler: never raises."""
        log.warning(message, extra={"fields": {"event": event}})  # logging's handlers never raise
        with contextlib.suppress(
            Exception
        ):  # stderr interrupted mid-write (reentrant) or closed: the stop goes on
            self.announce(message)

    def _address(self, mailbox: str) -> str:
        """A mailbox as the person's address is written (links keep it casefolded)."""
        due = self.schedule.mailboxes.get(mailbox.casefold())
        return due.mailbox if due is not None else mailbox

    def _snapshot(self, error: RoomsopsError | None, busy: str | None) -> Snapshot:
        now = self.clock()
        rows = []
        declined: list[DeclinedRow] = []
        differences: list[Difference] | None = None
        try:
            with self.store.read() as conn:
                states = {m: q.get_mailbox_sync(conn, d.mailbox) for m, d in self.schedule.mailboxes.items()}
                declined = [
                    DeclinedRow(
                        link.booking_id,
                        self._address(link.mailbox),
                        q.room_problem_kind(link),
                        link.last_error,
                    )
                    for link in q.room_problems(conn, now=now)
                ]
                differences = q.list_differences(conn)
        except RoomsopsError:
            states = {}
        if differences is not None:  # unread (the database failed): the gauge keeps its last values
            kinds = Counter(d.kind for d in differences)
            for kind in sorted(set(DIFFERENCE_KINDS) | set(kinds)):
                self.metrics.open_differences.labels(kind).set(kinds[kind])
        for key, due in sorted(self.schedule.mailboxes.items()):
            report = self._last.get(key)
            state = states.get(key)
            last_pass = self.schedule.attempted.get(key) or (state.last_pass if state else None)
            stored = state.last_pass if state else None
            if (
                self.worker is not None
                and stored is not None
                and last_pass is not None
                and stored > last_pass
            ):
                # worker mode: another service passed it since this one did; the database's pass is the latest
                report, last_pass = None, stored
            if report is not None:
                changes = ", ".join(f"{getattr(report, c)} {c}" for c in _CHANGES if getattr(report, c))
                rows.append(
                    MailboxRow(
                        due.mailbox,
                        due.service,
                        last_pass,
                        "ok" if report.ok else "failed",
                        changes or "none",
                        report.error,
                        report.remedy,
                        tuple(report.failures),
                        self.schedule.next_due(due),
                        self.schedule.heal_at(due),
                    )
                )
            else:  # not synced by this process yet (or since): what the database says of its last pass
                stored_error = state.last_error if state else None
                rows.append(
                    MailboxRow(
                        due.mailbox,
                        due.service,
                        last_pass,
                        "not yet" if last_pass is None else ("failed" if stored_error else "ok"),
                        "",
                        stored_error,
                        None,
                        (),
                        self.schedule.next_due(due),
                        self.schedule.heal_at(due),
                    )
                )
        subscriptions = tuple(
            SubscriptionRow(mailbox, expires, problem)
            for mailbox, expires, problem in (self.subscriptions.health() if self.subscriptions else [])
        )
        return Snapshot(
            subscriptions=subscriptions,
            webhook=self.subscriptions is not None,
            taken=now,
            ticks=self.ticks,
            mailboxes=tuple(rows),
            declined=tuple(declined),
            differences=tuple(
                DifferenceRow(d.booking_id, self._address(d.mailbox), d.kind, d.fields, d.detected)
                for d in (differences or [])[:DIFFERENCES_SHOWN]
            ),
            open_differences=len(differences or []),
            round_error=error.message if error else None,
            round_remedy=error.remedy if error else None,
            lock_busy=busy,
            failed_rounds=self.failed_rounds,
            failure=self._failure.message if self._failure else None,
            failure_remedy=self._failure.remedy if self._failure else None,
        )


@dataclass(frozen=True)
class Waker:
    """What the webhook sets when it queued notifications (`Serve.notified`)."""

    serve: Serve

    def set(self) -> None:
        self.serve.notified()


def install_signals(serve: Serve) -> Callable[[], None]:
    """SIGTERM, SIGINT and SIGHUP (the terminal or SSH session that runs the service closed; its default action
    would end the process mid-write) stop the service (see `Serve.on_signal`); returns what puts the old handlers
    back. Windows has no SIGHUP."""
    previous: dict[int, Any] = {}
    hang_up = getattr(signal, "SIGHUP", None)
    for sig in (signal.SIGTERM, signal.SIGINT, *([hang_up] if hang_up is not None else [])):
        previous[sig] = signal.signal(sig, serve.on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
