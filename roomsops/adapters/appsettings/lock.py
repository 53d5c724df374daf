"""The edit lock of RoomsAppSettings.config: two roomsops commands never edit it at the same time.

Without it, two `config set` runs each read the file, change their key and write it back, and the second
write loses the first one's key. An OS file lock (released by the OS when the holder dies) on a sidecar
file beside the real file (a symlink's target). The holder removes that file before it lets go; a waiter
that then gets the lock checks that the name still leads to the file it locked, else it starts over, so
no two commands ever hold the lock at once and no lock file is left behind. The lock is advisory: ROOMS
and text editors do not take it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.secure_files import private_opener

#: How long a command waits for another one to finish its edit (they take milliseconds).
WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.05


class EditLocked(OperationFailed):
    code = "app_settings_locked"


def lock_path(path: Path) -> Path:
    """The sidecar lock file of `path`: beside the file a symlink points at, so every link shares it."""
    try:
        real = path.resolve() if path.is_symlink() else path
    except (OSError, RuntimeError) as exc:  # a loop of links (RuntimeError before Python 3.13)
        raise InputError(
            f"{path} is a symbolic link to a file that cannot be reached ({exc})",
            "point the link at ROOMS' RoomsAppSettings.config, or pass the real file with --app-settings",
        ) from None
    return real.with_name(real.name + ".lock")


@contextmanager
def edit_lock(path: Path, wait_seconds: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the edit lock of `path` for the block: read, change and write inside it."""
    sidecar = lock_path(path)
    deadline = time.monotonic() + wait_seconds
    while True:
        stream = _open_sidecar(sidecar)
        try:
            while not _try_lock(stream):
                if time.monotonic() >= deadline:
                    raise EditLocked(
                        f"{path} is being edited by another roomsops command (lock {sidecar} held for "
                        f"more than {wait_seconds:g} s)",
                        "wait for that command to finish, then run this one again",
                    )
                time.sleep(_POLL_SECONDS)
        except BaseException:
            stream.close()
            raise
        if _still_named(stream, sidecar):
            break
        # The holder removed the file we waited on (see below): lock the file now under that name.
        _unlock(stream)
        stream.close()
    try:
        yield
    finally:
        # Removed while still locked, so a waiter that wakes up on it sees it is gone and retries.
        # On Windows a waiter's open handle makes the removal fail; the empty file then stays.
        with contextlib.suppress(OSError):
            sidecar.unlink()
        _unlock(stream)
        stream.close()


def _open_sidecar(sidecar: Path) -> IO[bytes]:
    try:
        stream = open(sidecar, "ab", opener=_lock_opener)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(
                f"the lock file {sidecar} is a symbolic link (roomsops never makes one)",
                f"remove {sidecar}, and find out who put it there",
            ) from None
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads
            raise _not_regular(sidecar) from None
        raise InputError(
            f"cannot create the lock file {sidecar}: {exc.strerror}",
            f"run roomsops as a user who may write {sidecar.parent} (on Windows: from an elevated prompt)",
        ) from None
    if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
        stream.close()
        raise _not_regular(sidecar)
    return stream


def _not_regular(sidecar: Path) -> InputError:
    return InputError(
        f"the lock file {sidecar} is not a regular file", f"remove {sidecar}: roomsops creates it afresh"
    )


def _lock_opener(path: str | os.PathLike[str], flags: int) -> int:
    # The lock file is roomsops' own and never a link: a link planted there by whoever may write the folder
    # must not make this command create or open a file elsewhere (O_NOFOLLOW), nor a FIFO block it (O_NONBLOCK).
    return private_opener(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))


def _still_named(stream: IO[bytes], sidecar: Path) -> bool:
    try:
        named = os.stat(sidecar)
    except OSError:
        return False
    held = os.fstat(stream.fileno())
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _try_lock(stream: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import msvcrt

        stream.seek(0)
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


def _unlock(stream: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import msvcrt

        stream.seek(0)
        msvcrt.locking(stream.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(stream.fileno(), fcntl.LOCK_UN)
