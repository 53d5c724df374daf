"""One sync pass over every synced person: lock, mailboxes in parallel, summary, last-run file."""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from roomsops.adapters.store import Booking, BookingSyncState, MailboxSyncState, Store, now_utc
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.schema import CANCELLED, UNLINKED
from roomsops.core.errors import RoomsopsError, Terminated
from roomsops.core.logs import AuditLog, log
from roomsops.core.results import Result
from roomsops.core.settings import Settings
from roomsops.core.vocabulary import EWS_SYNC_MODES
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.engine import MailboxReport, MailboxSync, PassContext, unexpected

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
                continue
            counts = ", ".join(f"{getattr(m, k)} {k.replace('_', ' ')}" for k in self.totals if getattr(m, k))
            skipped = ", ".join(f"{v} {k}" for k, v in sorted(m.skipped.items()))
            line = f"{m.mailbox}: {counts or 'nothing to do'}" + (f"; skipped {skipped}" if skipped else "")
            out.append(line)
            out += [f"  failed: {f}" for f in m.failures]
            out += [f"  would {p}" for p in m.planned]
            if m.unknown_tagged:
                out.append(
                    f"  {len(m.unknown_tagged)} meeting(s) tagged by this installation have no booking "
                    "(reported, not deleted)"
                )
        out += [f"{p}: not handled (sync mode is not O365 or O365Pull)" for p in self.not_handled]
        out += [
            f"{p}: skipped {s['bookings']} booking(s): sync mode {s['sync_mode']} is not synced by roomsops"
            for p, s in self.skipped_sync_mode.items()
        ]
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
    success. `running`, `pid` and `host` let `sync status` tell a run still going from one that died;
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
        "error": dict(UNFINISHED),
        "totals": {},
        "previous": _previous_run(path),
    }
    _write_json(path, doc)


def _previous_run(path: Path) -> dict[str, object] | None:
    """How the run whose summary is at `path` ended — started, finished, ok, error, failed_mailboxes — or None
    when there is none (or it cannot be read). A summary still saying "under way" (read while this run holds the
    lock) is of a run that was killed or crashed: not ok."""
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


def write_summary(path: Path, result: SyncResult) -> None:
    """The last-run summary for monitoring, replaced atomically."""
    from roomsops.core.results import to_jsonable

    _write_json(path, to_jsonable(result) | {"ok": result.ok, "totals": result.totals})


def _write_json(path: Path, doc: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".last-sync.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(doc, stream, indent=2)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)  # no stray .last-sync.* beside a summary that could not be written
        raise


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
) -> SyncResult:
    started = now_utc()
    window = (
        started - timedelta(days=settings.sync.window_days_past),
        started + timedelta(days=settings.sync.window_days_future),
    )
    with store.write() as conn:  # the installation id is created once per database, on first use
        installation = q.installation_id(conn)
        mailboxes = [m.email for m in q.sync_mailboxes(conn, include_rooms=False)]
        skipped_sync_mode = _skipped_by_sync_mode(conn, window, persons)
    not_handled: list[str] = []
    if persons:
        wanted = {p.casefold() for p in persons}
        not_handled = [p for p in persons if p.casefold() not in {m.casefold() for m in mailboxes}]
        mailboxes = [m for m in mailboxes if m.casefold() in wanted]
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
    )

    def one(mailbox: str) -> MailboxReport:
        try:
            report = MailboxSync(ctx, mailbox).run()
        except Exception as exc:  # MailboxSync.run contains its own; this is the last guard for the others
            log.debug("%s: unexpected error", mailbox, exc_info=True)
            report = MailboxReport(mailbox, error=unexpected(exc), error_code="internal")
        log_report(report, dry_run)
        if progress is not None:
            progress(mailbox)
        return report

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sync")
    try:
        futures = [pool.submit(one, mailbox) for mailbox in mailboxes]
        reports = [future.result() for future in futures]
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM): no mailbox is started any more; those running finish their pass, so
        # every write is recorded and the database stays consistent.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    reports += _cancel_for_persons_not_synced(ctx, persons)
    for report in reports[len(mailboxes) :]:
        log_report(report, dry_run)
    return SyncResult(
        started=started,
        finished=now_utc(),
        dry_run=dry_run,
        mailboxes=tuple(reports),
        not_handled=tuple(not_handled),
        skipped_sync_mode=skipped_sync_mode,
    )


def _skipped_by_sync_mode(
    conn: Connection, window: tuple[datetime, datetime], persons: Sequence[str] | None
) -> dict[str, dict[str, str | int]]:
    """The persons (those named, with --person) whose sync mode roomsops leaves alone, with how many of their
    active bookings in the window that leaves out: said, not skipped without a word."""
    wanted = {p.casefold() for p in persons} if persons else None
    out: dict[str, dict[str, str | int]] = {}
    for person in q.list_persons(conn):
        if person.sync_mode in EWS_SYNC_MODES or (
            wanted is not None and person.email.casefold() not in wanted
        ):
            continue
        active = [b for b in q.bookings_in_window(conn, person.email, *window) if b.status == "active"]
        if active:
            out[person.email] = {"sync_mode": person.sync_mode, "bookings": len(active)}
    return out


def _cancel_for_persons_not_synced(ctx: PassContext, persons: Sequence[str] | None) -> list[MailboxReport]:
    """The cancelled bookings of persons whose sync mode roomsops does not sync, whose meeting (made while the
    person was synced) is still in Exchange: the meeting is cancelled, and nothing else is done in that mailbox.
    Without this, `persons remove` / `rooms remove --cancel-bookings` of such a booking waited for a sync that
    never came."""
    wanted = {p.casefold() for p in persons} if persons else None
    work: list[tuple[str, list[tuple[Booking, BookingSyncState]]]] = []
    with ctx.store.read() as conn:
        for person in q.list_persons(conn):
            if person.sync_mode in EWS_SYNC_MODES or (
                wanted is not None and person.email.casefold() not in wanted
            ):
                continue
            live = {
                link.booking_id: link
                for link in q.booking_sync_for_mailbox(conn, person.email)
                if link.item_id is not None and link.state not in (CANCELLED, UNLINKED)
            }
            cancelled = [
                (b, live[b.id]) for b in q.bookings_by_id(conn, list(live)) if b.status == "cancelled"
            ]
            if cancelled:
                work.append((person.email, cancelled))
    reports = []
    for mailbox, cancelled in work:
        report = MailboxReport(mailbox)
        for booking, link in cancelled:
            if ctx.dry_run:
                report.planned.append(f"cancel meeting of booking {booking.id} ({booking.title})")
                report.cancelled += 1
                continue
            try:
                for meeting in ctx.backend.find_tagged(mailbox, ctx.installation, str(booking.id)):
                    if not meeting.is_cancelled:
                        ctx.backend.cancel(mailbox, meeting)
                with ctx.store.write() as conn:
                    q.save_booking_sync(
                        conn,
                        replace(link, item_id=None, change_key=None, state=CANCELLED, last_error=None),
                        now_utc(),
                    )
            except RoomsopsError as exc:
                report.failures.append(f"booking {booking.id} ({booking.title}): {exc.message}")
                continue
            ctx.audit.record(
                "ews:CancelCalendarItem",
                mailbox,
                {"item_id": link.item_id, "booking": booking.id},
                "cancelled (sync mode not synced)",
            )
            report.cancelled += 1
        reports.append(report)
    return reports


@dataclass(frozen=True)
class PurgeResult(Result):
    mailbox: str
    dry_run: bool
    removed: tuple[str, ...]  # subjects of the meetings removed (or to be removed)

    def lines(self) -> list[str]:
        verb = "would remove" if self.dry_run else "removed"
        if not self.removed:
            return [f"{self.mailbox}: no meetings of this installation"]
        return [f"{self.mailbox}: {verb} {len(self.removed)} meeting(s)"] + [f"  {s}" for s in self.removed]


def purge(
    store: Store,
    backend: CalendarBackend,
    mailbox: str,
    audit: AuditLog,
    confirm: Callable[[str], None],
    dry_run: bool = False,
) -> PurgeResult:
    """Remove the meetings this installation created in `mailbox` (a person leaving the sync)."""
    with store.write() as conn:
        installation = q.installation_id(conn)
    meetings = [
        m
        for m in backend.find_tagged(mailbox, installation)
        if m.organizer in (None, mailbox.lower()) and not m.is_cancelled
    ]
    subjects = tuple(m.fields.subject if m.fields else m.item_id for m in meetings)
    if dry_run or not meetings:
        return PurgeResult(mailbox=mailbox, dry_run=dry_run, removed=subjects)
    confirm(f"Cancel {len(meetings)} meeting(s) roomsops created in {mailbox}?")
    for meeting in meetings:
        backend.cancel(mailbox, meeting)
        audit.record(
            "ews:CancelCalendarItem",
            mailbox,
            {"item_id": meeting.item_id, "booking": meeting.booking_id},
            "purged",
        )
        if (meeting.booking_id or "").isdigit():
            with store.write() as conn:
                q.delete_booking_sync(conn, int(meeting.booking_id or 0))
    with store.write() as conn:
        q.save_mailbox_sync(
            conn, MailboxSyncState(mailbox=mailbox, sync_state=None, last_pass=now_utc()), now_utc()
        )
    return PurgeResult(mailbox=mailbox, dry_run=False, removed=subjects)
