"""fix21f: paths that are no regular file where roomsops opens one (review21e): the certificate file that `config
check` and `doctor` read, and the sync lock beside the database. A named pipe must never be opened (it blocks
until someone writes it); a folder or pipe is bad configuration: exit 2, one line with the remedy."""

from __future__ import annotations

import os
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
