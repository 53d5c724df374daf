"""PowerShell remoting shells of the lab's management host: psrpcore's server side does PSRP.

One `Shell` per WinRM shell (a runspace pool with one runspace and its session). Each pipeline runs in a
worker thread, as PowerShell runs it off the request thread: Receive long-polls for its output, a Ctrl-C
signal stops it between commands (or inside Start-Sleep), Delete ends the shell and everything in it.
All psrpcore calls of a shell happen under its condition lock; cmdlets run outside it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psrpcore
from psrpcore.types import (
    CommandTypes,
    ErrorCategoryInfo,
    ErrorRecord,
    InvocationInfo,
    NETException,
    PSInvocationState,
    PSVersion,
    SessionStateEntryVisibility,
)

from roomsops.lab.cmdlets.base import CmdletError, PipelineStopped, Session
from roomsops.lab.cmdlets.runner import Command, Outcome, run_pipeline
from roomsops.lab.context import LabContext

log = logging.getLogger("roomsops.lab.winrm")

#: The longest a Receive waits for output before the OperationTimeout fault (the client polls again); real
#: WinRM waits the full OperationTimeout, the lab caps it so that a stopping lab never waits for long.
LONG_POLL_MAX = 1.0
#: Raw PSRP bytes per Receive answer (base64 grows them by 4/3; pypsrp asks for 150 KiB envelopes).
RECEIVE_MAX = 96 * 1024
STOP_WAIT = 5.0  # how long a Ctrl-C signal waits for the pipeline to wind down
#: Unverified: how long the lab gathers a running pipeline's output into one Receive answer (WinRM buffers).
RECEIVE_SETTLE = 0.05
FRAGMENT_SIZE = 32 * 1024
_TERMINAL = (PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped)


@dataclass(frozen=True)
class CommandInfo:
    """InvocationInfo.MyCommand as psrpcore serializes it (it reads these four attributes)."""

    CommandType: CommandTypes
    Name: str
    Definition: str
    Visibility: SessionStateEntryVisibility


class ShellError(Exception):
    """A WS-Man level failure of a shell operation (answered as a WSManFault)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class PipelineRun:
    id: uuid.UUID
    server: psrpcore.ServerPipeline
    stop: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    inputs: list[Any] = field(default_factory=list)
    started: bool = False


class Shell:
    def __init__(self, shell_id: str, resource_uri: str, owner: str, ctx: LabContext) -> None:
        self.id = shell_id
        self.resource_uri = resource_uri
        self.owner = owner
        self.ctx = ctx
        self.created = time.time()
        self.session = Session(account=owner)
        self.closed = False
        self.cond = threading.Condition()
        self.pool = psrpcore.ServerRunspacePool(
            application_private_data={
                "PSVersionTable": {"PSVersion": PSVersion("5.1.17763.6414"), "PSEdition": "Desktop"}
            }
        )
        self.runs: dict[uuid.UUID, PipelineRun] = {}
        self._outbox: dict[uuid.UUID | None, deque[bytes]] = {}

    # --- incoming ---------------------------------------------------------------------------------------------

    def create_pipeline(self, pipeline_id: uuid.UUID) -> None:
        """The pipeline must exist before its CreatePipeline fragment arrives (psrpcore looks it up)."""
        with self.cond:
            run = PipelineRun(pipeline_id, psrpcore.ServerPipeline(self.pool, pipeline_id))
            self.runs[pipeline_id] = run

    def feed(self, data: bytes) -> list[PipelineRun]:
        """PSRP fragments from the client (creationXml, Command arguments, Send); the pipelines they started."""
        to_start: list[PipelineRun] = []
        with self.cond:
            if self.closed:
                raise ShellError(2150858843, "The shell was closed.")
            self.pool.receive_data(psrpcore.PSRPPayload(data, psrpcore.StreamType.default, None))
            while (event := self.pool.next_event()) is not None:
                run = self.runs.get(getattr(event, "pipeline_id", None) or uuid.UUID(int=0))
                if isinstance(event, psrpcore.CreatePipelineEvent) and run is not None:
                    if event.pipeline.no_input:
                        to_start.append(run)
                elif isinstance(event, psrpcore.PipelineInputEvent) and run is not None:
                    run.inputs.append(event.data)
                elif isinstance(event, psrpcore.EndOfPipelineInputEvent) and run is not None:
                    to_start.append(run)
                elif isinstance(event, psrpcore.GetRunspaceAvailabilityEvent):
                    self.pool.runspace_availability_response(event.ci, 1)
                elif isinstance(event, psrpcore.SetRunspaceAvailabilityEvent):
                    self.pool.runspace_availability_response(event.ci, True)
            self._drain()
        for run in to_start:
            self._start(run)
        return to_start

    # --- outgoing ---------------------------------------------------------------------------------------------

    def receive(self, pipeline_id: uuid.UUID | None, timeout: float, max_bytes: int) -> tuple[bytes, bool]:
        """The next output for the pool or a pipeline, waiting up to `timeout`: (data, done)."""
        deadline = time.monotonic() + min(timeout, LONG_POLL_MAX)
        collected = b""
        settle: float | None = None
        with self.cond:
            if pipeline_id is not None and (asked := self.runs.get(pipeline_id)) is not None:
                self.ctx.cmdlet_gate.receiving(asked.stop)
            while True:
                if self.closed:
                    raise ShellError(2150858843, "The shell was closed.")
                run = self.runs.get(pipeline_id) if pipeline_id else None
                if pipeline_id is not None and run is None:
                    raise ShellError(2150858843, f"The command {str(pipeline_id).upper()} was not found.")
                taken = self._take(pipeline_id, max_bytes - len(collected), must_fit=bool(collected))
                collected += taken
                terminal = run is not None and run.server.state in _TERMINAL
                done = terminal and not self._outbox.get(pipeline_id)
                full = bool(collected) and not taken and bool(self._outbox.get(pipeline_id))
                if done or full or len(collected) >= max_bytes:
                    return collected, done
                if collected:
                    # Output of a running pipeline is gathered for a moment before answering, as WinRM buffers
                    # it: the number of Receive round trips then depends on the output's size, not on timing.
                    settle = settle or time.monotonic() + RECEIVE_SETTLE
                    if time.monotonic() >= settle:
                        return collected, done
                    self.cond.wait(settle - time.monotonic())
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ShellError(
                        2150858793,
                        "The WS-Management service cannot complete the operation within the time specified in "
                        "OperationTimeout.",
                    )
                self.cond.wait(remaining)

    # --- signals and closing ----------------------------------------------------------------------------------

    def stop_pipeline(self, pipeline_id: uuid.UUID) -> None:
        """Ctrl-C: stop a running pipeline and wait (briefly) until it has."""
        with self.cond:
            run = self.runs.get(pipeline_id)
            if run is None:
                return
            run.stop.set()
            self.cond.notify_all()
            started = run.started
        if started:
            run.finished.wait(STOP_WAIT)
        with self.cond:
            if run.server.state == PSInvocationState.Running:
                run.server.stop()  # a cmdlet that ignored the request; its later writes are dropped
            elif run.server.state == PSInvocationState.NotStarted:
                run.server.start()
                run.server.stop()
            self._drain()

    def close_pipeline(self, pipeline_id: uuid.UUID) -> None:
        """Terminate signal: the pipeline is gone (stopped first if it still runs)."""
        run = self.runs.get(pipeline_id)
        if run is None:
            return
        if run.server.state not in _TERMINAL:
            self.stop_pipeline(pipeline_id)
        with self.cond:
            self.runs.pop(pipeline_id, None)
            self.pool.pipeline_table.pop(pipeline_id, None)
            self._outbox.pop(pipeline_id, None)

    def close(self) -> None:
        """Delete: stop every pipeline and forget the shell (its runspace and session end)."""
        with self.cond:
            self.closed = True
            for run in self.runs.values():
                run.stop.set()
            self.cond.notify_all()

    def running(self) -> int:
        with self.cond:
            return sum(1 for r in self.runs.values() if r.server.state == PSInvocationState.Running)

    # --- internals ----------------------------------------------------------------------------------------------

    def _start(self, run: PipelineRun) -> None:
        with self.cond:
            if run.started or self.closed:
                return
            run.started = True
            run.server.start()
            self._drain()
        worker = threading.Thread(target=self._work, args=(run,), name=f"psrp-{run.id}", daemon=True)
        worker.start()

    def _work(self, run: PipelineRun) -> None:
        meta = run.server.metadata
        commands = [
            Command(c.command_text, bool(c.is_script), list(c.parameters), bool(c.end_of_statement))
            for c in (meta.commands if meta is not None else [])
        ]
        sink = _PipelineSink(self, run)
        try:
            outcome = run_pipeline(
                commands,
                session=self.session,
                ctx=self.ctx,
                sink=sink,
                stop=run.stop,
                has_input=bool(run.inputs),
            )
        except Exception:  # a lab bug must not leave the client waiting forever
            log.exception("pipeline %s failed inside the lab", run.id)
            outcome = Outcome(
                "failed",
                CmdletError(
                    "The roomsops lab failed running this pipeline; see its log.", "LabInternalError"
                ),
            )
        with self.cond:
            if run.server.state == PSInvocationState.Running and not self.closed:
                if outcome.state == "stopped":
                    run.server.stop()
                elif outcome.state == "failed" and outcome.error is not None:
                    _fail(run.server, error_record(outcome.error))
                else:
                    run.server.complete()
                self._drain()
            self.cond.notify_all()
        run.finished.set()

    def _write(self, run: PipelineRun, action: Callable[[psrpcore.ServerPipeline], None]) -> None:
        with self.cond:
            if self.closed or run.stop.is_set() or run.server.state != PSInvocationState.Running:
                raise PipelineStopped
            action(run.server)
            self._drain()
            self.cond.notify_all()

    def _drain(self) -> None:
        while (payload := self.pool.data_to_send(FRAGMENT_SIZE)) is not None:
            self._outbox.setdefault(payload.pipeline_id, deque()).append(payload.data)

    def _take(self, target: uuid.UUID | None, max_bytes: int, must_fit: bool = False) -> bytes:
        """Queued fragments up to `max_bytes` (at least one unless `must_fit`: a Receive never comes back empty)."""
        queue = self._outbox.get(target)
        out = bytearray()
        while queue and ((not out and not must_fit) or len(out) + len(queue[0]) <= max_bytes):
            out += queue.popleft()
        if queue is not None and not queue:
            self._outbox.pop(target, None)
        return bytes(out)


class _PipelineSink:
    """The streams of one pipeline, written into its PSRP messages."""

    def __init__(self, shell: Shell, run: PipelineRun) -> None:
        self.shell = shell
        self.run = run

    def output(self, value: Any) -> None:
        self.shell._write(self.run, lambda p: p.write_output(value))

    def error(self, error: CmdletError) -> None:
        record = error_record(error)
        self.shell._write(
            self.run,
            lambda p: p.write_error(
                record.Exception,
                record.CategoryInfo,
                target_object=record.TargetObject,
                fully_qualified_error_id=record.FullyQualifiedErrorId,
                invocation_info=record.InvocationInfo,
            ),
        )

    def warning(self, text: str) -> None:
        self.shell._write(self.run, lambda p: p.write_warning(text))

    def information(self, text: str, source: str) -> None:
        self.shell._write(self.run, lambda p: p.write_information(text, source, tags=["PSHOST"]))


def error_record(error: CmdletError) -> ErrorRecord:
    exception = NETException(Message=error.message)
    short = error.exception_type.rsplit(".", 1)[-1]
    exception.PSObject.type_names = [error.exception_type, "System.Exception", "System.Object"]
    exception.PSObject.to_string = f"{error.exception_type}: {error.message}" if short else error.message
    category = ErrorCategoryInfo(
        Category=error.category,
        Activity=error.activity,
        Reason=error.reason,
        TargetName=error.target_name,
        TargetType="String" if error.target_name else "",
    )
    invocation = None
    if error.command:
        invocation = InvocationInfo(
            MyCommand=CommandInfo(
                CommandType=CommandTypes.Function if "-" in error.command else CommandTypes.Cmdlet,
                Name=error.command,
                Definition="",
                Visibility=SessionStateEntryVisibility.Public,
            ),
            InvocationName=error.command,
            HistoryId=1,
            PipelineLength=1,
            PipelinePosition=1,
            OffsetInLine=0,
            ScriptLineNumber=0,
            ScriptName="",
            Line="",
            PositionMessage="",
            ExpectingInput=False,
            CommandOrigin=psrpcore.types.CommandOrigin.Runspace,
        )
    record = ErrorRecord(
        Exception=exception,
        CategoryInfo=category,
        TargetObject=error.target,
        FullyQualifiedErrorId=error.error_id,
        InvocationInfo=invocation,
    )
    record.serialize_extended_info = invocation is not None
    return record


def _fail(pipeline: psrpcore.ServerPipeline, record: ErrorRecord) -> None:
    # psrpcore 0.3 has no public "failed" transition for a server pipeline; this is the one it uses itself.
    pipeline._change_state(PSInvocationState.Failed, error=record)


class ShellRegistry:
    """The open shells of the host, and which were deleted (GET /lab/winrm shows both)."""

    def __init__(self, ctx: LabContext) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._shells: dict[str, Shell] = {}
        self._deleted: deque[dict[str, Any]] = deque(maxlen=200)
        self._deleted_total = 0

    def create(self, shell_id: str, resource_uri: str, owner: str) -> Shell:
        shell = Shell(shell_id, resource_uri, owner, self.ctx)
        with self._lock:
            self._shells[shell_id] = shell
        return shell

    def get(self, shell_id: str | None) -> Shell:
        with self._lock:
            shell = self._shells.get((shell_id or "").upper())
        if shell is None:
            raise ShellError(
                2150858843,
                f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
                "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
                "exists on the server. Provide the correct ShellId or create a new shell and retry the operation.",
            )
        return shell

    def delete(self, shell_id: str | None) -> None:
        shell = self.get(shell_id)
        with self._lock:
            self._shells.pop(shell.id, None)
            self._deleted_total += 1
            self._deleted.append({"id": shell.id, "owner": shell.owner, "deleted_at": time.time()})
        shell.close()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            shells = list(self._shells.values())
            deleted = list(self._deleted)
            total = self._deleted_total
        return {
            "open_shells": [
                {
                    "id": s.id,
                    "owner": s.owner,
                    "resource_uri": s.resource_uri,
                    "created_at": s.created,
                    "running_pipelines": s.running(),
                    "connected_as": s.session.connection.principal if s.session.connection else None,
                }
                for s in shells
            ],
            "deleted_shells": total,
            "deleted": deleted,
        }
