"""Review of issue 17: the lab's folder and lock against other local users, and its admin API from a browser.

Before the fixes: under umask 000 the lab made DIR, DIR/pki and DIR/apps writable by everyone (anyone could
swap roomsops.toml or ca.pem and have the next roomsops command send its token elsewhere); DIR/.lab.lock was
created 0644 (0666 under umask 000), so any local user could flock it and keep the lab from starting, and it
was opened with "wb" through whatever link stood there, emptying the file the link named; a second
`lab serve` on a busy DIR said "unexpected LabError … report it", exit 1.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from roomsops.lab import Lab
from tests.conftest import Invoke, one_line_error

from .conftest import LabHelper

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes, umask and symlinks"),
]


@pytest.fixture
def umask_000() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_under_umask_000_no_lab_folder_or_lock_is_writable_by_others(tmp_path: Path, umask_000: None) -> None:
    directory = tmp_path / "lab"
    with Lab(directory) as lab:
        for folder in (lab.dir, lab.dir / "pki", lab.dir / "apps"):
            assert _mode(folder) & 0o022 == 0, folder
        assert _mode(lab.dir / ".lab.lock") == 0o600
        for name in ("lab.json", "tenant.json", "RoomsAppSettings.config", "pki/ca.key", "apps/rooms.pfx"):
            assert _mode(lab.dir / name) == 0o600, name


def test_a_link_planted_as_the_lab_lock_is_neither_followed_nor_emptied(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    directory = tmp_path / "lab"
    directory.mkdir()
    (directory / ".lab.lock").symlink_to(victim)
    lab = Lab(directory)
    with pytest.raises(Exception, match=r"\.lab\.lock"):
        lab.start()
    lab.stop()
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_a_second_lab_on_a_busy_folder_is_one_line_exit_2(tmp_path: Path, invoke: Invoke) -> None:
    with Lab(tmp_path / "lab") as lab:
        run = invoke("lab", "serve", "--dir", str(lab.dir))
        assert run.code == 2
        assert one_line_error(run) == (
            f"Error: another lab is running on {lab.dir} — stop that lab first ('roomsops lab stop --dir {lab.dir}', "
            "or Ctrl-C in its terminal), or give another --dir"
        )  # issue 21.7: with its remedy


def test_a_cross_site_form_post_or_a_token_in_the_url_changes_nothing(fresh_lab: LabHelper) -> None:
    """What a page on another origin can send without a preflight: a form POST, no custom header. The token
    in the query string (where logs and browser history keep it) is not accepted either."""
    token = fresh_lab.lab.admin_token
    fresh_lab.admin("POST", "mailboxes", {"email": "kept@contoso.com"})
    for url, headers in (
        (f"{fresh_lab.base_url}/lab/reset", {"Content-Type": "application/x-www-form-urlencoded"}),
        (f"{fresh_lab.base_url}/lab/reset?token={token}", {}),
        (f"{fresh_lab.base_url}/lab/reset?access_token={token}", {"Origin": "https://evil.example"}),
    ):
        response = fresh_lab.session.post(url, data="x=1", headers=headers, timeout=10)
        assert response.status_code == 401
        assert "Access-Control-Allow-Origin" not in response.headers
    assert "kept@contoso.com" in fresh_lab.admin("GET", "mailboxes").text  # no reset happened
