"""The run lock: two `sync` runs on one database never overlap; the second names the holder. The same lock,
per tenant, keeps two tenant-changing `policy` commands from interleaving (`policy_lock`).

An OS file lock (released by the OS when the holder dies, even by SIGKILL) on a file beside an SQLite database,
which also records who holds it. A server database (PostgreSQL) holds its run lock itself
(`adapters/store/runlock.py`: a session advisory lock), so every spelling of its URL and every host meet one lock.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import socket
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from roomsops.adapters.appsettings.document import followed_link
from roomsops.adapters.store.runlock import (
    LOST,
    DatabaseLock,
    DatabaseLockHeld,
    database_lock,
    database_lock_holder,
    database_lock_holders,
)
from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.run_id import run_id
from roomsops.core.settings import DATA_DIR_VARIABLE, Settings


class LockHeld(OperationFailed):
    code = "sync_locked"


#: Where a run lock is: a file (SQLite, the policy lock) or the server database itself.
LockTarget = Path | DatabaseLock


def _try_lock(stream: IO[str]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import msvcrt

        try:
            msvcrt.locking(stream.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class LockKind:
    """What a lock guards, for its messages: the sync's (per database) or the policy commands' (per tenant)."""

    name: str = "sync"
    busy: str = "another sync is running on this database"
    code: str = "sync_locked"
    after: str = ""  # said after the holder


POLICY = LockKind(
    "policy",
    "another policy command (restrict, remove or migrate) is changing this tenant",
    "policy_locked",
    "; nothing was changed",
)


def policy_lock_path(data_folder: Path, organization: str) -> Path:
    """The policy lock of a tenant (`exo.organization`; one lock for every unnamed one), in the data folder:
    shared by every settings file and database that change that tenant from this machine."""
    digest = hashlib.sha256(organization.strip().casefold().encode()).hexdigest()[:16]
    return data_folder / f"roomsops-policy-{digest}.lock"


@contextmanager
def policy_lock(data_folder: Path, organization: str) -> Iterator[None]:
    """Hold a tenant's policy lock: a second tenant-changing `policy` command exits 1 (like a second `sync`)
    before it reads the tenant, so none acts on a read another is changing (two `--exact` runs could each
    remove what the other keeps, leaving the group empty under RestrictAccess). A data folder that cannot be made
    (a file where a folder is wanted) is a configuration error: exit 2 naming the file in the way."""
    path = policy_lock_path(data_folder, organization)
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise InputError(
            f"the policy lock file {path} cannot be made in the data folder {data_folder}: {blocker} is a file, "
            "not a folder; nothing was changed",
            f"set ${DATA_DIR_VARIABLE} to a folder (or move {blocker}), then run the command again",
            code="path_under_a_file",
        )
    with run_lock(path, POLICY):
        yield


#: The end of the remedy for a lock file whose folder cannot be made, when the lock is in the data folder.
DATA_FOLDER_ELSEWHERE = f"set ${DATA_DIR_VARIABLE} to one"


def database_lock_elsewhere(settings: Settings) -> str:
    """The end of that remedy for a lock beside the SQLite database (the sync's, the service's): the setting that
    places it is rooms.database; $ROOMSOPS_DATA_DIR moves it only when that path is relative (a data path)."""
    from roomsops.adapters.store.db import parse_url

    path = parse_url(settings.rooms.database).database or ""
    if path and not Path(path).expanduser().is_absolute():
        return f"set ${DATA_DIR_VARIABLE} to one (rooms.database, {path}, is in it) or rooms.database to a file in one"
    return "set rooms.database to a file in one"


#: Sync workers (`sync --worker`, issue 27.2): they hold a server database's run lock shared (any number of them
#: at once); a plain `sync` (exclusive) is refused while they run, and they while it runs.
WORKER = LockKind("worker", "a plain 'roomsops sync' is running on this database")


def worker_name_lock_path(summary: Path) -> Path:
    """The lock a named sync worker holds for its run: beside its summary file (not a summary: `.lock`)."""
    return summary.with_name(f"{summary.name}.lock")


@contextmanager
def worker_name_lock(summary: Path, name: str) -> Iterator[None]:
    """Hold the name of a sync worker (`sync --worker --name NAME`) for its run: a file lock beside its summary
    file, released by the OS however the worker ends. A second worker of that name whose summary would be the same
    file is refused (exit 2, before it writes anything): the two would overwrite each other's summary, and `sync
    status` would judge whichever wrote last."""
    kind = LockKind(
        "worker name",
        f"a sync worker named {name!r} is running already",
        "worker_name_taken",
        f"; two workers of one name overwrite each other's summary ({summary}); nothing was changed",
    )
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(run_lock(worker_name_lock_path(summary), kind))
        except LockHeld as exc:
            raise InputError(
                exc.message,
                f"give each worker its own --name (one per worker on a host, e.g. --name {name}-2), or leave "
                "--name out",
                code="worker_name_taken",
            ) from None
        yield


@contextmanager
def run_lock(
    path: LockTarget, kind: LockKind = LockKind(), elsewhere: str = DATA_FOLDER_ELSEWHERE, named: bool = False
) -> Iterator[Callable[[], bool]]:
    """Hold the sync lock at `path` for the block (a `DatabaseLock`: in the server database). A command refused
    inside it (exit 2, InputError) leaves no lock file it made, nor the folders made for it (issue 21.9: nothing created when a command is refused).
    A symbolic link stays a link (README: rooms.db's files may be links): the lock is its target, made there if
    missing; a link that cannot be reached (a loop, into a folder that is gone) is exit 2 naming it. `elsewhere`
    ends that remedy: the setting that puts the lock into another folder (`database_lock_elsewhere`). The block
    gets `held()`: whether the lock is still held (a server database's lock goes with its connection; a file
    lock is held while the process runs). `named`: a one-shot command whose store is opened inside the lock names
    its server database sessions for the next holder (`adapters/store/runlock.py`, review27s)."""
    if isinstance(path, DatabaseLock):
        with _held_in(path, kind, shared=kind is WORKER, named=named) as held:
            yield held
        return
    target = followed_link(path, create_target=True)  # the file the lock is taken on (`path` unless a link)
    made = [p for p in (path.parent, *path.parent.parents) if not p.exists()]  # deepest first
    created = not target.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a dangling link on the way (a share not mounted), no permission
        _remove_made(made)
        raise _no_folder(path, kind, exc, elsewhere) from None
    try:
        with _held(path, kind):
            try:
                yield _always
            except InputError:
                if created:
                    with suppress(OSError):
                        target.unlink()  # still held: nobody took the lock on this file meanwhile
                raise
    except InputError:
        _remove_made(made)
        raise


def _always() -> bool:
    return True


def _remove_made(made: list[Path]) -> None:
    for folder in made:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            break


def _no_folder(path: Path, kind: LockKind, exc: OSError, elsewhere: str) -> InputError:
    """The folder of a lock file cannot be made: exit 2 naming a symbolic link to a folder that is gone (never
    made where it points: nobody would look there) or a loop of links, else what the OS said."""
    dangling = next(
        (p for p in (path.parent, *path.parent.parents) if p.is_symlink() and not p.exists()), None
    )
    if dangling is not None and _is_loop(dangling):
        return InputError(
            f"the {kind.name} lock file {path} cannot be made: {dangling} is a symbolic link to "
            f"{os.readlink(dangling)}, which leads back to itself (a loop of links); nothing was changed",
            f"point {dangling} at a folder that exists (or replace it with a folder), or {elsewhere}",
            code="unreachable_link",
        )
    if dangling is not None:
        return InputError(
            f"the {kind.name} lock file {path} cannot be made: {dangling} is a symbolic link to "
            f"{os.readlink(dangling)}, which does not exist; nothing was changed",
            f"create the folder it points at (or make the share it was on available again), point {dangling} at a "
            f"folder that exists, or {elsewhere}",
            code="unreachable_link",
        )
    return InputError(
        f"the folder of the {kind.name} lock file {path} cannot be made ({exc.strerror or exc}); nothing was changed",
        f"make {path.parent} a folder roomsops may write, or {elsewhere}",
        code="lock_folder",
    )


def _is_loop(link: Path) -> bool:
    """Does following `link` come back to a link already followed (ELOOP; RuntimeError before Python 3.13)?"""
    try:
        link.resolve(strict=True)
    except RuntimeError:
        return True
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _refusal(holder: dict[str, object], kind: LockKind) -> LockHeld:
    who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('since', '?')}"
    return LockHeld(
        f"{kind.busy} ({who}){kind.after}",
        "wait for it to finish; the lock is released when that process ends",
        code=kind.code,
    )


@contextmanager
def _held_in(
    lock: DatabaseLock, kind: LockKind, shared: bool = False, named: bool = False
) -> Iterator[Callable[[], bool]]:
    try:
        with database_lock(lock, kind.name, shared=shared, named=named) as held:
            yield held
    except DatabaseLockHeld as exc:
        if exc.kind == LOST:
            who = f"pid {exc.holder.get('pid', '?')} on {exc.holder.get('host', '?')}"
            raise LockHeld(
                f"a sync that lost its run lock is still working on this database ({who}): the lock's database "
                "connection ended (an idle timeout, a dropped connection, pg_terminate_backend) while it ran; "
                "nothing was changed",
                "wait for it to end (it sends no further write to Exchange and exits 1), then run again",
                code=kind.code,
            ) from None
        if exc.kind == WORKER.name and not shared:
            who = f"pid {exc.holder.get('pid', '?')} on {exc.holder.get('host', '?')}"
            raise LockHeld(
                f"sync workers ('roomsops sync --worker') are running on this database (one is {who}); this "
                "command takes the sync's run lock and does not run beside them; nothing was changed",
                "let the workers finish, or stop every worker first (their leases then expire after "
                "sync.worker_lease seconds), then run it again",
                code=kind.code,
            ) from None
        raise _refusal(exc.holder, kind) from None


def _not_a_file(path: Path, kind: LockKind) -> InputError:
    return InputError(
        f"the {kind.name} lock file {path} is not a regular file (a folder, named pipe or device); nothing was changed",
        f"remove {path}: roomsops creates it afresh",
        code="not_a_regular_file",
    )


def _open_lock(path: Path, kind: LockKind) -> IO[str]:
    """The lock file opened for update (created when missing); anything but a regular file is exit 2. Opened
    O_NONBLOCK and checked before it is used: a named pipe would block the run, or fail on the first seek."""
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError:
        if path.is_dir():  # IsADirectoryError; PermissionError on Windows
            raise _not_a_file(path, kind) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _not_a_file(path, kind)
    return os.fdopen(fd, "a+", encoding="utf-8")


@contextmanager
def _held(path: Path, kind: LockKind) -> Iterator[None]:
    with _open_lock(path, kind) as stream:
        if not _try_lock(stream):
            stream.seek(0)
            try:
                holder = json.loads(stream.read() or "{}")
            except ValueError:
                holder = {}
            raise _refusal(holder if isinstance(holder, dict) else {}, kind)
        stream.seek(0)
        stream.truncate()
        stream.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                    "run": run_id(),
                }
            )
        )
        stream.flush()
        yield


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # POSIX only: signal 0 checks the process exists, sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    except OSError:
        return False
    return True


def lock_holders(path: LockTarget) -> list[dict[str, object]]:
    """Everyone holding the run lock now: on a server database every session (sync workers hold it shared), else
    the one holder or none (`lock_holder`)."""
    if isinstance(path, DatabaseLock):
        return database_lock_holders(path)
    held = lock_holder(path)
    return [] if held is None else [held]


def lock_holder(path: LockTarget) -> dict[str, object] | None:
    """Who holds the run lock now (`pid`, `host`, `since`), or None when no sync holds it: for `sync status`,
    without taking the lock where it can be avoided. On this host (POSIX) a recorded holder whose process is gone
    holds nothing; otherwise the lock is probed with a non-blocking attempt released at once (it fails while
    a run holds the lock, so it only ever succeeds when no run is under way). Anything but a regular file there
    holds nothing (a run refuses it) and is never opened: a named pipe would block. A server database is asked
    who holds its lock (`pg_locks`)."""
    if isinstance(path, DatabaseLock):
        return database_lock_holder(path)
    try:
        if not path.is_file():
            return None
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError:
        return None
    try:
        holder = json.loads(text or "{}")
    except ValueError:
        holder = {}
    if not isinstance(holder, dict):
        holder = {}
    pid = holder.get("pid")
    if sys.platform != "win32" and isinstance(pid, int) and holder.get("host") == socket.gethostname():
        if not _alive(pid):
            return None
    with open(path, "a+", encoding="utf-8") as stream:
        if _try_lock(stream):
            return None  # nobody held it (closing the file releases the probe's lock)
    return holder
