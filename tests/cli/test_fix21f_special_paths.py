"""fix21f: paths that are no regular file where roomsops opens one (review21e): the certificate file that `config
check` and `doctor` read, and the sync lock beside the database. A named pipe must never be opened (it blocks
until someone writes it); a folder or pipe is bad configuration: exit 2, one line with the remedy."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_doctor_refuses_a_certificate_file_that_is_no_regular_file(
    app_settings: Path, tmp_path: Path, kind: str
) -> None:
    """`doctor` runs config check first: with auth.certificate_file a named pipe it hung (read_bytes() blocks);
    now exit 2 naming the key, before anything connects. A folder: exit 2 the same way."""
    special = tmp_path / "rooms.pem"
    if kind == "fifo":
        os.mkfifo(special)
    else:
        special.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")},
        "ROOMSOPS_DATA_DIR": str(tmp_path),
        "ROOMSOPS_APP_SETTINGS": str(app_settings),
        "ROOMSOPS_AUTH_CERTIFICATE_FILE": str(special),
    }
    before = sorted(p.name for p in tmp_path.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "roomsops", "doctor"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,  # a second or two; a hang fails the test instead of blocking the suite
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("Error: auth.certificate_file = ") and done.stderr.count("\n") == 1
    assert "set auth.certificate_file in $ROOMSOPS_AUTH_CERTIFICATE_FILE to a" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing made (no database, no log)


def _special(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_sync_lock_that_is_no_regular_file_is_exit_2_with_the_remedy(
    invoke: Invoke, app_settings: Path, tmp_path: Path, kind: str
) -> None:
    """A named pipe where rooms.db.sync.lock goes gave "unexpected UnsupportedOperation ... report it" (exit 1), a
    folder "unexpected IsADirectoryError"; now one line naming the lock file and the remedy, exit 2, nothing
    made (no database)."""
    assert (
        invoke(
            "--app-settings", str(app_settings), "persons", "add", "diego@contoso.com", "--sync-mode", "None"
        ).code
        == 0
    )  # a database (a person roomsops does not sync: no connection)
    lock = tmp_path / "rooms.db.sync.lock"
    _special(lock, kind)
    before = sorted(p.name for p in tmp_path.iterdir())
    run = invoke("--app-settings", str(app_settings), "sync")
    assert run.code == 2, (run.code, run.err)
    assert one_line_error(run) == (
        f"Error: the sync lock file {lock} is not a regular file (a folder, named pipe or device); nothing was "
        f"changed — remove {lock}: roomsops creates it afresh"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_sync_status_does_not_open_a_lock_that_is_a_named_pipe(invoke: Invoke, tmp_path: Path) -> None:
    """`sync status` asks the lock who holds it when the summary says a run is under way: it opened the lock
    for reading, which blocks for ever on a named pipe. Now a lock that is no regular file holds nothing: the run
    is reported as interrupted, exit 1."""
    os.mkfifo(tmp_path / "rooms.db.sync.lock")
    (tmp_path / "roomsops-last-sync.json").write_text(
        json.dumps(
            {
                "started": "2026-01-01T08:00:00+00:00", "finished": None, "dry_run": False, "persons": [],
                "mailboxes": [], "ok": False, "running": True, "pid": os.getpid(), "host": socket.gethostname(),
                "error": {"code": "interrupted", "message": "the run did not finish", "remedy": None}, "totals": {},
            }
        ),
        encoding="utf-8",
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "roomsops", "--json", "sync", "status"],
        env={k: v for k, v in os.environ.items()},  # the test's ROOMSOPS_DATA_DIR (the autouse fixture)
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,  # a second or two; a hang fails the test instead of blocking the suite
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "interrupted" in done.stdout, done.stdout
