"""`sync status`: the last runs as the summary files record them, for a person or a monitor (issue 21.3)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from roomsops.core.errors import InputError
from roomsops.core.results import Result

_AGE = re.compile(r"^\s*(\d{1,6})\s*([mhd]?)\s*$", re.IGNORECASE)
_UNIT = {"": 60, "m": 60, "h": 3600, "d": 86400}
Holder = Callable[[], dict[str, object] | None] | None
#: Everyone holding the sync lock now (sync workers hold it shared, one session each).
Holders = Callable[[], list[dict[str, object]]] | None


def parse_age(text: str) -> timedelta:
    """`--max-age`: whole minutes, or a number with m, h or d (exit 2 otherwise)."""
    match = _AGE.match(text)
    if match is None or int(match.group(1)) == 0:
        raise InputError(
            f"--max-age {text!r} is not an age", "give minutes, or a number with m, h or d, e.g. 90m, 2h, 1d"
        )
    return timedelta(seconds=int(match.group(1)) * _UNIT[match.group(2).lower()])


@dataclass(frozen=True)
class RunStatus:
    kind: str  # full | person
    file: str
    found: bool
    started: str | None = None
    finished: str | None = None
    age_minutes: int | None = None
    ok: bool | None = None
    failed_mailboxes: tuple[str, ...] = ()
    error: str | None = None
    # A summary written at the start of a run and not yet replaced: "running" (its process still holds the
    # sync lock) or "interrupted" (it died where no handler ran: SIGKILL, a reboot, a crash); None: finished.
    run_state: str | None = None
    pid: int | None = None
    #: While a run is under way: how the run before it ended (`started`, `finished`, `ok`, `error`,
    #: `failed_mailboxes`), so that a run under way does not hide that the last finished one failed.
    previous: dict[str, object] | None = None


@dataclass(frozen=True)
class SyncStatus(Result):
    runs: tuple[RunStatus, ...]
    max_age_minutes: int | None
    problem: (
        str | None
    )  # why the last full run (or, where sync workers run, a worker) is not healthy (None: ok)
    #: The sync workers' last runs (`sync --worker --name NAME`), one per name, kind "worker NAME"
    workers: tuple[RunStatus, ...] = ()
    #: where workers run: whether the full run's summary is judged too (it is only when newer than every worker's)
    full_judged: bool = True
    #: sync workers holding the run lock now (`pid`, `host`, `since`) when none writes a summary (started without
    #: `--name`) and no full run is recorded: what runs instead of the full run `sync status` looks for
    running_workers: tuple[dict[str, object], ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None

    def lines(self) -> list[str]:
        out = []
        for run in (*self.runs, *self.workers):
            if not run.found:
                out.append(f"{run.kind:6}  no run recorded ({run.file})")
                continue
            state = "ok" if run.ok else "FAILED"
            if run.run_state == "running":
                state = "RUNNING"
            elif run.run_state == "interrupted":
                state = "INTERRUPTED"
            detail = f"; failed: {', '.join(run.failed_mailboxes)}" if run.failed_mailboxes else ""
            detail += f"; error: {run.error}" if run.error else ""
            if run.started is None:  # unreadable: no start to tell
                out.append(f"{run.kind:6}  {state:6}  {run.file}{detail}")
                continue
            if run.run_state == "running":
                detail = f"; pid {run.pid}, still running"
            out.append(f"{run.kind:6}  {state:6}  started {run.started}, {run.age_minutes} min ago{detail}")
        if self.workers:
            if not self.full_judged and self.runs and self.runs[0].found:
                out.append("full run: not judged (older than the sync workers' runs: the workers sync here)")
            running = sum(1 for w in self.workers if w.run_state == "running")
            out.append(
                f"sync workers: {self.problem}"
                if self.problem
                else f"sync workers: ok ({len(self.workers)}, {running} running)"
            )
        elif self.running_workers:
            out += [
                f"worker  RUNNING  pid {w.get('pid')} on {w.get('host')} since {w.get('since')} (no summary: no --name)"
                for w in self.running_workers
            ]
            out.append(f"sync workers: {self.problem}")
        elif self.problem:
            out.append(f"last full run: {self.problem}")
        elif self.runs and self.runs[0].run_state == "running":
            out.append("last full run: running")
        else:
            out.append("last full run: ok")
        return out


class _Damaged(ValueError):
    """A summary whose shape is not the one the sync writes."""


def _load(path: Path) -> tuple[dict[str, object], datetime]:
    if path.exists() and not path.is_file():  # a named pipe would block the monitor's check for ever
        raise _Damaged("not a regular file (a named pipe, socket or device)")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise _Damaged("not a JSON object")
    started = datetime.fromisoformat(str(doc["started"]))
    if not isinstance(doc.get("ok"), bool):
        raise _Damaged(f"'ok' is {doc.get('ok')!r}, not true or false")
    if not isinstance(doc.get("mailboxes") or [], list):
        raise _Damaged("'mailboxes' is not a list")
    if doc.get("error") is not None and not isinstance(doc.get("error"), dict):
        raise _Damaged("'error' is not an object")
    return doc, started


def _run_state(doc: dict[str, object], holder: Holder, holders: Holders = None) -> str | None:
    """A summary saying the run is under way: "running" if its process holds the sync lock now (`holders`: any of
    those holding it, as sync workers do), else "interrupted" (the run never replaced it: killed, crashed, the host
    rebooted)."""
    if doc.get("running") is not True:
        return None
    if holders is not None:  # looked up only for a run under way
        held_by = holders()
    else:
        held = holder() if holder is not None else None
        held_by = [] if held is None else [held]
    for held in held_by:
        if _same_process(held, doc):
            return "running"
    return "interrupted"


def _same_process(held: dict[str, object], doc: dict[str, object]) -> bool:
    """The lock holder is the process that wrote the summary: by the run id both carry (review27w: replicas of a
    container all run as PID 1 on host names whose first bytes, all a server database keeps, are the same), else
    (a summary or a holder of an earlier version, without one) by pid and host."""
    held_run, doc_run = held.get("run"), doc.get("run_id")
    if isinstance(held_run, str) and held_run and isinstance(doc_run, str) and doc_run:
        return held_run == doc_run
    return held.get("pid") == doc.get("pid") and _same_host(held.get("host"), doc.get("host"))


def _same_host(held: object, recorded: object) -> bool:
    """The lock holder's host is the summary's: compared on what fits (review27s: a server database names its
    holder in application_name, cut to 63 bytes, so a long host name, a pod's or a fully qualified one, comes back
    as a prefix of the one the summary recorded)."""
    if held is None or recorded is None or held == recorded:
        return True
    return isinstance(held, str) and held not in ("", "?") and str(recorded).startswith(held)


def _read(kind: str, path: Path, now: datetime, holder: Holder = None, holders: Holders = None) -> RunStatus:
    try:
        doc, started = _load(path)
    except FileNotFoundError:
        return RunStatus(kind, str(path), found=False)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return RunStatus(kind, str(path), found=True, ok=False, error=f"unreadable summary: {exc}")
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    error = doc.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    mailboxes = doc.get("mailboxes") or []
    assert isinstance(mailboxes, list)
    failed = tuple(
        str(m.get("mailbox"))
        for m in mailboxes
        if isinstance(m, dict) and (m.get("error") or m.get("failures"))
    )
    run_state = _run_state(doc, holder, holders)
    if run_state == "interrupted" and holders is not None:
        message = (
            "interrupted: the worker did not finish (it was killed or crashed; its leases expire after "
            "sync.worker_lease); start it again"
        )
    elif run_state == "interrupted":
        message = "interrupted: the run did not finish (it was killed or crashed); run 'roomsops sync' again"
    elif run_state == "running":
        message = None
    pid = doc.get("pid")
    before = doc.get("previous")
    previous = before if run_state == "running" and isinstance(before, dict) else None
    ahead = started - now
    if ahead > timedelta(minutes=5):  # a clock that was wrong: this start says nothing about the sync now
        message = (
            f"started in the future ({started.isoformat()}, {int(ahead.total_seconds() // 60)} min ahead): "
            "the clock was wrong when it ran; check the clock, then run 'roomsops sync'"
        )
    return RunStatus(
        kind,
        str(path),
        found=True,
        started=started.isoformat(),
        finished=str(doc.get("finished")) if doc.get("finished") else None,
        age_minutes=max(0, int((now - started).total_seconds() // 60)),
        ok=doc.get("ok") is True and ahead <= timedelta(minutes=5),
        failed_mailboxes=failed,
        error=message,
        run_state=run_state,
        pid=pid if isinstance(pid, int) else None,
        previous=previous,
    )


def _judge_worker(run: RunStatus, max_age: timedelta | None) -> str | None:
    """What is wrong with a sync worker's last run, or None: failed, killed, stuck or too old (--max-age)."""
    name = run.kind.removeprefix("worker ")
    too_old = (
        max_age is not None and run.age_minutes is not None and run.age_minutes * 60 > max_age.total_seconds()
    )
    limit = "" if max_age is None else f" ({int(max_age.total_seconds() // 60)} min)"
    if run.run_state == "running":
        before = run.previous
        if before is not None and before.get("ok") is not True:
            return f"worker {name} running (pid {run.pid}); its run before FAILED"
        if too_old:
            return f"worker {name} running for {run.age_minutes} min (pid {run.pid}), longer than --max-age{limit}"
        return None
    if run.run_state == "interrupted":
        return f"worker {name} INTERRUPTED: {run.error}"
    if not run.ok:
        return (
            f"worker {name} FAILED"
            + (f": {run.error}" if run.error else "")
            + (f" (mailboxes: {', '.join(run.failed_mailboxes)})" if run.failed_mailboxes else "")
        )
    if too_old:
        return (
            f"worker {name} started {run.age_minutes} min ago, longer than --max-age{limit}: is it still scheduled? "
            f"(a worker retired for good: remove its summary file {run.file})"
        )
    return None


def read_status(
    full: Path,
    person: Path,
    max_age: timedelta | None,
    now: datetime | None = None,
    holder: Holder = None,
    workers: list[tuple[str, Path]] | None = None,
    holders: Holders = None,
    workers_ran: Callable[[], bool] | None = None,
) -> SyncStatus:
    """`workers_ran`: whether sync workers have worked the database (asked only when no run is recorded and none
    runs: unnamed workers that finished leave no summary). `holder`: tells who holds the sync lock now (its answer None: nobody), to tell a run under way from one
    that died; asked only when a summary says a run is under way. `workers`: the sync workers' summary files
    (name, file), told running or not by `holders` (everyone holding the lock: workers hold it shared). Where
    workers run, each worker's last run is judged (failed, killed, stuck, older than `max_age`), and the full run
    only when it is newer than every worker's (a plain sync since; an older one is of before the workers)."""
    now = now or datetime.now(UTC)
    runs = (_read("full", full, now, holder), _read("person", person, now, holder))
    if workers:
        done = tuple(
            _read(f"worker {name}", path, now, holders=holders or _no_holders) for name, path in workers
        )
        starts = [datetime.fromisoformat(w.started) for w in done if w.started is not None]
        full_started = datetime.fromisoformat(runs[0].started) if runs[0].found and runs[0].started else None
        full_judged = full_started is not None and all(full_started > s for s in starts)
        said = [p for p in (_judge_worker(w, max_age) for w in done) if p is not None]
        if full_judged:
            judged = read_status(full, person, max_age, now, holder)
            if judged.problem is not None:
                said.insert(0, f"full run: {judged.problem}")
        return SyncStatus(
            runs=runs,
            max_age_minutes=int(max_age.total_seconds() // 60) if max_age is not None else None,
            problem="; ".join(said) or None,
            workers=done,
            full_judged=bool(full_judged),
        )
    last = runs[0]
    problem = None
    running: tuple[dict[str, object], ...] = ()
    if not last.found:
        # Sync workers started without --name write no summary: they are what runs here, not a missing full run
        # (a plain sync, the old remedy, is refused beside them).
        running = tuple(h for h in (holders() if holders is not None else []) if h.get("kind") == "worker")
    if running:
        who = ", ".join(f"pid {h.get('pid')} on {h.get('host')}" for h in running)
        problem = (
            f"sync workers are running ({who}) but none records its runs: started without --name, no summary "
            "says whether they succeed; start each worker with --name NAME (one per worker on a host) so that "
            "'sync status' judges their runs"
        )
    elif not last.found and workers_ran is not None and workers_ran():
        # Unnamed workers that finished (between two scheduled runs): a plain sync is not the remedy (review27s).
        problem = (
            f"no run recorded in {full}, but sync workers have synced this database: started without --name, no "
            "summary says whether they succeed; start each worker with --name NAME (one per worker on a host) so "
            "that 'sync status' judges their runs"
        )
    elif not last.found:
        problem = f"no full run recorded in {full}: run 'roomsops sync' (and schedule it)"
    elif last.run_state == "running":
        # Under way: not a failure; only one running longer than --max-age is (stuck, or far too slow), or one
        # whose run before it failed (a schedule whose every run fails is never "healthy" while the next runs).
        before = last.previous
        if before is not None and before.get("ok") is not True:
            error = before.get("error")
            message = error.get("message") if isinstance(error, dict) else None
            failed = before.get("failed_mailboxes")
            problem = (
                f"running (pid {last.pid}); the run before it FAILED"
                + (f": {message}" if message else "")
                + (
                    f" (mailboxes: {', '.join(map(str, failed))})"
                    if isinstance(failed, list) and failed
                    else ""
                )
            )
        elif (
            max_age is not None
            and last.age_minutes is not None
            and last.age_minutes * 60 > max_age.total_seconds()
        ):
            problem = (
                f"running for {last.age_minutes} min (pid {last.pid}), longer than --max-age "
                f"({int(max_age.total_seconds() // 60)} min): is it stuck?"
            )
    elif not last.ok:
        problem = (
            "FAILED"
            + (f": {last.error}" if last.error else "")
            + (f" (mailboxes: {', '.join(last.failed_mailboxes)})" if last.failed_mailboxes else "")
        )
    elif (
        max_age is not None
        and last.age_minutes is not None
        and last.age_minutes * 60 > max_age.total_seconds()
    ):
        problem = (
            f"started {last.age_minutes} min ago, longer than --max-age ({int(max_age.total_seconds() // 60)} min): "
            "is the scheduled task still running?"
        )
    return SyncStatus(
        runs=runs,
        max_age_minutes=int(max_age.total_seconds() // 60) if max_age is not None else None,
        problem=problem,
        running_workers=running,
    )


def _no_holders() -> list[dict[str, object]]:
    return []
