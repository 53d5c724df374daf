"""`roomsops lab serve`: the local emulated Exchange Online tenant (the only product import of the lab)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.results import Result

#: The import names of the packages only the lab needs (pyproject.toml's `lab` extra).
_LAB_EXTRA = frozenset({"psrpcore", "tomli_w"})


@click.group()
def lab() -> None:
    """A local emulated Exchange Online tenant for trying and testing roomsops."""


@lab.command("serve")
@click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the tenant's state, certificates, roomsops.toml and lab.json.",
)
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port on 127.0.0.1 (0: a free one).",
)
@click.option(
    "--latency-ms",
    default=0,
    show_default=True,
    type=click.IntRange(0, 60_000),
    help="Delay added to every request, to model a real tenant's round trips.",
)
@click.option(
    "--policy-delay",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds before a changed application access policy applies to EWS.",
)
@click.option(
    "--save-interval",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Write tenant.json at most once per this many seconds, and on exit (0: on every change). "
    "For big tenants, e.g. benchmarks with thousands of mailboxes.",
)
@click.option(
    "--room-answer-delay",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="Seconds before a room's booking attendant answers a meeting request, as in Exchange Online "
    "(0: at once, inside the request).",
)
@click.option("--tls-expired", is_flag=True, help="Serve an expired TLS certificate (for TLS tests).")
@click.option(
    "--force",
    is_flag=True,
    help="Replace a roomsops.toml in DIR that the lab did not write (a copy is kept as roomsops.toml.bak).",
)
@click.pass_context
def serve_cmd(
    ctx: click.Context,
    directory: Path,
    port: int,
    latency_ms: int,
    policy_delay: float,
    save_interval: float,
    room_answer_delay: float,
    tls_expired: bool,
    force: bool,
) -> int:
    """Serve the lab on 127.0.0.1 until SIGINT/SIGTERM; prints 'lab ready: DIR/roomsops.toml' (with --json one
    document, the one of 'lab env')."""
    if not math.isfinite(room_answer_delay):  # click's FloatRange lets NaN through
        raise InputError(
            f"--room-answer-delay {room_answer_delay} is not a number of seconds",
            "give seconds from 0 through 3600, e.g. --room-answer-delay 5",
        )
    try:
        from roomsops.lab.serve import ForeignSettingsFile, LabError, run
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in _LAB_EXTRA:
            raise
        raise InputError(
            f"the lab needs the package {missing}, which roomsops' 'lab' extra installs",
            "pip install 'roomsops[lab]' (in a source checkout: pip install -e '.[lab]')",
        ) from None

    _check_port(port)  # before anything is made in DIR
    existed, fresh = directory.exists(), _fresh_folder(directory)
    made = [p for p in (directory.absolute(), *directory.absolute().parents) if not p.exists()]
    try:
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)  # the umask may narrow it, never widen it
    except OSError as exc:  # a path under a file, a file in the way, no permission
        for folder in made[1:]:  # what mkdir made above DIR before it failed (deepest first)
            with contextlib.suppress(OSError):
                folder.rmdir()
        blocker = next((p for p in directory.absolute().parents if p.exists() and not p.is_dir()), None)
        raise InputError(
            f"the lab folder {directory} cannot be created: "
            + (f"{blocker} is a file, not a folder" if blocker is not None else (exc.strerror or str(exc))),
            "give --dir a folder that can be created (or an empty one), e.g. --dir ./lab",
            code="lab_not_started",
        ) from None
    resolved = directory.resolve()

    app = _app(ctx)

    def ready(line: str) -> None:
        _write_pid(resolved)  # before the first line: a script that reads it may run 'lab stop' at once
        if app is not None and app.json_mode:  # one document: nothing else goes to stdout, not even on exit
            app.emit(_environment_result(resolved))
            sys.stdout.flush()
            return
        click.echo(line)  # the first line, as scripts wait for it
        for env_line in environment(resolved):
            click.echo(env_line)

    try:
        return run(
            resolved,
            port=port,
            latency_ms=latency_ms,
            policy_delay=policy_delay,
            expired_tls=tls_expired,
            ready=ready,
            save_interval=save_interval,
            room_answer_delay=room_answer_delay,
            force=force,
        )
    except ForeignSettingsFile as exc:
        raise InputError(exc.message, exc.remedy) from None
    except LabError as exc:  # DIR held by another lab, the port taken: no "report it", nothing left behind
        if fresh:
            _empty(directory)
            if not existed:
                directory.rmdir()
        raise InputError(str(exc), _lab_remedy(str(exc), resolved), code="lab_not_started") from None
    finally:
        _remove_pid(resolved)


PID_FILE = "lab.pid"


def _write_pid(directory: Path) -> None:
    (directory / PID_FILE).write_text(f"{os.getpid()}\n", encoding="ascii")


def _remove_pid(directory: Path) -> None:
    """The pid file of this process only (another lab's start must not remove a running lab's)."""
    path = directory / PID_FILE
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text(encoding="ascii")) == os.getpid():
            path.unlink()


def _lab_info(directory: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((directory / "lab.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        raise InputError(
            f"no lab in {directory} (no readable lab.json)",
            f"start one with 'roomsops lab serve --dir {shlex.quote(str(directory))}'",
            code="no_lab",
        ) from None


def environment(directory: Path) -> list[str]:
    """What to export to use the lab, its domain and mailboxes; the WinRM password stays in lab.json (the line
    reads it from there, it is never printed)."""
    info = _lab_info(directory)
    lab_json = shlex.quote(str(directory / "lab.json"))
    mailboxes = info.get("mailboxes") or []
    people = [m["email"] for m in mailboxes if m.get("kind") != "room"]
    rooms = [m["email"] for m in mailboxes if m.get("kind") == "room"]
    read_password = "import json,sys; print(json.load(open(sys.argv[1]))['winrm']['password'])"
    return [
        f"# domain {info['tenant']['domain']}; mailboxes {', '.join(people)}; rooms {', '.join(rooms)}",
        f"export ROOMSOPS_SETTINGS={shlex.quote(str(info['files']['settings']))}",
        f'export ROOMSOPS_WINRM_PASSWORD="$(python3 -c "{read_password}" {lab_json})"',
        f"# again: roomsops lab env --dir {shlex.quote(str(directory))}; "
        f"stop: roomsops lab stop --dir {shlex.quote(str(directory))}",
    ]


@dataclass(frozen=True)
class LabEnvironment(Result):
    """`lab env`: the shell lines as text; with --json the same facts as a document (and the lines as `script`)."""

    dir: str
    domain: str
    mailboxes: tuple[str, ...]
    rooms: tuple[str, ...]
    settings: str  # what ROOMSOPS_SETTINGS is set to
    winrm_password_file: str  # lab.json, whose winrm.password ROOMSOPS_WINRM_PASSWORD takes (never printed)
    script: str  # the lines a POSIX shell evaluates (the text output)

    def lines(self) -> list[str]:
        return self.script.splitlines()


@lab.command("env")
@click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The lab's folder.",
)
@click.pass_context
def env_cmd(ctx: click.Context, directory: Path) -> int:
    """Print what to export to use a running lab (settings file, WinRM password variable), its domain and
    mailboxes."""
    folder = directory.resolve()
    result = _environment_result(folder)
    if not _locked(folder):  # lab.json stays after 'lab stop': nothing serves what it names
        raise InputError(
            f"the lab in {folder} is not running (it was stopped): its settings would reach nothing",
            f"start it again with 'roomsops lab serve --dir {shlex.quote(str(folder))}', then run 'roomsops lab env --dir {shlex.quote(str(folder))}'",
            code="no_lab",
        )
    app = _app(ctx)
    if app is None:  # the lab group alone (no roomsops main group): plain text
        click.echo(result.script)
        return 0
    return app.emit(result)


def _app(ctx: click.Context) -> Any:
    """The roomsops main group's AppContext (None when the lab group runs alone)."""
    from roomsops.cli.context import AppContext

    return ctx.find_object(AppContext)


def _environment_result(folder: Path) -> LabEnvironment:
    script = environment(folder)
    info = _lab_info(folder)
    mailboxes = info.get("mailboxes") or []
    return LabEnvironment(
        dir=str(folder),
        domain=str(info["tenant"]["domain"]),
        mailboxes=tuple(m["email"] for m in mailboxes if m.get("kind") != "room"),
        rooms=tuple(m["email"] for m in mailboxes if m.get("kind") == "room"),
        settings=str(info["files"]["settings"]),
        winrm_password_file=str(folder / "lab.json"),
        script="\n".join(script),
    )


@dataclass(frozen=True)
class LabStopped(Result):
    """`lab stop`: the folder whose lab was stopped and its process id."""

    dir: str
    pid: int

    def lines(self) -> list[str]:
        return [f"lab stopped: {self.dir}"]


@lab.command("stop")
@click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The lab's folder.",
)
@click.option(
    "--timeout", default=30.0, show_default=True, type=click.FloatRange(1, 600), help="Seconds to wait."
)
@click.pass_context
def stop_cmd(ctx: click.Context, directory: Path, timeout: float) -> int:
    """Stop the lab serving DIR (SIGTERM to its process, then wait until it is gone)."""
    import time

    folder = directory.resolve()
    try:
        pid = int((folder / PID_FILE).read_text(encoding="ascii"))
    except (OSError, ValueError):
        raise _no_running_lab(folder) from None
    if not _locked(folder):  # the lab holds .lab.lock while it runs: a pid file without it is stale
        (folder / PID_FILE).unlink(missing_ok=True)
        raise InputError(
            f"no lab is running in {folder} (a stale {PID_FILE} was removed)", None, code="no_lab"
        )
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _locked(folder):
        if time.monotonic() > deadline:
            raise OperationFailed(
                f"the lab (pid {pid}) did not stop within {timeout:g} s",
                f"wait and run 'roomsops lab stop --dir {shlex.quote(str(folder))}' again, or give a longer --timeout",
                code="lab_not_stopped",
            )
        time.sleep(0.1)
    result = LabStopped(dir=str(folder), pid=pid)
    app = _app(ctx)
    if app is None:
        click.echo(result.lines()[0])
        return 0
    return app.emit(result)


def _no_running_lab(folder: Path) -> InputError:
    """Why `lab stop` finds no lab.pid in `folder`, with the remedy that fits: only a lab that holds the folder's
    lock without a pid file (started before 'lab stop' existed) is stopped with Ctrl-C in its terminal."""
    if not folder.is_dir():
        return InputError(
            f"no running lab in {folder}: there is no such folder",
            "check --dir: it is the folder given to 'roomsops lab serve --dir'",
            code="no_lab",
        )
    if not (folder / "lab.json").is_file():
        return InputError(
            f"no running lab in {folder}: no lab was started there (no lab.json)",
            "check --dir: it is the folder given to 'roomsops lab serve --dir'",
            code="no_lab",
        )
    if _locked(folder):
        return InputError(
            f"the lab in {folder} runs without a {PID_FILE} (started before 'lab stop' existed)",
            "stop it with Ctrl-C in its terminal",
            code="no_lab",
        )
    return InputError(
        f"no running lab in {folder}: the lab there was stopped",
        f"start it again with 'roomsops lab serve --dir {shlex.quote(str(folder))}'",
        code="no_lab",
    )


def _locked(folder: Path) -> bool:
    """Whether a lab holds the folder's lock (POSIX flock; elsewhere: the pid file is trusted)."""
    try:
        import fcntl
    except ImportError:
        return (folder / PID_FILE).exists()
    try:
        fd = os.open(folder / ".lab.lock", os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _check_port(port: int) -> None:
    """A port in use is refused before the lab builds anything (exit 2)."""
    if port == 0:
        return
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise InputError(
                f"port {port} on 127.0.0.1 is already in use; nothing was created",
                "choose another --port, or --port 0 for a free one",
                code="lab_not_started",
            ) from None


def _fresh_folder(directory: Path) -> bool:
    """DIR does not exist or is empty: what a failed start made there is removed again."""
    try:
        return not directory.exists() or not any(directory.iterdir())
    except OSError:
        return False


def _empty(directory: Path) -> None:
    import shutil

    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _lab_remedy(message: str, directory: Path) -> str:
    if "another lab is running" in message:
        return (
            f"stop that lab first ('roomsops lab stop --dir {shlex.quote(str(directory))}', or Ctrl-C in its terminal), "
            "or give another --dir"
        )
    if "already in use" in message:
        return "choose another --port, or --port 0 for a free one"
    return "give another --dir, or move the folder's files away to start afresh"
