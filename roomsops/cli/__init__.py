"""The `roomsops` command line: global options, error rendering, exit codes.

Click stays here: each command parses options, calls one core function and hands the
result to the one renderer. Core modules never import click.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from roomsops import __version__
from roomsops.cli.context import AppContext
from roomsops.cli.options import SettingValue
from roomsops.core.errors import ExitCode, InputError, RoomsopsError, Terminated
from roomsops.core.logs import forget_secrets, mask
from roomsops.core.results import Output, Result
from roomsops.core.settings import not_utf8

#: Ctrl-C: 128 + SIGINT, and SIGTERM: 128 + 15, as a shell reports them (README's exit-code table).
INTERRUPTED = 130
TERMINATED = 143
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class RoomsopsGroup(click.Group):
    """Runs commands with roomsops' error handling: one line (or JSON), the right exit code."""

    json_output = False

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        json_mode = "--json" in argv[: _first_command_index(argv)]
        self.json_output = json_mode  # for the eager --version, which runs before --json is parsed
        debug = "--debug" in argv[: _first_command_index(argv)]
        out = Output(json_mode=json_mode)
        forget_secrets()  # this run masks what it registers, not what an earlier run in the process did
        undecodable = next((a for a in argv if not_utf8(a)), None)
        if (
            undecodable is not None
        ):  # before anything runs: it would reach Exchange mid-change and break there
            out.error(
                InputError(
                    f"the argument {undecodable!r} is not UTF-8 text",
                    "give it as UTF-8 (check the encoding of the script or terminal); nothing was changed",
                    code="usage",
                )
            )
            sys.exit(ExitCode.BAD_INPUT)
        try:
            rv = super().main(
                args=argv,
                prog_name=prog_name or "roomsops",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt) as exc:
            # click turns Ctrl-C (and SIGTERM's Terminated, a KeyboardInterrupt) into Abort; what was open has been
            # closed on the way out.
            terminated = any(isinstance(e, Terminated) for e in (exc, exc.__cause__, exc.__context__))
            out.error(
                InputError(
                    "terminated (SIGTERM)" if terminated else "interrupted (Ctrl-C)",
                    "nothing more was done after it and what was open was closed; run the same command again "
                    "to finish (a command that changes the tenant has listed what it had done)",
                    code="interrupted",
                )
            )
            sys.exit(TERMINATED if terminated else INTERRUPTED)
        except click.UsageError as exc:
            usage = InputError(exc.format_message(), _usage_remedy(exc, self, argv), code="usage")
            out.error(usage)
            sys.exit(ExitCode.BAD_INPUT)
        except click.ClickException as exc:
            out.error(InputError(exc.format_message(), code="usage"))
            sys.exit(ExitCode.BAD_INPUT)
        except RoomsopsError as exc:
            if debug:
                sys.stderr.write(mask(traceback.format_exc()))
            out.error(exc)
            sys.exit(exc.exit_code)
        except Exception as exc:  # an unexpected failure still gets one line and exit 1
            if debug:
                sys.stderr.write(mask(traceback.format_exc()))
            message = mask(f"unexpected {type(exc).__name__}: {exc}")
            out.error(
                RoomsopsError(
                    message, "run again with --debug for the traceback, and report it", code="internal"
                )
            )
            sys.exit(ExitCode.FAILED)
        if isinstance(rv, int):
            sys.exit(rv)
        sys.exit(0)


def _first_command_index(argv: list[str]) -> int:
    """Where the subcommand starts (global options come before it)."""
    takes_value = {"--settings", "--app-settings", "--log-format"}
    i = 0
    while i < len(argv):
        if argv[i] in takes_value:
            i += 2
            continue
        if not argv[i].startswith("-"):
            return i
        i += 1
    return len(argv)


def _usage_remedy(exc: click.UsageError, root: click.Group, argv: list[str]) -> str:
    ctx = exc.ctx
    if ctx is not None:
        return f"see '{ctx.command_path} --help'"
    # click's parser raises some errors (an option without its value) with no context: the command is the
    # longest run of command names on the line, whose help lists the option.
    path = ["roomsops"]
    command: click.Command = root
    for word in argv[_first_command_index(argv) :]:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
        path.append(word)
    return f"see '{' '.join(path)} --help'"


@click.group("roomsops", cls=RoomsopsGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--settings",
    "settings_file",
    metavar="FILE",
    help="roomsops.toml to read (default: $ROOMSOPS_SETTINGS, else ./roomsops.toml).",
)
@click.option(
    "--app-settings",
    "app_settings",
    metavar="FILE",
    help="RoomsAppSettings.config (default: $ROOMSOPS_APP_SETTINGS, else rooms.app_settings).",
)
@click.option("--json", "json_mode", is_flag=True, help="Print one JSON document on stdout.")
@click.option("-v", "--verbose", count=True, help="Log progress to stderr (-vv: debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option(
    "--log-format",
    type=SettingValue("log.format"),
    metavar="text|json",
    help="The log file's lines: text, or one JSON object per line for log shippers (default: log.format).",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress lines or bar on stderr (results and errors still print)."
)
@click.option(
    "--version",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, _param, value: _print_version(ctx, value),
    help="Show the version and exit.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    settings_file: str | None,
    app_settings: str | None,
    json_mode: bool,
    verbose: int,
    debug: bool,
    log_format: str | None,
    quiet: bool,
) -> None:
    """Operations toolkit for ROOMS' Exchange Online calendar sync.

    Exit codes: 0 ok, 1 something failed or did not match, 2 bad input (nothing changed),
    3 could not connect or authenticate, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    """
    ctx.obj = AppContext(
        settings_file=settings_file,
        app_settings=app_settings,
        json_mode=json_mode,
        verbose=verbose,
        debug=debug,
        log_format=log_format,
        quiet=quiet,
    )
    ctx.call_on_close(ctx.obj.close)


@dataclass(frozen=True)
class VersionResult(Result):
    version: str

    def lines(self) -> list[str]:
        return [f"roomsops, version {self.version}"]


def _print_version(ctx: click.Context, value: bool) -> None:
    """`--version`, as text or (with the global --json, before or after it) `{"version": str, "ok": true}`."""
    if not value or ctx.resilient_parsing:
        return
    Output(json_mode=isinstance(ctx.command, RoomsopsGroup) and ctx.command.json_output).emit(
        VersionResult(version=__version__)
    )
    ctx.exit()


def _register() -> None:
    from roomsops.cli import auth, bookings, config, db, doctor, ews, lab, persons, policy, rooms, serve, sync

    for group in (
        config.config,
        auth.auth,
        policy.policy,
        persons.persons,
        rooms.rooms,
        bookings.bookings,
        sync.sync,
        serve.serve,
        db.db,
        ews.ews,
        doctor.doctor,
        lab.lab,
    ):
        cli.add_command(group)
    from roomsops.cli.examples import add_examples

    add_examples(cli)


_register()


def main() -> None:
    cli.main()


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
