"""`--print-script`: a runbook printed (or saved with --output) instead of connecting anywhere.

With `--json` the runbook is wrapped in one document, `{"script", "output", "ok"}`, as every other `--json`
output is one document (issue 21.8); without it the script itself is stdout, ready to redirect to a .ps1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from roomsops.cli.context import AppContext
from roomsops.core.errors import InputError
from roomsops.core.results import Result


@dataclass(frozen=True)
class Runbook(Result):
    """A runbook as a `--json` document: the script, and the file it was saved to (None: not saved)."""

    script: str
    output: str | None = None

    def lines(self) -> list[str]:
        return [self.script]


def print_runbook(app: AppContext, text: str, output: Path | None = None) -> int:
    """The runbook on stdout (pure ASCII: any Windows PowerShell reads it alike), or saved with a BOM; with
    --json, one document holding it."""
    if output is not None:
        from roomsops.core.templates import write_runbook

        try:
            write_runbook(output, text)
        except OSError as exc:
            raise InputError(
                f"cannot write the runbook to {output}: {exc.strerror}", "choose a writable file for --output"
            ) from None
        app.out.note(f"runbook saved to {output} (UTF-8 with a byte-order mark, for Windows PowerShell 5.1)")
    if app.json_mode:
        return app.emit(Runbook(script=text, output=str(output) if output is not None else None))
    if output is None:
        click.echo(text, nl=False)
    return 0
