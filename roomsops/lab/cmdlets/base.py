"""What every emulated cmdlet is made of: its spec, parameter binding, errors, output objects and session.

A cmdlet is a small function `run(inv) -> Iterable[object]` registered with a `CmdletSpec` (its documented
parameters). It writes non-terminating errors with `inv.error()` / `inv.fail()` and raises `CmdletError`
for terminating ones, the way the real command reports each failure.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Protocol

from psrpcore.types import ErrorCategory, PSCustomObject, PSNoteProperty, PSObject

if TYPE_CHECKING:
    from roomsops.lab.context import LabContext

#: The Exchange Online server names errors mention (shapes as in real errors: "... on 'DB6PR06A001DC06...'").
EXO_SERVER = "LABPR01MB0001"
EXO_DOMAIN_CONTROLLER = "LABPR01A001DC01.LABPR01A001.PROD.OUTLOOK.COM"
DN_SUFFIX = "OU=Microsoft Exchange Hosted Organizations,DC=LABPR01A001,DC=PROD,DC=OUTLOOK,DC=COM"
#: Error codes that prefix Exchange Online module messages ("Ex6F9304|<type>|<text>"); seen for this type.
EXO_ERROR_CODES = {
    "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException": "Ex6F9304",
    "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException": "Ex9E65A2",
}


# --- errors ------------------------------------------------------------------------------------------------------


class CmdletError(Exception):
    """An error record as PowerShell writes it: message, FullyQualifiedErrorId and CategoryInfo."""

    def __init__(
        self,
        message: str,
        error_id: str,
        *,
        category: ErrorCategory = ErrorCategory.NotSpecified,
        reason: str = "",
        exception_type: str = "System.Exception",
        activity: str = "",
        target_name: str = "",
        target: Any = None,
        command: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = category
        self.reason = reason or exception_type.rsplit(".", 1)[-1]
        self.exception_type = exception_type
        self.activity = activity
        self.target_name = target_name
        self.target = target
        self.command = command  # InvocationInfo.MyCommand.Name


class PipelineStopped(Exception):
    """The client stopped the pipeline (Ctrl-C signal); unwinds the running cmdlet."""


class StopRequested(CmdletError):
    """-ErrorAction Stop made a non-terminating error terminating: it ends the whole invocation."""


def exchange_error(
    cmdlet: str, exception_type: str, text: str, *, target: str = "", code: str | None = None
) -> CmdletError:
    """An error of an Exchange Online cmdlet as module V3 writes it (non-terminating unless -ErrorAction Stop):
    message `<code>|<exception type>|<text>`, CategoryInfo `NotSpecified: [<cmdlet>], <short type>`,
    FullyQualifiedErrorId `[Server=..,RequestId=..,TimeStamp=..],Write-ErrorMessage`."""
    code = (
        code
        or EXO_ERROR_CODES.get(exception_type)
        or f"Ex{zlib.crc32(exception_type.encode()) & 0xFFFFFF:06X}"
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    return CmdletError(
        f"{code}|{exception_type}|{text}",
        f"[Server={EXO_SERVER},RequestId={uuid.uuid4()},TimeStamp={stamp}],Write-ErrorMessage",
        category=ErrorCategory.NotSpecified,
        exception_type=exception_type,
        activity=cmdlet,
        target_name=target,
        command=cmdlet,
    )


def object_not_found(cmdlet: str, identity: str) -> CmdletError:
    return exchange_error(
        cmdlet,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        f"The operation couldn't be performed because object '{identity}' couldn't be found on "
        f"'{EXO_DOMAIN_CONTROLLER}'.",
        target=identity,
    )


def recipient_not_found(cmdlet: str, identity: str) -> CmdletError:
    """How a recipient *parameter* (-Member, -PolicyScopeGroupId) that names no one fails."""
    return exchange_error(
        cmdlet,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        f'Couldn\'t find object "{identity}". Please make sure that it was spelled correctly or specify a '
        "different object.",
        target=identity,
    )


def thrown(message: str, exception_type: str = "System.Exception", *, command: str = "") -> CmdletError:
    """What a module's `throw $_.Exception` produces: OperationStopped, the message as the error id."""
    return CmdletError(
        message,
        message,
        category=ErrorCategory.OperationStopped,
        exception_type=exception_type,
        command=command,
    )


def binding_error(
    spec: CmdletSpec,
    error_id: str,
    message: str,
    *,
    category: ErrorCategory = ErrorCategory.InvalidArgument,
    exception_type: str = "System.Management.Automation.ParameterBindingException",
) -> CmdletError:
    """A ParameterBindingException: terminates the statement; the id ends with the command's type name."""
    return CmdletError(
        message,
        f"{error_id},{spec.error_suffix or spec.name}",
        category=category,
        exception_type=exception_type,
        activity=spec.name,
        command=spec.name,
    )


def command_not_found(name: str) -> CmdletError:
    return CmdletError(
        f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable "
        "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
        "and try again.",
        "CommandNotFoundException",
        category=ErrorCategory.ObjectNotFound,
        exception_type="System.Management.Automation.CommandNotFoundException",
        target_name=name,
        target=name,
    )


def lab_limitation(error_id: str, message: str, *, command: str = "") -> CmdletError:
    """Something the lab does not emulate (never a real Exchange answer): says so plainly."""
    return CmdletError(
        f"roomsops lab: {message}",
        f"{error_id},{command}" if command else error_id,
        category=ErrorCategory.NotImplemented,
        exception_type="System.NotSupportedException",
        activity=command,
        command=command,
    )


# --- parameters --------------------------------------------------------------------------------------------------

Kind = Literal["string", "strings", "bool", "switch", "resultsize", "enum", "int", "any"]


@dataclass(frozen=True)
class Param:
    """A documented parameter: its kind decides how a bound value is converted."""

    name: str
    kind: Kind = "string"
    mandatory: bool = False
    position: int | None = None  # 0-based, as PowerShell numbers positions
    choices: tuple[str, ...] = ()  # enum values (case-insensitive)
    type_name: str = "System.String"  # the .NET type named in conversion errors
    aliases: tuple[str, ...] = ()


_ACTIONS = ("SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend", "Break")
_PREFERENCE = "System.Management.Automation.ActionPreference"
#: PowerShell's common parameters, accepted by every cmdlet (about_CommonParameters).
COMMON_PARAMS = (
    Param("ErrorAction", "enum", choices=_ACTIONS, type_name=_PREFERENCE, aliases=("ea",)),
    Param("WarningAction", "enum", choices=_ACTIONS, type_name=_PREFERENCE, aliases=("wa",)),
    Param("InformationAction", "enum", choices=_ACTIONS, type_name=_PREFERENCE, aliases=("infa",)),
    Param("Verbose", "switch", aliases=("vb",)),
    Param("Debug", "switch", aliases=("db",)),
    Param("ErrorVariable", aliases=("ev",)),
    Param("WarningVariable", aliases=("wv",)),
    Param("InformationVariable", aliases=("iv",)),
    Param("OutVariable", aliases=("ov",)),
    Param("OutBuffer", "int", type_name="System.Int32", aliases=("ob",)),
    Param("PipelineVariable", aliases=("pv",)),
)
SHOULD_PROCESS_PARAMS = (
    Param("WhatIf", "switch", aliases=("wi",)),
    Param("Confirm", "switch", aliases=("cf",)),
)


def names(text: str) -> tuple[str, ...]:
    """Parameter names written as one space-separated string (long documented lists stay readable)."""
    return tuple(text.split())


@dataclass(frozen=True)
class CmdletSpec:
    name: str
    run: Callable[[Invocation], Iterable[Any]]
    params: tuple[Param, ...] = ()
    source: str = ""  # the Microsoft page the emulation follows (FIDELITY.md)
    exchange: bool = True  # an ExchangeOnlineManagement cmdlet: exists only after Connect-ExchangeOnline
    error_suffix: str = ""  # the command's type name in binding error ids (a function's own name by default)
    not_emulated: tuple[str, ...] = ()  # documented parameters the lab refuses rather than ignores
    should_process: bool = False  # -WhatIf / -Confirm
    confirm_by_default: bool = False  # ConfirmImpact High: prompts unless -Confirm:$false

    def all_params(self) -> tuple[Param, ...]:
        extra = SHOULD_PROCESS_PARAMS if self.should_process else ()
        documented = tuple(Param(n, "any") for n in self.not_emulated)
        return (*self.params, *extra, *COMMON_PARAMS, *documented)


@dataclass
class Bound:
    """Parameters after binding: canonical names → converted values (only those given)."""

    values: dict[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self.values

    @property
    def error_action(self) -> str:
        return str(self.values.get("ErrorAction") or "Continue")

    @property
    def warning_action(self) -> str:
        return str(self.values.get("WarningAction") or "Continue")


def bind(spec: CmdletSpec, arguments: Sequence[tuple[str | None, Any]]) -> Bound:
    """PowerShell's parameter binding for one command: names (case-insensitive, unique prefixes), positions,
    conversion, mandatory parameters. Raises the ParameterBindingException PowerShell would."""
    params = spec.all_params()
    values: dict[str, Any] = {}
    positional: list[Any] = []
    for raw_name, value in arguments:
        if raw_name is None:
            positional.append(value)
            continue
        param = _resolve(spec, params, raw_name.lstrip("-"))
        if param.name in values:
            raise binding_error(
                spec,
                "ParameterAlreadyBound",
                f"Cannot bind parameter because parameter '{param.name}' is specified more than once. To provide "
                "multiple values to parameters that can accept multiple values, use the array syntax. For "
                'example, "-parameter value1,value2,value3".',
            )
        values[param.name] = _convert(spec, param, value)
    open_positions = sorted((p for p in params if p.position is not None), key=lambda p: p.position or 0)
    for value in positional:
        target = next((p for p in open_positions if p.name not in values), None)
        if target is None:
            raise binding_error(
                spec,
                "PositionalParameterNotFound",
                f"A positional parameter cannot be found that accepts argument '{_text(value)}'.",
            )
        values[target.name] = _convert(spec, target, value)
    missing = [p.name for p in spec.params if p.mandatory and p.name not in values]
    if missing:
        raise binding_error(
            spec,
            "MissingMandatoryParameter",
            f"Cannot process command because of one or more missing mandatory parameters: {' '.join(missing)}.",
        )
    refused = [n for n in spec.not_emulated if n in values]
    if refused:
        raise lab_limitation(
            "LabParameterNotEmulated",
            f"{spec.name} -{refused[0]} is documented but not emulated by the lab.",
            command=spec.name,
        )
    return Bound(values)


def _resolve(spec: CmdletSpec, params: Sequence[Param], name: str) -> Param:
    wanted = name.casefold()
    for param in params:
        if param.name.casefold() == wanted or wanted in (a.casefold() for a in param.aliases):
            return param
    matches = [p for p in params if p.name.casefold().startswith(wanted)] if wanted else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = " ".join(f"-{p.name}" for p in matches)
        raise binding_error(
            spec,
            "AmbiguousParameter",
            f"Parameter cannot be processed because the parameter name '{name}' is ambiguous. Possible matches "
            f"include: {names}.",
        )
    raise binding_error(
        spec, "NamedParameterNotFound", f"A parameter cannot be found that matches parameter name '{name}'."
    )


def _convert(spec: CmdletSpec, param: Param, value: Any) -> Any:
    """One argument converted to its parameter's kind, or the binding error PowerShell raises."""
    if param.kind == "any":
        return value
    if param.kind == "switch":
        return _to_switch(spec, param, value)
    if value is None:
        return _null(spec, param)
    return _CONVERTERS[param.kind](spec, param, value)


def _to_switch(spec: CmdletSpec, param: Param, value: Any) -> bool:
    if value is None:
        return True  # `-Switch` without a value
    if isinstance(value, bool):
        return value
    raise _transformation(spec, param, value, "System.Management.Automation.SwitchParameter")


def _null(spec: CmdletSpec, param: Param) -> None:
    if param.mandatory and param.kind in ("string", "strings"):
        raise binding_error(
            spec,
            "ParameterArgumentValidationErrorNullNotAllowed",
            f"Cannot validate argument on parameter '{param.name}'. The argument is null or empty. Provide an "
            "argument that is not null or empty, and then try the command again.",
            category=ErrorCategory.InvalidData,
        )
    return None  # Exchange's parameters are nullable ($null clears a setting)


def _to_string(spec: CmdletSpec, param: Param, value: Any) -> str:
    text = _text(value)
    if param.mandatory and not text:
        raise binding_error(
            spec,
            "ParameterArgumentValidationErrorEmptyStringNotAllowed",
            f"Cannot bind argument to parameter '{param.name}' because it is an empty string.",
            category=ErrorCategory.InvalidData,
        )
    return text


def _to_strings(spec: CmdletSpec, param: Param, value: Any) -> list[str]:
    items = list(value) if isinstance(value, list | tuple) else [value]
    return [_text(v) for v in items if v is not None]


def _to_bool(spec: CmdletSpec, param: Param, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    raise binding_error(
        spec,
        "ParameterArgumentTransformationError",
        f"Cannot process argument transformation on parameter '{param.name}'. Cannot convert value "
        f'"{_type_of(value)}" to type "System.Boolean". Boolean parameters accept only Boolean values and '
        "numbers, such as $True, $False, 1 or 0.",
        category=ErrorCategory.InvalidData,
    )


def _to_int(spec: CmdletSpec, param: Param, value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise _transformation(spec, param, value, param.type_name) from None


def _to_result_size(spec: CmdletSpec, param: Param, value: Any) -> int | None:
    text = _text(value).strip()
    if text.casefold() == "unlimited":
        return None
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise binding_error(
        spec,
        "CannotConvertArgumentNoMessage",
        f"Cannot bind parameter '{param.name}'. Cannot convert value \"{text}\" to type "
        '"Microsoft.Exchange.Data.Unlimited`1[System.UInt32]". Error: "The value must be a positive '
        "integer or 'Unlimited'.\"",
        category=ErrorCategory.InvalidArgument,
    )


def _to_enum(spec: CmdletSpec, param: Param, value: Any) -> str:
    text = _text(value).strip()
    for choice in param.choices:
        if choice.casefold() == text.casefold():
            return choice
    raise binding_error(
        spec,
        "CannotConvertArgumentNoMessage",
        f'Cannot bind parameter \'{param.name}\'. Cannot convert value "{text}" to type "{param.type_name}". '
        f'Error: "Unable to match the identifier name {text} to a valid enumerator name. Specify one of the '
        f'following enumerator names and try again:\r\n{", ".join(param.choices)}"',
    )


# A value that is not null, by its parameter's kind ("any" and "switch" are handled before null is).
_CONVERTERS: dict[Kind, Callable[[CmdletSpec, Param, Any], Any]] = {
    "string": _to_string,
    "strings": _to_strings,
    "bool": _to_bool,
    "int": _to_int,
    "resultsize": _to_result_size,
    "enum": _to_enum,
}


def _transformation(spec: CmdletSpec, param: Param, value: Any, type_name: str) -> CmdletError:
    return binding_error(
        spec,
        "ParameterArgumentTransformationError",
        f"Cannot process argument transformation on parameter '{param.name}'. Cannot convert value "
        f'"{_text(value)}" to type "{type_name}".',
        category=ErrorCategory.InvalidData,
    )


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value)  # PowerShell's array-to-string conversion ($OFS)
    return "" if value is None else str(value)


def _type_of(value: Any) -> str:
    if isinstance(value, str):
        return "System.String"
    return "System.Object[]" if isinstance(value, list | tuple) else "System.Object"


# --- the session and an invocation -----------------------------------------------------------------------------


@dataclass
class Connection:
    """Who Connect-ExchangeOnline signed in: an app (app-only) or the admin user (delegated)."""

    kind: Literal["app", "user"]
    app_id: str
    principal: str  # the app's display name or the user's UPN
    organization: str
    method: str  # CertificateThumbprint | AccessToken
    connected_at: float


@dataclass
class Session:
    """The state one runspace (WinRM shell) keeps between pipelines."""

    account: str  # the WinRM account the shell runs as
    connection: Connection | None = None
    modules: set[str] = field(default_factory=set)


class Sink(Protocol):
    """Where a pipeline's streams go (the PSRP pipeline, or a list in unit-style use)."""

    def output(self, value: Any) -> None: ...

    def error(self, error: CmdletError) -> None: ...

    def warning(self, text: str) -> None: ...

    def information(self, text: str, source: str) -> None: ...


@dataclass
class Invocation:
    """One run of one cmdlet: its bound parameters and everything it may touch."""

    spec: CmdletSpec
    params: Bound
    session: Session
    ctx: LabContext
    sink: Sink
    stop: threading.Event

    def error(self, error: CmdletError) -> None:
        """A non-terminating error, as -ErrorAction says (Stop makes it end the invocation)."""
        action = self.params.error_action
        if action == "Stop":
            raise StopRequested(
                error.message,
                error.error_id,
                category=error.category,
                reason=error.reason,
                exception_type=error.exception_type,
                activity=error.activity,
                target_name=error.target_name,
                target=error.target,
                command=error.command,
            )
        if action in ("SilentlyContinue", "Ignore"):
            return
        self.sink.error(error)

    def fail(self, error: CmdletError) -> NoReturn:
        """Write a non-terminating error and end this cmdlet's work (how a single-object cmdlet fails)."""
        self.error(error)
        raise _CmdletDone

    def warn(self, text: str) -> None:
        if self.params.warning_action not in ("SilentlyContinue", "Ignore"):
            self.sink.warning(text)

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(max(0.0, seconds)):
            raise PipelineStopped


class _CmdletDone(Exception):
    """Ends a cmdlet after `Invocation.fail()` wrote its error."""


def run_cmdlet(inv: Invocation) -> list[Any]:
    """The cmdlet's output objects; its errors went to the sink (or were raised when terminating)."""
    out: list[Any] = []
    try:
        for value in inv.spec.run(inv):
            if inv.stop.is_set():
                raise PipelineStopped
            out.append(value)
    except _CmdletDone:
        pass
    return out


# --- output objects ------------------------------------------------------------------------------------------------


def exchange_object(type_chain: Sequence[str], props: Mapping[str, Any], to_string: str) -> PSObject:
    """An object as Exchange Online's cmdlets return it to a remote client: deserialized, properties adapted."""
    obj = PSObject()
    obj.PSObject.type_names = [f"Deserialized.{name}" for name in (*type_chain, "System.Object")]
    for name, value in props.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value))
    obj.PSObject.to_string = to_string
    return obj


def custom_object(props: Mapping[str, Any]) -> PSCustomObject:
    """[pscustomobject]@{...}: note properties (they arrive as extended properties)."""
    return PSCustomObject(**dict(props))


def guid(value: str) -> uuid.UUID:
    return uuid.UUID(str(value))


def parse_time(value: str) -> dt.datetime:
    """An ISO time of the tenant state as an aware datetime (serialized as <DT>)."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
