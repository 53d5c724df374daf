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
    problem: str | None  # why the last full run is not healthy (None: it is)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def lines(self) -> list[str]:
        out = []
        for run in self.runs:
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
        if self.problem:
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


def _run_state(doc: dict[str, object], holder: Holder) -> str | None:
    """A summary saying the run is under way: "running" if its process holds the sync lock now, else
    "interrupted" (the run never replaced it: killed, crashed, the host rebooted)."""
    if doc.get("running") is not True:
        return None
    held = holder() if holder is not None else None  # looked up only for a run under way
    if held is not None and held.get("pid") == doc.get("pid"):
        if doc.get("host") is None or held.get("host") in (None, doc.get("host")):
            return "running"
    return "interrupted"


def _read(kind: str, path: Path, now: datetime, holder: Holder = None) -> RunStatus:
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
    run_state = _run_state(doc, holder)
    if run_state == "interrupted":
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


def read_status(
    full: Path,
    person: Path,
    max_age: timedelta | None,
    now: datetime | None = None,
    holder: Holder = None,
) -> SyncStatus:
    """`holder`: tells who holds the sync lock now (its answer None: nobody), to tell a run under way from one
    that died; asked only when a summary says a run is under way."""
    now = now or datetime.now(UTC)
    runs = (_read("full", full, now, holder), _read("person", person, now, holder))
    last = runs[0]
    problem = None
    if not last.found:
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
    )
