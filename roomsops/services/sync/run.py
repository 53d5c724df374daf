"""One sync pass over every synced person: lock, mailboxes in parallel, summary, last-run file."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from roomsops.adapters.appsettings.document import write_atomic
from roomsops.adapters.store import Booking, BookingSyncState, MailboxSyncState, Store, email_key, now_utc
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.schema import (
    CANCELLED,
    LEFT_SYNC_NOTE,
    LINKED,
    NOT_SYNCED_NOTE,
    PENDING_CANCEL,
    PENDING_CREATE,
    PENDING_UPDATE,
    ROOM_MAY_ANSWER,
    SYNC_DISABLED,
    UNLINKED,
)
from roomsops.core.calendar import BackendError, Meeting, MeetingFields, tagged_booking_id
from roomsops.core.errors import InputError, OperationFailed, RoomsopsError, Terminated
from roomsops.core.logs import AuditLog, log
from roomsops.core.results import Result
from roomsops.core.run_id import run_id
from roomsops.core.settings import Settings
from roomsops.core.templates import shellword
from roomsops.core.vocabulary import SYNCED_MODES
from roomsops.core.write_fence import checking
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.engine import (
    MOVE,
    PHASES,
    ROOM_ANSWER_GRACE,
    MailboxReport,
    MailboxSync,
    PassContext,
    fenced_write,
    held_slot,
    meeting_over,
    move_rounds,
    not_synced,
    still_holding,
    tag_of,
    unexpected,
)
from roomsops.services.sync.fence import Fence, FencedCalendar, LeaseLost, lock_fence, lock_lost
from roomsops.services.sync.migrate import gone_remedy

if TYPE_CHECKING:
    from sqlalchemy import Connection

#: What a mailbox's pass counts, in the order reports show them.
COUNTS = (
    "created",
    "updated",
    "cancelled",
    "adopted",
    "unchanged",
    "bookings_cancelled",
    "exchange_edits",
    "bookings_created",
    "rolled_back",
    "rooms_released",
    "duplicates_removed",
    "differences",
)


@dataclass(frozen=True)
class SyncResult(Result):
    started: datetime
    finished: datetime
    dry_run: bool
    mailboxes: tuple[MailboxReport, ...]
    not_handled: tuple[str, ...] = ()  # persons named with --person whose sync mode roomsops does not sync
    #: person → {"sync_mode", "bookings"}: active bookings in the window left alone because of the sync mode
    skipped_sync_mode: dict[str, dict[str, str | int]] = field(default_factory=dict)
    #: person → {"sync_mode", "bookings", "action", "remedy"}: persons who left the sync with meetings still
    #: linked, said once (`sync.on_person_removed`)
    left_sync: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.mailboxes)

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(m, k) for m in self.mailboxes) for k in COUNTS}

    def lines(self) -> list[str]:
        out = []
        for m in self.mailboxes:
            if m.error:
                out.append(f"{m.mailbox}: FAILED {m.error}" + (f" — {m.remedy}" if m.remedy else ""))
                # Said here as in the log: the pass forgets them (review25ac: a failed mailbox's were never shown).
                out += [f"  note: {n}" for n in m.notices]
                continue
            counts = ", ".join(f"{getattr(m, k)} {k.replace('_', ' ')}" for k in self.totals if getattr(m, k))
            skipped = ", ".join(f"{v} {k}" for k, v in sorted(m.skipped.items()))
            line = f"{m.mailbox}: {counts or 'nothing to do'}" + (f"; skipped {skipped}" if skipped else "")
            out.append(line)
            out += [f"  failed: {f}" for f in m.failures]
            out += [f"  would {p}" for p in m.planned]
            out += [f"  room-pending: {p}" for p in m.rooms_pending]
            out += [f"  note: {n}" for n in m.notices]
            if m.unknown_tagged:
                out.append(
                    f"  {len(m.unknown_tagged)} meeting(s) tagged by this installation have no booking "
                    "(reported, not deleted)"
                )
        out += [
            f"{p}: not handled (sync mode is not O365, O365Pull or Microsoft365)" for p in self.not_handled
        ]
        out += [
            f"{p}: skipped {s['bookings']} booking(s): sync mode {s['sync_mode']} is not synced by roomsops"
            for p, s in self.skipped_sync_mode.items()
        ]
        for p, left in self.left_sync.items():
            ids = ", ".join(map(str, left["bookings"]))  # type: ignore[call-overload]
            own = ", ".join(map(str, left.get("own_meetings_left") or []))  # type: ignore[call-overload]
            stay = f"; the person's own meetings (booking(s) {own}, made in Outlook) stay" if own else ""
            if left["action"] == "purged":
                out.append(
                    f"{p}: left the sync (sync mode {left['sync_mode']}): the meetings roomsops created of "
                    f"booking(s) {ids or 'none'} were cancelled (sync.on_person_removed = purge){stay}"
                )
            elif left["action"] == "purge failed":
                out.append(
                    f"{p}: left the sync (sync mode {left['sync_mode']}): cancelling the meetings of booking(s) "
                    f"{ids} failed (sync.on_person_removed = purge): they are still in Exchange — {left['remedy']}"
                )
            else:
                out.append(
                    f"{p}: left the sync (sync mode {left['sync_mode']}): the meetings of booking(s) {ids} "
                    f"are still in Exchange, holding their rooms — remove them with '{left['remedy']}'"
                )
        failed = [m.mailbox for m in self.mailboxes if not m.ok]
        totals = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in self.totals.items() if v) or "no changes"
        out.append(
            f"{'dry run: ' if self.dry_run else ''}{len(self.mailboxes)} mailbox(es): {totals}"
            + (f"; failed: {', '.join(failed)}" if failed else "")
        )
        return out


def log_report(report: MailboxReport, dry_run: bool = False) -> None:
    """One line per mailbox result (INFO, or ERROR when the mailbox failed) and one WARNING per failure."""
    prefix = "sync (dry run)" if dry_run else "sync"
    counts = {k: getattr(report, k) for k in COUNTS if getattr(report, k)}
    # `fields`: the same facts as data, for `--log-format json` (core.logs.JsonFormatter).
    fields = {"event": "mailbox", "mailbox": report.mailbox, "dry_run": dry_run, "ok": report.ok, **counts}
    if report.error is not None:
        fields |= {"error": report.error, "error_code": report.error_code}
        log.error("%s %s: FAILED %s", prefix, report.mailbox, report.error, extra={"fields": fields})
    else:
        done = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) or "nothing to do"
        skipped = ", ".join(f"{v} {k}" for k, v in sorted(report.skipped.items()))
        state = "ok" if report.ok else f"{len(report.failures)} failure(s)"
        fields |= {"skipped": dict(report.skipped), "failures": len(report.failures)}
        log.info(
            "%s %s: %s; %s%s",
            prefix,
            report.mailbox,
            state,
            done,
            f"; skipped {skipped}" if skipped else "",
            extra={"fields": fields},
        )
    for notice in report.notices:
        log.warning(
            "%s %s: note: %s",
            prefix,
            report.mailbox,
            notice,
            extra={"fields": {"event": "notice", "mailbox": report.mailbox, "notice": notice}},
        )
    for failure in report.failures:
        log.warning(
            "%s %s: failed: %s",
            prefix,
            report.mailbox,
            failure,
            extra={"fields": {"event": "failure", "mailbox": report.mailbox, "failure": failure}},
        )


def summary_for(path: Path, persons: Sequence[str] | None) -> Path:
    """Where a run's summary goes: a `--person` run writes beside the full run's file (NAME.person.json), so it
    never hides the last full run from monitoring."""
    return path.with_name(f"{path.stem}.person{path.suffix}") if persons else path


def failure_reason(exc: BaseException) -> dict[str, str | None]:
    """Why a run stopped before finishing, as the summary's and the --json document's `error`."""
    if isinstance(exc, Terminated):
        return {
            "code": "interrupted",
            "message": "terminated (SIGTERM) before the pass finished",
            "remedy": None,
        }
    if isinstance(exc, KeyboardInterrupt):
        return {
            "code": "interrupted",
            "message": "interrupted (Ctrl-C) before the pass finished",
            "remedy": None,
        }
    if isinstance(exc, RoomsopsError):
        return exc.as_dict()
    if isinstance(exc, SystemExit):
        return {
            "code": "exited",
            "message": f"exited with code {exc.code} before the pass finished",
            "remedy": None,
        }
    return {"code": "internal", "message": unexpected(exc), "remedy": "run again with --debug and report it"}


def write_failed_summary(
    path: Path, started: datetime, exc: BaseException, persons: Sequence[str] = (), *, logged: bool = False
) -> None:
    """The summary of a run that stopped before it finished (token, TLS, database, a signal, a crash, or refused
    on its configuration): ok false with the reason, so that monitoring never reads an older success as the
    current state. `logged`: the caller has already written the failure to the log."""
    error = failure_reason(exc)
    if not logged:
        log.error("sync FAILED before finishing: %s", error["message"])
    doc = {
        "started": started.isoformat(),
        "finished": now_utc().isoformat(),
        "dry_run": False,
        "persons": list(persons),
        "mailboxes": [],
        "ok": False,
        "error": error,
        "totals": {},
    }
    _write_json(path, doc)


#: The summary's `error` while a run is under way: what it says if the run never replaces it (SIGKILL, a reboot).
UNFINISHED = {
    "code": "interrupted",
    "message": "the run did not finish (it is still running, or it was killed or crashed)",
    "remedy": "see 'roomsops sync status'; if no sync is running, run 'roomsops sync' again",
}


def write_running_summary(path: Path, started: datetime, persons: Sequence[str] = ()) -> None:
    """The summary while a run is under way (written once the lock is taken, replaced when the run ends): a
    run killed where no handler runs (SIGKILL, the OOM killer, a reboot) leaves "ok": false, never the older
    success. `running` and `run_id` (`pid` and `host` for a person and an earlier version) let `sync status` tell
    a run still going from one that died;
    `previous` keeps how the run before ended, so that a run under way never hides that the last one failed."""
    doc: dict[str, object] = {
        "started": started.isoformat(),
        "finished": None,
        "dry_run": False,
        "persons": list(persons),
        "mailboxes": [],
        "ok": False,
        "running": True,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run_id": run_id(),
        "error": dict(UNFINISHED),
        "totals": {},
        "previous": _previous_run(path),
    }
    _write_json(path, doc)


def _previous_run(path: Path) -> dict[str, object] | None:
    """How the run whose summary is at `path` ended — started, finished, ok, error, failed_mailboxes — or None
    when there is none (or it cannot be read). A summary still saying "under way" (read while this run holds the
    lock) is of a run that was killed or crashed: not ok."""
    if not path.is_file():  # never opened blocking: a named pipe would hang the run holding the lock
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    mailboxes = doc.get("mailboxes") if isinstance(doc.get("mailboxes"), list) else []
    error = doc.get("error") if isinstance(doc.get("error"), dict) else None
    if doc.get("running") is True:
        error = {
            "code": "interrupted",
            "message": "the run did not finish (it was killed or crashed)",
            "remedy": None,
        }
    return {
        "started": doc.get("started"),
        "finished": doc.get("finished"),
        "ok": doc.get("ok") is True and doc.get("running") is not True,
        "error": error,
        "failed_mailboxes": [
            str(m.get("mailbox"))
            for m in mailboxes or []
            if isinstance(m, dict) and (m.get("error") or m.get("failures"))
        ],
    }


class Summarised(Protocol):
    """What a summary is written of: a plain run's `SyncResult` or a sync worker's `WorkerResult`."""

    @property
    def ok(self) -> bool: ...

    @property
    def totals(self) -> dict[str, int]: ...


def worker_summary_for(path: Path, name: str) -> Path:
    """Where the sync worker named `name` (`sync --worker --name NAME`) writes its summary: beside the full run's
    file (NAME.worker-NAME.json), one per worker, all found again by `worker_summaries`."""
    return path.with_name(f"{path.stem}{WORKER_INFIX}{name}{path.suffix}")


#: What a worker's summary file adds to the full run's name (`worker_summary_for`).
WORKER_INFIX = ".worker-"


def worker_summaries(path: Path) -> list[tuple[str, Path]]:
    """The workers' summary files beside the full run's `path`, by worker name: (name, file), sorted by name."""
    head, tail = f"{path.stem}{WORKER_INFIX}", path.suffix
    try:
        found = [p for p in path.parent.iterdir() if p.name.startswith(head) and p.name.endswith(tail)]
    except OSError:
        return []
    return sorted(
        (p.name[len(head) : len(p.name) - len(tail)], p) for p in found if len(p.name) > len(head + tail)
    )


def write_summary(path: Path, result: Summarised, extra: dict[str, object] | None = None) -> None:
    """The last-run summary for monitoring, replaced atomically (a plain run's, or a sync worker's: `extra` names
    it)."""
    from roomsops.core.results import to_jsonable

    _write_json(path, to_jsonable(result) | {"ok": result.ok, "totals": result.totals} | (extra or {}))


def _write_json(path: Path, doc: dict[str, object]) -> None:
    """Replace the summary at `path` atomically (no stray temporary file when it cannot be written). A symbolic
    link stays a link: the document goes to its target (the file a monitoring agent reads), created if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(doc, indent=2).encode("utf-8"), backup=False, create_target=True)


def sync_pass(
    store: Store,
    backend: CalendarBackend,
    settings: Settings,
    audit: AuditLog,
    persons: Sequence[str] | None = None,
    dry_run: bool = False,
    concurrency: int = 4,
    progress: Callable[[str], None] | None = None,
    full: bool = False,
    fence: Fence | None = None,
    lock_held: Callable[[], bool] | None = None,
    stopping: Callable[[], bool] | None = None,
) -> SyncResult:
    """`fence`: a sync worker's batch (`worker.py`), whose leases each write of its mailboxes is fenced by and
    which are extended once per phase. `lock_held`: a plain sync's run lock, asked before each write request to
    Exchange (review27s: lost, nothing more is written; the caller then fails the run). `stopping`: a stop asked
    from another thread than the pass's (`roomsops serve`'s notified passes beside a round: a signal is raised in
    the main thread only); once it is true the pass stops as on SIGTERM (`Terminated`): no mailbox is started any
    more, those running finish their phase."""
    started = now_utc()
    window = (
        started - timedelta(days=settings.sync.window_days_past),
        started + timedelta(days=settings.sync.window_days_future),
    )
    with store.write() as conn:  # the installation id is created once per database, on first use
        installation = q.installation_id(conn)
        # Every synced person, over EWS or Graph (the backend hands each mailbox to its mode's service).
        mailboxes = [p.email for p in q.list_persons(conn, sync_modes=SYNCED_MODES)]
        skipped_sync_mode = _skipped_by_sync_mode(conn, window, persons)
    not_handled: list[str] = []
    if persons:
        wanted = {p.casefold() for p in persons}
        not_handled = [p for p in persons if p.casefold() not in {m.casefold() for m in mailboxes}]
        mailboxes = [m for m in mailboxes if m.casefold() in wanted]
    if fence is not None:
        # A worker's batch: each calendar write of a leased mailbox is sent only with its lease proved just before.
        backend = FencedCalendar(backend, fence, store)
    # The service each mailbox's links belong to (a person who leaves the sync is reached over it) is recorded by
    # its pass once they are of it (`MailboxSync._relink`), never before: a pass refused before it changes nothing.
    ctx = PassContext(
        store=store,
        backend=backend,
        installation=installation,
        window=window,
        audit=audit,
        dry_run=dry_run,
        full=full,
        full_every=settings.sync.full_every,
        rollback_attempts=settings.sync.rollback_attempts,
        cancel_attempts=settings.sync.cancel_attempts,
        horizon_days=settings.rooms.booking_horizon_days,
        fence=fence,
        lock_held=lock_held,
    )

    # Meetings of persons the sync no longer handles first: their cancellations free rooms too.
    with checking(lock_fence(lock_held)) if lock_held is not None else nullcontext():
        left = _persons_not_synced(ctx, persons, settings.sync.on_person_removed)
    syncs = [MailboxSync(ctx, mailbox) for mailbox in mailboxes]

    def one(sync: MailboxSync, phase: str) -> MailboxReport:
        if stopping is not None and stopping():
            raise Terminated()  # not started: the pass ends as on SIGTERM, once those running finished their phase
        try:
            report = sync.run((phase,))
        except Exception as exc:  # MailboxSync.run contains its own; this is the last guard for the others
            log.debug("%s: unexpected error", sync.mailbox, exc_info=True)
            sync.report.error, sync.report.error_code = unexpected(exc), "internal"
            report = sync.report
        if phase == PHASES[-1]:
            log_report(report, dry_run)
            # Said: forgotten while a worker still holds the mailbox's lease (review25ac: given back first, the
            # fenced drop was refused, the mailbox counted lease-lost and the note said again by every pass).
            _said(ctx, sync.mailbox, sync.notice_ids)
            if fence is not None:
                # A worker's: the mailbox's lease given back now, its pass done.
                fence.release(store, sync.mailbox)
            if progress is not None:
                progress(sync.mailbox)
        return report

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sync")
    reports: list[MailboxReport] = []
    try:
        # Phase by phase over every mailbox (issue 20): every write that frees a room's slot (a cancellation),
        # then every move, then every write that takes a slot, so a room never gets the new invitation before
        # the cancellation that frees its slot. No request is added: each phase goes on where the last stopped.
        for phase in PHASES:
            if fence is not None:
                fence.heartbeat(store, now_utc())  # the batch's leases extended: one heartbeat per phase
            if phase == MOVE:
                _moves_in_rounds(
                    syncs, lambda batch: [f.result() for f in [pool.submit(one, *b) for b in batch]]
                )
                continue
            futures = [pool.submit(one, sync, phase) for sync in syncs]
            reports = [future.result() for future in futures]
    except BaseException as exc:
        # Interrupted (Ctrl-C, SIGTERM): no mailbox is started any more; those running finish their phase, so
        # every write is recorded and the database stays consistent (the position is stored by the last phase).
        if isinstance(exc, KeyboardInterrupt):
            log.info(
                "sync: interrupted (%s): no mailbox is started any more; waiting for the writes under way",
                "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C",
            )
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if lock_held is not None and not lock_held():
        raise lock_lost()  # review27s: the next sync may be running already; this one stopped writing
    reports += left.reports
    _said_left(ctx, left)
    return SyncResult(
        started=started,
        finished=now_utc(),
        dry_run=dry_run,
        mailboxes=tuple(reports),
        not_handled=tuple(not_handled),
        skipped_sync_mode=skipped_sync_mode,
        left_sync=left.persons,
    )


def _said_left(ctx: PassContext, left: LeftSync) -> None:
    """The persons who left the sync: their reports and log lines, then what is forgotten or held back once said
    (their stored notices, their links)."""
    _log_left(left, ctx.dry_run)
    for mailbox, ids in left.notice_ids.items():
        _said(ctx, mailbox, ids)
    _hold_back(ctx, left.hold)


def _log_left(left: LeftSync, dry_run: bool) -> None:
    """The pass's reports and log lines of the persons who left the sync."""
    for report in left.reports:
        log_report(report, dry_run)
    for person, said in left.persons.items():
        log.warning(
            "sync: %s left the sync (sync mode %s) with the meetings of booking(s) %s %s",
            person,
            said["sync_mode"],
            said["bookings"],
            "cancelled"
            if said["action"] == "purged"
            else f"still in Exchange: {said['remedy']}"
            if said["action"] == "purge failed"
            else f"still in Exchange: run '{said['remedy']}'",
            extra={"fields": {"event": "left_sync", "person": person, **said}},
        )


def _moves_in_rounds(
    syncs: list[MailboxSync], run: Callable[[list[tuple[MailboxSync, str]]], list[MailboxReport]]
) -> None:
    """The MOVE phase over every mailbox in rounds (`move_rounds`): a move whose new slot another move of the
    pass leaves is written after that one, whichever mailboxes they are in."""
    rounds, early = move_rounds([m for sync in syncs for m in sync.moves()])
    by_mailbox = {sync.mailbox: sync for sync in syncs}
    for move in early:
        by_mailbox[move.mailbox].resend.add(move.booking_id)
    for round_ in rounds:
        for sync in syncs:
            sync.move_round = {m.booking_id for m in round_ if m.mailbox == sync.mailbox}
        run([(sync, MOVE) for sync in syncs if sync.move_round])
    for sync in syncs:
        sync.move_round = None  # the moves `moves()` did not list (no slot known): written now
    run([(sync, MOVE) for sync in syncs])


def _skipped_by_sync_mode(
    conn: Connection, window: tuple[datetime, datetime], persons: Sequence[str] | None
) -> dict[str, dict[str, str | int]]:
    """The persons (those named, with --person) whose sync mode roomsops leaves alone, with how many of their
    active bookings in the window that leaves out: said, not skipped without a word."""
    wanted = {p.casefold() for p in persons} if persons else None
    out: dict[str, dict[str, str | int]] = {}
    for person in q.list_persons(conn):
        if person.sync_mode in SYNCED_MODES or (wanted is not None and person.email.casefold() not in wanted):
            continue
        active = [b for b in q.bookings_in_window(conn, person.email, *window) if b.status == "active"]
        if active:
            out[person.email] = {"sync_mode": person.sync_mode, "bookings": len(active)}
    return out


def purge_command(person: str) -> str:
    return f"roomsops sync purge --person {shellword(person)} --yes"


@dataclass
class LeftSync:
    """What the pass did about persons whose sync mode roomsops does not sync."""

    reports: list[MailboxReport] = field(default_factory=list)
    #: person → {"sync_mode", "bookings": [id], "action": "reported"|"purged", "remedy"}: reported once
    persons: dict[str, dict[str, object]] = field(default_factory=dict)
    #: the links to hold back once that report has been said (`_hold_back`)
    hold: list[BookingSyncState] = field(default_factory=list)
    #: person → the stored notices their report carries, forgotten once it is said (`_said`; review25ac: a note
    #: stored before the person left was read by a synced mailbox's pass only, never said)
    notice_ids: dict[str, list[int]] = field(default_factory=dict)


def _persons_not_synced(ctx: PassContext, persons: Sequence[str] | None, on_removed: str) -> LeftSync:
    """Persons whose sync mode roomsops does not sync (switched to None, EWS1, ...; or removed with
    --cancel-bookings): the meetings of their cancelled bookings still in Exchange are cancelled (a cancellation
    must reach them, and frees the room); the meetings of their active bookings are, once, reported with the
    command that removes them (`sync.on_person_removed = "report"`) or cancelled (`"purge"`); either way those
    bookings are not synced again until `sync resume --person` — never left linked without a word."""
    with ctx.store.read() as conn:
        work = _left_work(conn, persons)
    out = LeftSync()
    for mailbox, sync_mode, cancelled, left in work:
        report = MailboxReport(mailbox)
        with ctx.store.read() as conn:
            unsaid = q.notices_of(conn, mailbox)
        report.notices += [notice for _, notice in unsaid]
        if unsaid:
            out.notice_ids[mailbox] = [i for i, _ in unsaid]
        try:
            _one_not_synced(ctx, out, report, sync_mode, cancelled, left, on_removed)
        except LeaseLost as lost:
            # A worker whose lease on the mailbox was lost (another worker took it over): nothing more of this
            # person is sent or stored by it; the new owner handles them (its intents tell it what was sent).
            report.error, report.error_code, report.remedy = lost.message, lost.code, lost.remedy
            out.persons.pop(mailbox, None)
            out.notice_ids.pop(mailbox, None)
            out.reports.append(report)
    return out


_LeftWork = tuple[str, str, list[tuple[Booking, BookingSyncState]], list[tuple[Booking, BookingSyncState]]]


def persons_left_to_settle(store: Store) -> list[str]:
    """The persons who left the sync whose meetings a pass still has to deal with (`_persons_not_synced`): what
    `roomsops serve` adds to its round, whose mailboxes due name only synced persons (review26)."""
    with store.read() as conn:
        return [mailbox for mailbox, *_ in _left_work(conn, None)]


def _left_work(conn: Connection, persons: Sequence[str] | None) -> list[_LeftWork]:
    """Of the persons who left the sync (those named, if any): (address, sync mode, the links of their cancelled
    bookings, of their other bookings) of each with something left to do."""
    wanted = {p.casefold() for p in persons} if persons else None
    work: list[_LeftWork] = []
    # Only persons with a sync state can have anything left to do: one query instead of two per person (serve
    # asks every round; most persons of a ROOMS installation may never be synced).
    linked = q.linked_mailboxes(conn)
    noticed = q.noticed_mailboxes(conn)  # notes stored before they left: said by the pass reporting it
    for person in q.list_persons(conn):
        if person.sync_mode in SYNCED_MODES or (wanted is not None and person.email.casefold() not in wanted):
            continue
        key = email_key(person.email)
        links = q.booking_sync_for_mailbox(conn, person.email) if key in linked else []
        if not links and key not in noticed:
            continue
        # A pending create or cancel without an item id may have a meeting (its answer lost, the lookup
        # failed): it is named, and a purge finds it by its tag; held back so (LEFT_SYNC_NOTE, still no item
        # id), its booking's cancellation finds it by its tag too.
        live = {
            link.booking_id: link
            for link in links
            if (
                link.item_id is not None
                or link.state in (PENDING_CREATE, PENDING_CANCEL)
                or link.last_error == LEFT_SYNC_NOTE
            )
            and (link.state not in (CANCELLED, UNLINKED) or not_synced(link))
        }
        found = q.bookings_by_id(conn, list(live))
        cancelled = [(b, live[b.id]) for b in found if b.status == "cancelled"]
        left = [(b, live[b.id]) for b in found if b.status != "cancelled" and not not_synced(live[b.id])]
        holding = any(still_holding(link) or _watching_purged(link) for link in links)
        if cancelled or left or holding or key in noticed:
            work.append((person.email, person.sync_mode, cancelled, left))
    return work


def _one_not_synced(
    ctx: PassContext,
    out: LeftSync,
    report: MailboxReport,
    sync_mode: str,
    cancelled: list[tuple[Booking, BookingSyncState]],
    left: list[tuple[Booking, BookingSyncState]],
    on_removed: str,
) -> None:
    """One person who left the sync (`_persons_not_synced`); `LeaseLost` is the caller's."""
    mailbox = report.mailbox
    sent = ctx.backend.requests_sent()
    purge = on_removed == "purge"
    # The person's own meetings (made in Outlook) are never cancelled by a purge: held back, left live; nor
    # are meetings that are over (no pass writes a meeting that is over: no cancellation of a past meeting).
    own = [(b, link) for b, link in left if link.from_exchange]
    past = [(b, link) for b, link in left if not link.from_exchange and meeting_over(link, b, ctx.now())]
    kept = {b.id for b, _ in own + past}
    failures = len(report.failures)
    for booking, link in cancelled + ([p for p in left if p[0].id not in kept] if purge else []):
        _cancel_left(ctx, report, booking, link)
    report.requests += ctx.backend.requests_sent() - sent
    # A meeting deleted in Outlook without a cancellation before the person left: its room is still watched.
    released = MailboxSync(ctx, mailbox).release_held_rooms()
    report.rooms_released += released.rooms_released
    report.failures += released.failures
    report.requests += released.requests
    sent = ctx.backend.requests_sent()
    _watch_purged(ctx, report)
    report.requests += ctx.backend.requests_sent() - sent
    if left:
        # With purge: the bookings whose meetings were (to be) cancelled; the person's own and the past ones
        # stay and are said.
        ids = [b.id for b, link in left if not (purge and b.id in kept)]
        failed = len(report.failures) > failures
        out.persons[mailbox] = {
            "sync_mode": sync_mode,
            "bookings": ids,
            "action": ("purge failed" if failed else "purged") if purge else "reported",
            "remedy": (
                "the next 'roomsops sync' tries the cancellations again"
                if purge and failed
                else None
                if purge
                else purge_command(mailbox)
            ),
        }
        out.persons[mailbox]["own_meetings_left"] = [b.id for b, _ in own] if purge else []
        out.persons[mailbox]["past_meetings_left"] = [b.id for b, _ in past] if purge else []
        if (not purge or own or past) and not ctx.dry_run:
            # Reported once: the links are held back (the meeting stays, known by its item id) once the
            # report is said (`_hold_back`, at the end of the pass), never before.
            out.hold += [link for _, link in (left if not purge else own + past)]
    if cancelled or (left and purge) or report.rooms_released or report.failures or report.notices:
        out.reports.append(report)


def _watching_purged(link: BookingSyncState) -> bool:
    """A booking held back by a purge whose meeting was missing from the calendar (`_cancel_left`): its room is
    looked at on the passes of ROOM_ANSWER_GRACE, as a late acceptance would hold the slot again."""
    return not_synced(link) and (link.last_error or "").endswith(f"; {ROOM_MAY_ANSWER}")


def _watch_purged(ctx: PassContext, report: MailboxReport) -> None:
    """The rooms of purged meetings that were missing from the calendar (`_cancel_left`): a copy a late answer made
    is removed; a failure is reported and tried again next pass; once the grace is over the watch ends (the link
    stays held back, its note without the watch)."""
    if ctx.dry_run:
        return
    with ctx.store.read() as conn:
        links = [link for link in q.booking_sync_for_mailbox(conn, report.mailbox) if _watching_purged(link)]
        bookings = {b.id: b for b in q.bookings_by_id(conn, [link.booking_id for link in links])}
    for link in links:
        booking = bookings.get(link.booking_id)
        if booking is None:
            continue
        try:
            report.rooms_released += MailboxSync(ctx, report.mailbox).free_rooms_of_missing_meeting(
                link, booking
            )
        except LeaseLost:
            raise
        except RoomsopsError as exc:
            report.failures.append(
                f"booking {booking.id} ({booking.title}): the room may still hold the slot of its purged meeting "
                f"and roomsops could not look ({exc.message}); tried again next pass"
            )
            continue
        read = link.last_attempt
        if read is None or ctx.now() - read >= ROOM_ANSWER_GRACE:
            note = (link.last_error or "").removesuffix(f"; {ROOM_MAY_ANSWER}")
            with fenced_write(ctx, report.mailbox) as conn:
                q.save_booking_sync(conn, replace(link, last_error=note), now_utc())


def _said(ctx: PassContext, mailbox: str, ids: Sequence[int]) -> None:
    """Forget the stored notices (`ids`) the mailbox's report carried, now that its log lines are written (the
    summary follows): "said once", as `_hold_back`. A pass killed before leaves them to the next pass (review25aa).
    A dry run says them and keeps them."""
    if ctx.dry_run or not ids:
        return
    try:
        with fenced_write(ctx, mailbox) as conn:
            q.drop_notices(conn, ids)
    except (LeaseLost, RoomsopsError) as exc:
        log.warning("sync: %s: its notices will be said again by the next pass (%s)", mailbox, exc)


def _hold_back(ctx: PassContext, links: Sequence[BookingSyncState]) -> None:
    """Hold back the links of persons who left the sync, whose leaving this pass has said (the log's WARNING
    written; the summary file follows): "reported once". Stored only now, so a pass killed or interrupted before
    it said so leaves them as they were, and the next pass says it (the soak's seed 31400 finding: stored at the
    start, a SIGKILL before the end lost the report for good). A link changed since the pass read it is left for
    the next pass to look at again."""
    by_mailbox: dict[str, list[BookingSyncState]] = {}
    for link in links:
        by_mailbox.setdefault(link.mailbox, []).append(link)
    for mailbox, theirs in by_mailbox.items():
        try:
            # A worker's: fenced by its lease on the person's mailbox (lost: the new owner says it and holds back).
            with fenced_write(ctx, mailbox) as conn:
                now = q.booking_sync_by_ids(conn, [link.booking_id for link in theirs])
                for link in theirs:
                    if now.get(link.booking_id) == link:
                        q.save_booking_sync(
                            conn, replace(link, state=UNLINKED, last_error=LEFT_SYNC_NOTE), now_utc()
                        )
        except LeaseLost:
            log.warning("sync: %s was taken over by another worker before its leaving was recorded", mailbox)


def _cancel_left(ctx: PassContext, report: MailboxReport, booking: Booking, link: BookingSyncState) -> None:
    """Cancel the meeting of a booking of a person roomsops does not sync (found by its whole tag), and record
    the slot it frees, or failed to free (a new invitation for that slot then waits for the next pass)."""
    mailbox = report.mailbox
    why = "sync mode not synced" if booking.status == "cancelled" else "the person left the sync"
    if ctx.dry_run:
        report.planned.append(f"cancel meeting of booking {booking.id} ({booking.title})")
        report.cancelled += 1
        return
    note = None if booking.status == "cancelled" else f"{NOT_SYNCED_NOTE}: purged ({why})"
    slot = held_slot(link)
    missing = False
    try:
        tag = tag_of(booking)  # the whole tag: a meeting with the id alone is another booking's
        found = False
        for meeting in ctx.backend.find_tagged(mailbox, ctx.installation, tag):
            mine = meeting.booking_id == tag and meeting.organizer in (None, mailbox.lower())
            if mine and not meeting.is_cancelled:
                ctx.backend.cancel(mailbox, meeting)
                found = True
        if not found and link.item_id is not None:
            # The link knew a meeting and the calendar holds none: deleted (or dragged to Deleted Items) in Outlook
            # before any pass read it, perhaps without a cancellation, so the room may still hold the slot. No
            # cancellation reaches it; its copy is removed as a pass removes one (soak seeds 32500, 32700).
            report.rooms_released += MailboxSync(ctx, mailbox).free_rooms_of_missing_meeting(link, booking)
            missing = True
        if missing and note is not None:
            # A request sent before the deletion may still wait for the room's booking attendant, whose acceptance
            # would hold the slot again: the held-back link watches the room for ROOM_ANSWER_GRACE
            # (`_watch_purged`), as a pass watches after reading a deletion.
            note = f"{note}; {ROOM_MAY_ANSWER}"
        with fenced_write(ctx, mailbox) as conn:
            state = CANCELLED if note is None else UNLINKED
            q.save_booking_sync(
                conn,
                replace(
                    link,
                    item_id=None,
                    change_key=None,
                    state=state,
                    last_error=note,
                    last_attempt=ctx.now() if missing else link.last_attempt,
                ),
                now_utc(),
            )
    except LeaseLost:
        raise  # this worker's lease on the mailbox lost: nothing more of it is done (`_persons_not_synced`)
    except RoomsopsError as exc:
        gone = isinstance(exc, BackendError) and exc.reason == "mailbox_not_found"
        # A person who left the sync and whose mailbox was deleted since: no pass ever reaches it; say what does.
        why_not = f"{exc.message} — {gone_remedy(mailbox)}" if gone else exc.message
        report.failures.append(f"booking {booking.id} ({booking.title}): {why_not}")
        if slot is not None:
            ctx.slots.record(slot, ok=False)
        return
    if slot is not None:
        ctx.slots.record(slot, ok=True)
    ctx.audit.record(
        "ews:CancelCalendarItem",
        mailbox,
        {"item_id": link.item_id, "booking": booking.id},
        f"cancelled ({why})",
    )
    report.cancelled += 1


@dataclass(frozen=True)
class MissingMeeting:
    """A booking whose meeting a purge found gone from the calendar (deleted, or dragged to Deleted Items, in
    Outlook before any pass read it, perhaps without a cancellation): no cancellation can reach its rooms, so the
    purge removes their copies (docs/sync.md "Persons leaving the sync")."""

    booking: int
    title: str
    room: str  # the room the meeting held (its snapshot)
    rooms_released: tuple[str, ...] = ()  # the rooms whose copy was removed (with --dry-run: none)
    problem: str | None = None  # why a room may still hold the slot (its copy could not be looked for)


@dataclass(frozen=True)
class PurgeResult(Result):
    mailbox: str
    dry_run: bool
    removed: tuple[str, ...]  # subjects of the meetings removed (or to be removed)
    #: bookings held back from the sync until `sync resume --person` (with --dry-run: that would be)
    not_synced: tuple[int, ...] = ()
    #: bookings whose meeting was gone from the calendar: their rooms' copies removed, or why not
    missing: tuple[MissingMeeting, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(m.problem for m in self.missing)

    def lines(self) -> list[str]:
        verb = "would remove" if self.dry_run else "removed"
        if not self.removed and not self.missing:
            out = [f"{self.mailbox}: no meetings of this installation"]
        else:
            out = [f"{self.mailbox}: {verb} {len(self.removed)} meeting(s)"] + [
                f"  {s}" for s in self.removed
            ]
        for m in self.missing:
            gone = (
                f"booking {m.booking} ({m.title}): its meeting is gone from the calendar (deleted in Outlook)"
            )
            if m.problem:
                out.append(f"{gone}; the room {m.room} may still hold the slot: {m.problem}")
            elif self.dry_run:
                out.append(f"{gone}; would remove the copy the room {m.room} may still hold")
            elif m.rooms_released:
                out.append(f"{gone}; removed the copy of {', '.join(m.rooms_released)} (the slot is free)")
            else:
                out.append(f"{gone}; the room {m.room} holds no copy of it")
        if self.not_synced:
            ids = ", ".join(map(str, self.not_synced))
            out.append(
                f"{'would hold' if self.dry_run else 'held'} booking(s) {ids} back from the sync (no meeting is "
                f"made for them again) until 'roomsops sync resume --person {shellword(self.mailbox)}'"
            )
        return out


def _purged_meeting_over(
    meeting: Meeting, link: BookingSyncState | None, bookings: dict[int, Booking], now: datetime
) -> bool:
    """Whether a purge leaves the meeting alone as over: a linked meeting by the engine's `meeting_over` (a
    series: its last occurrence, review20h), another by what was read — a series by its last occurrence's
    original start (never by its first occurrence's end, which its fields hold), kept when that is not known."""
    booking = bookings.get(link.booking_id) if link is not None else None
    if link is not None and booking is not None:
        return meeting_over(link, booking, now)
    fields = meeting.fields
    if fields is None:
        return False
    if fields.series is not None or meeting.is_recurring:
        starts = fields.series.original_starts if fields.series is not None else ()
        return bool(starts) and max(starts) + (fields.end - fields.start) <= now
    return fields.end <= now


def purge(
    store: Store,
    backend: CalendarBackend,
    mailbox: str,
    audit: AuditLog,
    confirm: Callable[[str], None],
    dry_run: bool = False,
    window: tuple[datetime, datetime] | None = None,
) -> PurgeResult:
    """Remove the meetings this installation created in `mailbox` (a person leaving the sync), and hold the
    person's bookings back from the sync until `resume`, so that the next pass does not create them again. Only
    meetings carrying this installation's tag, organized in this mailbox, are touched; of those, never the
    person's own (made in Outlook, booked from there), one the conflict behaviour Cancel let go for good (its
    booking cancelled, the meeting left to the person: `unlinked`), nor one that is over (no pass writes a meeting
    that is over: its attendees are sent no cancellation of a past meeting). A linked meeting gone from the
    calendar (deleted in Outlook before any pass read it, perhaps without a cancellation) cannot be cancelled:
    its rooms' copies are removed instead (`missing`; `window`: the sync window, where a copy is looked for
    first)."""
    with store.write() as conn:
        installation = q.installation_id(conn)
    with store.read() as conn:
        person = q.get_person(conn, mailbox)
        held = _bookings_to_hold(conn, person.email if person else mailbox)
        links = q.booking_sync_for_mailbox(conn, mailbox)
    # The person's own meetings (made in Outlook, become bookings) stay: only what roomsops created goes. So do
    # the meetings let go on purpose (docs/sync.md, `unlinked`: nothing adopts, changes or cancels them).
    kept = [link for link in links if link.from_exchange or (link.state == UNLINKED and not not_synced(link))]
    kept_ids = {link.booking_id for link in kept}
    kept_items = {link.item_id for link in kept if link.item_id}
    now = now_utc()
    found = [
        m
        for m in backend.find_tagged(mailbox, installation)
        if m.organizer in (None, mailbox.lower())
        and not m.is_cancelled
        and m.item_id not in kept_items
        and tagged_booking_id(m.booking_id) not in kept_ids
    ]
    with store.read() as conn:
        bookings = {b.id: b for b in q.bookings_by_id(conn, [link.booking_id for link in links])}
    by_item = {link.item_id: link for link in links if link.item_id}
    by_tag = {link.booking_id: link for link in links}
    meetings = [
        m
        for m in found
        if not _purged_meeting_over(
            m, by_item.get(m.item_id) or by_tag.get(tagged_booking_id(m.booking_id) or 0), bookings, now
        )
    ]
    subjects = tuple(m.fields.subject if m.fields else m.item_id for m in meetings)
    # A linked meeting the calendar no longer holds (deleted or dragged to Deleted Items in Outlook before any pass
    # read it, perhaps without a cancellation): nothing to cancel, but its rooms may still hold the slot.
    live_items = {m.item_id for m in found}
    live_ids = {tagged_booking_id(m.booking_id) for m in found}
    missing = [
        (link, bookings[link.booking_id])
        for link in links
        if link.item_id is not None
        and link.booking_id not in kept_ids
        and link.state != CANCELLED
        and link.item_id not in live_items
        and link.booking_id not in live_ids
        and link.booking_id in bookings
        and bookings[link.booking_id].status == "active"
        and not meeting_over(link, bookings[link.booking_id], now)
    ]
    if dry_run or (not meetings and not held and not missing):
        return PurgeResult(
            mailbox=mailbox,
            dry_run=dry_run,
            removed=subjects,
            not_synced=tuple(held),
            missing=tuple(_missing(link, booking) for link, booking in missing),
        )
    confirm(
        f"Cancel {len(meetings)} meeting(s) roomsops created in {mailbox}"
        + (
            f", remove the rooms' copies of {len(missing)} meeting(s) gone from its calendar,"
            if missing
            else ""
        )
        + " and hold its bookings back from the sync?"
    )
    # The bookings are held back first: a pass between this and the cancellations leaves them alone.
    with store.write() as conn:
        _hold(conn, mailbox, _bookings_to_hold(conn, person.email if person else mailbox), "purged")
        # The person is held back, not only these bookings: one made later waits for `sync resume` too.
        q.save_mailbox_sync(
            conn,
            MailboxSyncState(
                mailbox=mailbox, sync_state=None, last_pass=now_utc(), last_error=f"{NOT_SYNCED_NOTE}: purged"
            ),
            now_utc(),
        )
    done: list[Meeting] = []
    try:
        for meeting in meetings:  # network: no database lock is held
            backend.cancel(mailbox, meeting)
            done.append(meeting)
            audit.record(
                "ews:CancelCalendarItem",
                mailbox,
                {"item_id": meeting.item_id, "booking": meeting.booking_id},
                "purged",
            )
    except RoomsopsError as exc:
        _forget_items(store, mailbox, done)
        raise OperationFailed(
            f"sync purge of {mailbox} cut short: {len(done)} of {len(meetings)} meeting(s) cancelled, "
            f"{len(meetings) - len(done)} still in Exchange ({exc.message}); the bookings are held back and the "
            "next 'roomsops sync' cancels the rest",
            f"run '{purge_command(mailbox)}' again to finish now",
        ) from exc
    _forget_items(store, mailbox, done)
    freed = _free_missing(store, backend, mailbox, installation, audit, missing, window)
    audit.record("sync:purge", mailbox, {"bookings": held}, "not synced until sync resume")
    return PurgeResult(
        mailbox=mailbox, dry_run=False, removed=subjects, not_synced=tuple(held), missing=tuple(freed)
    )


def _missing(
    link: BookingSyncState, booking: Booking, released: tuple[str, ...] = (), problem: str | None = None
) -> MissingMeeting:
    held = MeetingFields.from_json(link.snapshot) if link.snapshot else None
    room = ((held.room if held else "") or booking.room or "").lower()
    return MissingMeeting(booking.id, booking.title, room, released, problem)


def _free_missing(
    store: Store,
    backend: CalendarBackend,
    mailbox: str,
    installation: str,
    audit: AuditLog,
    missing: list[tuple[BookingSyncState, Booking]],
    window: tuple[datetime, datetime] | None,
) -> list[MissingMeeting]:
    """The purge of bookings whose meeting is gone from the calendar (`purge`): each room's copy is removed as a
    pass removes the copy of a meeting deleted without a cancellation (`MailboxSync.free_rooms_of_missing_meeting`:
    by the meeting's UID, never the copy of a meeting still live in the organizer's calendar), and the link forgets
    the item (a failure keeps it: a later purge looks again). Soak seeds 32500 and 32700 freed the rooms of a
    person who left the sync so; `sync purge --person` missed them (review20m)."""
    if not missing:
        return []
    now = now_utc()
    ctx = PassContext(
        store=store,
        backend=backend,
        installation=installation,
        window=window or (now, now + timedelta(days=365)),
        audit=audit,
    )
    out: list[MissingMeeting] = []
    for link, booking in missing:
        freed: list[str] = []
        try:
            MailboxSync(ctx, mailbox).free_rooms_of_missing_meeting(link, booking, freed)
        except RoomsopsError as exc:
            out.append(
                _missing(link, booking, problem=f"{exc.message}; run '{purge_command(mailbox)}' again")
            )
            continue
        out.append(_missing(link, booking, tuple(freed)))
        with store.write() as conn:
            current = q.get_booking_sync(conn, link.booking_id)
            if current is not None and current.item_id == link.item_id:
                q.save_booking_sync(conn, replace(current, item_id=None, change_key=None), now_utc())
    return out


def _forget_items(store: Store, mailbox: str, cancelled: list[Meeting]) -> None:
    """The links of the meetings a purge cancelled lose their item (the person's own meetings keep theirs; a link
    whose meeting was not found keeps it: the next pass cancels it, a meeting already gone is no error)."""
    items = {m.item_id for m in cancelled}
    ids = {tagged_booking_id(m.booking_id) for m in cancelled}
    with store.write() as conn:
        for link in q.booking_sync_for_mailbox(conn, mailbox):
            if (
                link.item_id is not None
                and (link.item_id in items or link.booking_id in ids)
                and not link.from_exchange
            ):
                q.save_booking_sync(conn, replace(link, item_id=None, change_key=None), now_utc())


def _bookings_to_hold(conn: Connection, person: str) -> list[int]:
    """The person's bookings a purge holds back: those not cancelled and not held already."""
    found = q.get_person(conn, person)
    if found is None:
        return []
    mine = q.list_bookings(conn, q.BookingQuery(organizer_id=found.id))
    links = q.booking_sync_by_ids(conn, [b.id for b in mine])
    return [b.id for b in mine if b.status != "cancelled" and not (b.id in links and not_synced(links[b.id]))]


def _hold(conn: Connection, mailbox: str, booking_ids: list[int], why: str) -> None:
    links = q.booking_sync_by_ids(conn, booking_ids)
    for booking_id in booking_ids:
        link = links.get(booking_id) or BookingSyncState(booking_id=booking_id, mailbox=mailbox)
        q.save_booking_sync(
            conn, replace(link, state=UNLINKED, last_error=f"{NOT_SYNCED_NOTE}: {why}"), now_utc()
        )


@dataclass(frozen=True)
class ResumeResult(Result):
    person: str
    resumed: tuple[int, ...]  # synced again from the next pass
    #: held back and sync-disabled before (its rollbacks exhausted): released from the hold, still not synced
    sync_disabled: tuple[int, ...] = ()

    def lines(self) -> list[str]:
        if not self.resumed and not self.sync_disabled:
            return [f"{self.person}: no bookings held back from the sync"]
        out = []
        if self.resumed:
            ids = ", ".join(map(str, self.resumed))
            out.append(f"{self.person}: booking(s) {ids} are synced again from the next 'roomsops sync'")
        if self.sync_disabled:
            ids = ", ".join(map(str, self.sync_disabled))
            out.append(
                f"{self.person}: booking(s) {ids} stay sync-disabled (their Outlook edits were rolled back "
                "sync.rollback_attempts times before the hold): no pass syncs them"
            )
        return out


def resume(store: Store, person: str, audit: AuditLog) -> ResumeResult:
    """Undo `purge` (or a person's leaving the sync): the held bookings are synced again by the next pass (a
    booking without a meeting gets one; one whose meeting stayed in Exchange is linked to it again).

    Invariant (I2, I5; review20e): what Exchange did while the bookings were held is never taken for nothing. The
    passes meanwhile read their meetings' changes as foreign ones and moved the position past them, so the resume
    trusts no ChangeKey or position it kept: it forgets the mailbox's position, and the next pass is a full
    reconciliation comparing every tagged meeting with its link field by field (an Outlook edit made meanwhile is
    applied or recorded, a meeting deleted meanwhile cancels its booking). A meeting made in Outlook (booked from
    there) may carry no tag yet (its tagging write had not landed): its link becomes `pending-update`, so the
    pass reads it by its item id, tags it and applies what it finds, never taking it for deleted (I1). A
    sync-disabled booking stays sync-disabled (a hold does not re-enable it)."""
    with store.write() as conn:
        found = q.get_person(conn, person)
        if found is None:
            raise InputError(f"{person} is not a known person", "see 'roomsops persons list'")
        if found.sync_mode not in SYNCED_MODES:
            raise InputError(
                f"{found.email}'s sync mode {found.sync_mode} is not synced by roomsops: a resume would sync nothing",
                f"set the sync mode first: 'roomsops persons set {shellword(found.email)} --sync-mode O365'",
            )
        held = [link for link in q.booking_sync_for_mailbox(conn, found.email) if not_synced(link)]
        statuses = {b.id: b.status for b in q.bookings_by_id(conn, [link.booking_id for link in held])}
        state = q.get_mailbox_sync(conn, found.email)
        if state is not None and (
            (state.last_error or "").startswith(NOT_SYNCED_NOTE) or any(link.item_id for link in held)
        ):
            # The position is forgotten: the next pass reads every held meeting as it is now (a full
            # reconciliation), not from the ChangeKeys the links kept while passes read past their changes.
            q.save_mailbox_sync(conn, replace(state, last_error=None, sync_state=None), now_utc())
        resumed: list[int] = []
        disabled: list[int] = []
        for link in held:
            if statuses.get(link.booking_id) == "sync_disabled":
                # Rollbacks exhausted before the hold: still not synced (ROOMS' SyncDisabled), its count kept; said
                # apart, never as "synced again" (review20f).
                disabled.append(link.booking_id)
                q.save_booking_sync(conn, replace(link, state=SYNC_DISABLED, last_error=None), now_utc())
                continue
            resumed.append(link.booking_id)
            if link.item_id is None:
                # No meeting known, but one may exist (a create whose answer was lost, then held back): the next
                # pass looks it up by its tag before it creates one.
                q.save_booking_sync(
                    conn, replace(link, state=PENDING_CREATE, last_error=None, error_count=0), now_utc()
                )
            elif link.from_exchange:
                # Its tag may never have landed: read by its item id and tagged (`MailboxSync._settle_tag`).
                q.save_booking_sync(
                    conn,
                    replace(
                        link, state=PENDING_UPDATE, last_error=None, error_count=0, last_attempt=now_utc()
                    ),
                    now_utc(),
                )
            else:
                q.save_booking_sync(conn, replace(link, state=LINKED, last_error=None), now_utc())
    audit.record("sync:resume", found.email, {"bookings": resumed, "sync_disabled": disabled}, "ok")
    return ResumeResult(person=found.email, resumed=tuple(resumed), sync_disabled=tuple(disabled))
