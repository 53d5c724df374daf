"""Running one PSRP pipeline: its statements in order, with PowerShell's error semantics.

A pipeline of several statements (pypsrp's `add_statement()`) is a *batch* on the server: PowerShell.cs runs
the statements one by one; a statement's terminating error is appended to the error stream and the next
statement still runs; the invocation's final state is the last statement's (a failing last statement fails
it); `-ErrorAction Stop` ends the whole batch. A single statement's terminating error fails the pipeline.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from psrpcore.types import ErrorCategory

from roomsops.lab.cmdlets import find
from roomsops.lab.cmdlets.base import (
    EXO_DOMAIN_CONTROLLER,
    CmdletError,
    CmdletSpec,
    Invocation,
    PipelineStopped,
    Session,
    Sink,
    StopRequested,
    bind,
    command_not_found,
    exchange_error,
    lab_limitation,
    run_cmdlet,
)
from roomsops.lab.cmdlets.host import KEY_ACCESS_SCRIPT, KEY_ACCESS_SCRIPT_HEADER, KEY_ACCESS_SPEC
from roomsops.lab.context import LabContext

log = logging.getLogger("roomsops.lab.winrm")


@dataclass(frozen=True)
class Command:
    """One command of a pipeline as the client sent it (psrpcore's Command, reduced to what matters here)."""

    text: str
    is_script: bool
    parameters: Sequence[tuple[str | None, Any]]
    end_of_statement: bool = False


@dataclass(frozen=True)
class Outcome:
    state: Literal["completed", "failed", "stopped"]
    error: CmdletError | None = None


def run_pipeline(
    commands: Sequence[Command],
    *,
    session: Session,
    ctx: LabContext,
    sink: Sink,
    stop: threading.Event,
    has_input: bool = False,
) -> Outcome:
    statements = _statements(commands)
    batch = len(statements) > 1
    for index, statement in enumerate(statements):
        if stop.is_set():
            return Outcome("stopped")
        last = index == len(statements) - 1
        try:
            _run_statement(statement, session=session, ctx=ctx, sink=sink, stop=stop, has_input=has_input)
        except PipelineStopped:
            return Outcome("stopped")
        except StopRequested as error:
            return Outcome("failed", error)  # -ErrorAction Stop: the batch ends here
        except CmdletError as error:
            if not batch:
                return Outcome("failed", error)
            sink.error(error)  # PowerShell.cs appends a statement's exception to the error stream ...
            if last:
                return Outcome("failed", error)  # ... and the last statement's state is the invocation's
    return Outcome("completed")


def _statements(commands: Sequence[Command]) -> list[list[Command]]:
    statements: list[list[Command]] = [[]]
    for command in commands:
        statements[-1].append(command)
        if command.end_of_statement:
            statements.append([])
    return [s for s in statements if s]


def _run_statement(
    statement: list[Command],
    *,
    session: Session,
    ctx: LabContext,
    sink: Sink,
    stop: threading.Event,
    has_input: bool,
) -> None:
    if len(statement) > 1:
        names = " | ".join(c.text.splitlines()[0][:40] for c in statement)
        raise lab_limitation(
            "LabPipingNotEmulated",
            f"piping commands into each other ({names}) is not emulated; send one command per statement.",
        )
    command = statement[0]
    spec = _spec(command, session, ctx)
    if has_input:
        raise lab_limitation(
            "LabPipelineInputNotEmulated",
            "pipeline input is not emulated; bind parameters instead.",
            command=spec.name,
        )
    bound = bind(spec, command.parameters)
    if spec.should_process:
        if bound.get("WhatIf"):
            return  # the real cmdlet writes "What if: ..." to the host and changes nothing
        confirm = bound.get("Confirm")
        if confirm is True or (spec.confirm_by_default and confirm is None):
            raise _cannot_prompt(spec)
    invocation = Invocation(spec=spec, params=bound, session=session, ctx=ctx, sink=sink, stop=stop)
    if ctx.faults.take("cmdlet", spec.name) is not None:
        invocation.error(_injected_failure(spec.name, bound))
        return
    for value in run_cmdlet(invocation):
        sink.output(value)
    ctx.cmdlet_gate.hold(
        spec.name, stop
    )  # the change is made; the pipeline's end waits while a test holds the gate


def _spec(command: Command, session: Session, ctx: LabContext) -> CmdletSpec:
    if command.is_script:
        first = (command.text.splitlines() or [""])[0].strip()
        if first == KEY_ACCESS_SCRIPT_HEADER:
            ctx.counter.add(f"script:{KEY_ACCESS_SCRIPT}")
            return KEY_ACCESS_SPEC
        ctx.counter.add("script:refused")
        raise CmdletError(
            "The roomsops lab runs commands with bound parameters only; script text is refused (roomsops sends "
            f"no script but its own {KEY_ACCESS_SCRIPT}).",
            "ScriptsNotAllowed",
            category=ErrorCategory.PermissionDenied,
            exception_type="System.Management.Automation.PSSecurityException",
        )
    spec = find(command.text)
    ctx.counter.add(f"cmdlet:{spec.name if spec else command.text}")
    if spec is None or (spec.exchange and session.connection is None):
        raise command_not_found(command.text)
    return spec


def _injected_failure(cmdlet: str, bound: Any) -> CmdletError:
    """An injected `cmdlet_error` fault: the transient directory failure Exchange Online writes as a
    non-terminating error, naming the object the cmdlet was for (-Member, else -Identity)."""
    target = bound.get("Member") or bound.get("Identity") or ""
    return exchange_error(
        cmdlet,
        "Microsoft.Exchange.Data.Directory.ADTransientException",
        f"Active Directory operation failed on {EXO_DOMAIN_CONTROLLER}. This error could have been caused by "
        "a temporary problem; please try again (injected by the lab: a cmdlet_error fault).",
        target=str(target),
    )


def _cannot_prompt(spec: CmdletSpec) -> CmdletError:
    """ConfirmImpact needs a prompt, and a remote runspace without an interactive host cannot show one."""
    return CmdletError(
        "A command that prompts the user failed because the host program or the command type does not support "
        "user interaction. The host was attempting to request confirmation with the following message: Are you "
        f'sure you want to perform this action?\r\nPerforming the operation "{spec.name}".',
        f"HostFunctionNotImplemented,{spec.error_suffix or spec.name}",
        category=ErrorCategory.NotImplemented,
        exception_type="System.Management.Automation.Host.HostException",
        activity=spec.name,
        command=spec.name,
    )
