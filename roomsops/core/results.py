"""Result objects that commands return, and the one renderer that prints them as text or JSON.

Commands never print: they return a frozen dataclass; `Output.emit` renders it on stdout
(a rich table or one JSON document), notes and warnings go to stderr.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from roomsops.core.errors import ExitCode, RoomsopsError
from roomsops.core.logs import mask


class Status(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"


def to_jsonable(value: Any) -> Any:
    """Plain JSON data from results: dataclasses, enums, paths and datetimes included."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("json", True)
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Check:
    """One line of a check report."""

    name: str
    status: Status
    message: str
    remedy: str | None = None


@dataclass(frozen=True)
class Result:
    """Base of command results: `ok` decides exit code 0 or 1; `notes` go to stderr."""

    title: ClassVar[str] = ""
    notes: tuple[str, ...] = field(default=(), kw_only=True, metadata={"json": False})

    @property
    def ok(self) -> bool:
        return True

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.ok else ExitCode.FAILED

    def tables(self) -> Sequence[Table]:
        """Rich tables for the text rendering; subclasses override this or `lines`."""
        return ()

    def lines(self) -> Sequence[str]:
        return ()


@dataclass(frozen=True)
class CheckReport(Result):
    """A list of checks; fails when any check failed."""

    subject: str = ""
    checks: tuple[Check, ...] = ()
    #: A failing check could not connect or authenticate (token service, WinRM, EWS): exit 3, as README says.
    unreachable: bool = field(default=False, kw_only=True, metadata={"json": False})

    @property
    def ok(self) -> bool:
        return all(c.status is not Status.FAILED for c in self.checks)

    @property
    def exit_code(self) -> ExitCode:
        if not self.ok and self.unreachable:
            return ExitCode.CONNECT
        return super().exit_code

    def tables(self) -> Sequence[Table]:
        # The texts are escaped: rich would take "pip install 'pypsrp[kerberos]'" for a style tag and drop it.
        table = Table(title=escape(self.subject) or None, show_header=True, header_style="bold")
        table.add_column("check")
        table.add_column("result")
        table.add_column("details", overflow="fold")
        styles = {Status.OK: "green", Status.WARNING: "yellow", Status.FAILED: "red"}
        for check in self.checks:
            detail = check.message if not check.remedy else f"{check.message}\n→ {check.remedy}"
            table.add_row(
                escape(check.name), f"[{styles[check.status]}]{check.status.value}[/]", escape(detail)
            )
        return [table]


class Output:
    """Where results, notes and errors go; `json_mode` turns stdout into one JSON document."""

    def __init__(
        self, json_mode: bool = False, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.json_mode = json_mode
        self._stdout = stdout
        self._stderr = stderr

    @property
    def stdout(self) -> TextIO:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    def _console(self, stream: TextIO) -> Console:
        return Console(file=stream, highlight=False, soft_wrap=False, width=None if stream.isatty() else 120)

    def emit(self, result: Result) -> None:
        """Print a result: one JSON document, or its lines and tables; its notes to stderr, after the result (on a
        terminal a "restart the service" note reads after the summary it is about)."""
        if self.json_mode:
            for note in result.notes:
                self.note(note)
            doc = to_jsonable(result)
            doc["ok"] = result.ok
            self.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            return
        for line in result.lines():
            self.stdout.write(line + "\n")  # plain lines are never re-wrapped (grep-able, copy-able)
        tables = result.tables()
        if tables:
            console = self._console(self.stdout)
            for table in tables:
                console.print(table)
        self.stdout.flush()
        for note in result.notes:
            self.note(note)

    def note(self, text: str) -> None:
        """A human message on stderr (never on stdout, so --json output stays one document)."""
        self.stderr.write(text.rstrip("\n") + "\n")

    def warn(self, text: str) -> None:
        self.note(f"Warning: {text}")

    def error(self, exc: RoomsopsError) -> None:
        # Through the masker: a secret pasted into the wrong option must not be echoed back.
        if self.json_mode:
            shown = {key: mask(value) if value else value for key, value in exc.as_dict().items()}
            # "ok" as in every other document: a monitor reads one key to know whether the command worked.
            document = {"error": shown, "ok": False}
            self.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        self.stderr.write(f"Error: {mask(exc.one_line())}\n")
