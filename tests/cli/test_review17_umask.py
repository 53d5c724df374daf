"""Review of issue 17: commands run under umask 000 leave nothing that others may read or write.

Held before the review: the log, the audit log, the database, its id file, the .bak and the lock are 0600.
Found: the folder roomsops creates for the log and the audit log was 0777, so any local user could put a
link where audit.jsonl goes and have roomsops (often root or an administrator) append to the file it named.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and umask")


@pytest.fixture
def umask_000() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_under_umask_000_files_are_owner_only_and_folders_not_writable_by_others(
    invoke: Invoke,
    app_settings: Path,
    tmp_path: Path,
    settings_file: Callable[[str], Path],
    umask_000: None,
) -> None:
    logs = tmp_path / "var" / "logs"
    settings = settings_file(
        f'[log]\nfile = "{logs}/roomsops.log"\naudit = "{logs}/audit.jsonl"\n'
        f'[rooms]\ndatabase = "sqlite:///{tmp_path / "rooms.db"}"\n'
    )
    app_settings.chmod(0o600)
    base = ("--settings", str(settings), "--app-settings", str(app_settings))
    assert invoke(*base, "config", "set", "K", "v", "--force").code == 0
    assert (
        invoke(*base, "rooms", "add", "room-zurich@contoso.com", "--name", "Zürich", "--no-check").code == 0
    )
    assert _mode(logs) & 0o022 == 0
    for path in (
        logs / "roomsops.log",
        logs / "audit.jsonl",
        app_settings,
        app_settings.with_name(app_settings.name + ".bak"),
        tmp_path / "rooms.db",
        tmp_path / "rooms.db.installation-id",
    ):
        assert _mode(path) == 0o600, path
