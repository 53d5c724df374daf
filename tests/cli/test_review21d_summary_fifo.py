"""review21d: fix21cb's "previous" (review21c finding 11) makes every run *read* the summary file before it
writes its under-way document (`services/sync/run.py: _previous_run`). A summary file that is a named pipe (a FIFO
a monitor or log shipper reads, or one left where the file should be) blocks that read for ever: the sync hangs
while it holds the sync lock, so every later scheduled run is refused as "another sync is running". Before the
change the under-way document simply replaced it. The database and its id files refuse a FIFO ("a FIFO would block
for ever": adapters/store/db.py); sync.summary_file is checked only for a folder or a path under a file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_a_summary_file_that_is_a_named_pipe_does_not_hang_the_sync(
    app_settings: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "roomsops-last-sync.json"
    os.mkfifo(fifo)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")},
        "ROOMSOPS_DATA_DIR": str(tmp_path),
        "ROOMSOPS_APP_SETTINGS": str(app_settings),
        "ROOMSOPS_SYNC_SUMMARY_FILE": str(fifo),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "roomsops", "sync"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,  # the run does no network work (no person): it takes about a second when it does not hang
        )
    except subprocess.TimeoutExpired:
        pytest.fail("roomsops sync hung reading the named pipe sync.summary_file (holding the sync lock)")
    assert done.returncode == 2 and "sync.summary_file" in done.stderr, (done.returncode, done.stderr)


def test_sync_status_of_a_named_pipe_summary_does_not_hang_the_monitor(tmp_path: Path) -> None:
    """The same file read by `sync status`, the check a monitor runs (README: "the check a monitor or scheduler
    runs"): it blocks for ever, so the monitor's check never returns instead of exit 1 or 2 naming the file."""
    fifo = tmp_path / "roomsops-last-sync.json"
    os.mkfifo(fifo)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")},
        "ROOMSOPS_DATA_DIR": str(tmp_path),
        "ROOMSOPS_SYNC_SUMMARY_FILE": str(fifo),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "roomsops", "sync", "status"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("roomsops sync status hung reading the named pipe sync.summary_file")
    assert done.returncode in (1, 2) and "roomsops-last-sync.json" in done.stdout + done.stderr, done
