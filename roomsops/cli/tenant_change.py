"""Commands that change the tenant (policy restrict/remove/migrate, ews allow, rooms check --fix) run through
`tenant_change`:

- before the first change, the audit log is opened for append: a run that could not record what it changes
  changes nothing (exit 2 with the remedy);
- SIGTERM interrupts like Ctrl-C (a `KeyboardInterrupt`), so the Exchange session's way out runs: the running
  pipeline is stopped, Disconnect-ExchangeOnline runs and the runspace pool is closed;
- an interrupted run (SIGTERM, Ctrl-C, a dropped WinRM connection, an audit log that stopped taking records), or one
  where a change failed (a cmdlet's error) after others were made, says which changes were made, which were not
  (and which was running, so may have been made), how to finish and how to undo; with --json as one document
  `{"ok": false, "done": [...], "not_done": [...], "remedy": ..., "error": {"code", "message", "remedy"}}` (the
  `error` member as in every other error document, so a script reading `error.code` also sees this one).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING

from roomsops.cli.context import AppContext
from roomsops.core.errors import ConnectError, ExitCode, InputError, OperationFailed, Terminated
from roomsops.core.results import Result
from roomsops.core.secure_files import private_opener

if TYPE_CHECKING:
    from roomsops.services.policy.model import Progress

#: Exit codes of an interrupted run: 128 + the signal, as a shell reports it; a dropped connection is exit 1.
SIGINT_EXIT = 130
SIGTERM_EXIT = 143
#: Failures that stop a run between two changes: the WinRM connection dropped, the audit log could not be written.
STOPPED_MIDWAY = ("winrm_dropped", "audit_failed")


def _raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    # One interruption: a second SIGTERM must not cut the disconnect short (SIGKILL still ends the process).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated` (only the main thread can install a handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_audit_writable(app: AppContext) -> None:
    """Open the audit log for append before the first change (exit 2 if it cannot be, nothing changed)."""
    path = app.audit.path
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8", opener=private_opener):
            pass
    except OSError as exc:
        origin = app.settings.origin("log.audit")
        raise InputError(
            f"the audit log {path} (log.audit, from {origin}) cannot be written: {exc.strerror or exc}; "
            "nothing was changed",
            f"point log.audit in {origin} at a file this account can append to (not a folder), then run "
            "the command again",
            code="audit_not_writable",
        ) from None


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Around a command that only reads the tenant: a WinRM connection dropped after connecting changed
    nothing, so it is a failure to reach Exchange (exit 3), not a half-done change with "steps done"."""
    from roomsops.adapters.exo.session import DROPPED, dropped_while_reading

    try:
        yield
    except OperationFailed as exc:
        if exc.code != DROPPED:
            raise
        raise dropped_while_reading(exc) from None


@dataclass(frozen=True)
class InterruptedResult(Result):
    """What an interrupted tenant-changing run reports."""

    command: str
    reason: str
    done: tuple[str, ...]
    not_done: tuple[str, ...]
    remedy: str
    #: What every error document has ({"code", "message", "remedy"}): code "interrupted" (Ctrl-C), "terminated"
    #: (SIGTERM), or the failure's ("winrm_dropped", "audit_failed").
    error: dict[str, str] = field(default_factory=dict)
    exit_status: int = field(default=int(ExitCode.FAILED), metadata={"json": False})
    #: "was interrupted", or "stopped half-way" (a change failed after others were made).
    stopped: str = field(default="was interrupted", metadata={"json": False})

    @property
    def ok(self) -> bool:
        return False

    @property
    def exit_code(self) -> ExitCode:
        return self.exit_status  # type: ignore[return-value]  # 130/143 are a shell's codes, not ExitCode's

    def lines(self) -> list[str]:
        out = [f"Error: {self.command} {self.stopped} ({self.reason}) — {self.remedy}"]
        out += ["done:"] + [f"  {d}" for d in self.done or ("nothing",)]
        out += ["not done:"] + [f"  {n}" for n in self.not_done or ("nothing",)]
        return out


def tenant_change(
    app: AppContext,
    command: str,
    undo: str | Callable[[], str],
    work: Callable[[Progress], int],
    *,
    dry_run: bool = False,
    tenant_lock: bool = False,
) -> int:
    """Run `work` (which opens the session and changes the tenant, noting its changes in the Progress it is
    given) with the audit check before and the interruption report after. `undo` says how to reverse what
    was done (a callable: asked after the run, for what only the run learnt). A dry run changes nothing: no audit
    check, no lock. `tenant_lock` (the policy commands): the tenant's policy lock is held for the whole run, before
    the tenant is read; while another run holds it this one exits 1 having read and changed nothing."""
    if not dry_run:
        check_audit_writable(app)
    if tenant_lock and not dry_run:
        from roomsops.core.settings import data_dir
        from roomsops.services.sync.lock import policy_lock

        with policy_lock(app.settings.data_dir or data_dir(), app.settings.exo.organization):
            return _run_change(app, command, undo, work)
    return _run_change(app, command, undo, work)


def _run_change(
    app: AppContext, command: str, undo: str | Callable[[], str], work: Callable[[Progress], int]
) -> int:
    from roomsops.services.policy.model import Progress  # loaded with the command, not with --help

    progress = Progress()
    stopped = "was interrupted"
    try:
        with sigterm_interrupts():
            return work(progress)
    except Terminated:
        reason, status, code = "SIGTERM", SIGTERM_EXIT, "terminated"
    except KeyboardInterrupt:
        reason, status, code = "Ctrl-C", SIGINT_EXIT, "interrupted"
    except OperationFailed as exc:
        if exc.code == "winrm_dropped" and not (progress.done or progress.running):
            # Dropped before any change began (every change runs through the Applier, which notes it in
            # `progress`): no work was done, so this is a failure to connect, exit 3, with nothing claimed done.
            raise ConnectError(
                f"{exc.message.removesuffix('; the steps before it were done')}; nothing was changed",
                "check the management host and the network, then run the command again",
                code="winrm_dropped",
            ) from None
        if exc.code in STOPPED_MIDWAY and (progress.planned or progress.done):
            reason = exc.message.removesuffix("; the steps before it were done")
        elif exc.remedy is None and progress.done:
            # A change failed after others were made (a cmdlet's error: Exchange's transient "try again", a
            # fault): the run is half-done like an interrupted one, and says so with the same remedy.
            reason, stopped = exc.message, "stopped half-way"
        else:
            raise
        status, code = int(ExitCode.FAILED), exc.code or "failed"
    audit = f" (the audit log {app.audit.path} lists each change made)" if app.audit.path else ""
    remedy = (
        f"the Exchange session was closed; to finish, run the same command again: it keeps what is already in "
        f"place and makes the rest; to undo, {undo if isinstance(undo, str) else undo()}{audit}"
    )
    message = f"{command} {stopped} ({reason})"
    if stopped != "was interrupted":  # the one line of a --json error names what is in place
        message += (
            f"; done: {', '.join(progress.done)}; not done: {', '.join(progress.not_done) or 'nothing'}"
        )
    result = InterruptedResult(
        command=command,
        reason=reason,
        done=tuple(progress.done),
        not_done=tuple(progress.not_done),
        remedy=remedy,
        error={"code": code, "message": message, "remedy": remedy},
        exit_status=status,
        stopped=stopped,
    )
    if app.json_mode:
        app.out.emit(result)
    else:
        for line in result.lines():
            app.out.note(line)
    return status
