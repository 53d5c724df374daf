"""`roomsops lab serve`: the local emulated Exchange Online tenant (the only product import of the lab)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from roomsops.core.errors import InputError

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
def serve_cmd(
    directory: Path,
    port: int,
    latency_ms: int,
    policy_delay: float,
    save_interval: float,
    room_answer_delay: float,
    tls_expired: bool,
    force: bool,
) -> int:
    """Serve the lab on 127.0.0.1 until SIGINT/SIGTERM; prints 'lab ready: DIR/roomsops.toml'."""
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
    directory.mkdir(mode=0o755, parents=True, exist_ok=True)  # the umask may narrow it, never widen it
    try:
        return run(
            directory.resolve(),
            port=port,
            latency_ms=latency_ms,
            policy_delay=policy_delay,
            expired_tls=tls_expired,
            ready=lambda line: click.echo(line),
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
        raise InputError(str(exc), _lab_remedy(str(exc)), code="lab_not_started") from None


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


def _lab_remedy(message: str) -> str:
    if "another lab is running" in message:
        return "stop that lab first (Ctrl-C in its terminal, or SIGTERM its process), or give another --dir"
    if "already in use" in message:
        return "choose another --port, or --port 0 for a free one"
    return "give another --dir, or move the folder's files away to start afresh"
