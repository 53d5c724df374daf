"""Issue 17: RoomsAppSettings.config against hostile files (D10), parallel edits and symlinks (D8), and
access rules kept across the rewrite (D6, POSIX part; the Windows DACL copy is untested in CI)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from roomsops.adapters.appsettings import document
from roomsops.adapters.appsettings.document import MAX_FILE_BYTES, AppSettingsDoc, read_document, write_atomic
from roomsops.adapters.appsettings.lock import EditLocked, edit_lock, lock_path
from roomsops.core.errors import InputError
from tests.conftest import SAMPLE, Invoke

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and symlinks")

# An entity that expands to markup: expat builds elements from it, which the byte-offset scanner never saw.
ENTITY_TO_MARKUP = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<!DOCTYPE RoomsAppSettings [<!ENTITY e "<add key=&#34;x&#34; value=&#34;y&#34;/>">]>\n'
    b"<RoomsAppSettings>\n  &e;\n</RoomsAppSettings>\n"
)
LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b']>\n<RoomsAppSettings><add key="k" value="&lol9;"/></RoomsAppSettings>\n'
)
EXTERNAL = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b'<RoomsAppSettings><add key="k" value="&x;"/></RoomsAppSettings>\n'
)
BARE_DOCTYPE = b"<!DOCTYPE RoomsAppSettings>\n<RoomsAppSettings/>\n"


# --- D10: hostile files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [ENTITY_TO_MARKUP, LAUGHS, EXTERNAL, BARE_DOCTYPE], ids=["markup", "laughs", "external", "bare"]
)
def test_a_doctype_is_refused(data: bytes) -> None:
    with pytest.raises(InputError) as caught:
        AppSettingsDoc.parse(data, "RoomsAppSettings.config")
    assert caught.value.code == "doctype"
    assert "contains a DOCTYPE" in caught.value.message
    assert "ROOMS' file never has one" in caught.value.message


def test_an_entity_expanding_to_markup_is_exit_2_not_an_internal_error(
    invoke: Invoke, tmp_path: Path
) -> None:
    """Before: 'unexpected AssertionError', exit 1 (the entity's markup had no bytes of its own to splice)."""
    path = tmp_path / "RoomsAppSettings.config"
    path.write_bytes(ENTITY_TO_MARKUP)
    for args in (["config", "show"], ["config", "set", "k", "v", "--force"], ["config", "check"]):
        run = invoke("--app-settings", str(path), *args)
        assert (run.code, run.out) == (2, "")
        assert run.err == (
            f"Error: {path} contains a DOCTYPE (line 2); ROOMS' file never has one, and roomsops does not read "
            "entity declarations — remove the <!DOCTYPE ...> part, or restore the file from its .bak copy\n"
        )
    assert path.read_bytes() == ENTITY_TO_MARKUP


def test_a_big_file_is_refused_after_reading_at_most_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: a 300 MB file was read whole and parsed (203 s, 850 MB). Counted in bytes read, not time."""
    path = tmp_path / "RoomsAppSettings.config"
    filler = b"<!-- " + b"x" * 1000 + b" -->\n"
    path.write_bytes(SAMPLE + filler * (2 * MAX_FILE_BYTES // len(filler)))
    assert path.stat().st_size > 2 * MAX_FILE_BYTES - len(filler)
    read: list[int] = []
    real_open = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        stream = real_open(self, *args, **kwargs)
        real_read = stream.read

        def read_counted(*a: Any) -> Any:
            data = real_read(*a)
            read.append(len(data))
            return data

        stream.read = read_counted
        return stream

    monkeypatch.setattr(Path, "open", counting_open)
    with pytest.raises(InputError) as caught:
        read_document(path)
    assert caught.value.code == "file_too_large"
    assert caught.value.one_line() == (
        f"{path} is larger than 1024 KiB; ROOMS' RoomsAppSettings.config is a few kilobytes — "
        "point --app-settings at ROOMS' file, or restore it from its .bak copy"
    )
    assert sum(read) == MAX_FILE_BYTES + 1


def test_a_file_of_exactly_the_limit_is_read() -> None:
    filler = b"<!--" + b"x" * 100 + b"-->\n"
    head = SAMPLE
    data = head + filler * ((MAX_FILE_BYTES - len(head)) // len(filler))
    data += b" " * (MAX_FILE_BYTES - len(data))
    assert len(data) == MAX_FILE_BYTES
    assert AppSettingsDoc.parse(data, "f").get("BatchGetEventsSize") == "100"
    with pytest.raises(InputError, match="larger than 1024 KiB"):
        AppSettingsDoc.parse(data + b" ", "f")


# --- D6 (POSIX): the rewrite keeps mode and owner, on the file and its .bak ---------------------------


@posix_only
def test_rewrite_keeps_mode_and_owner_on_file_and_backup(tmp_path: Path) -> None:
    path = tmp_path / "RoomsAppSettings.config"
    path.write_bytes(SAMPLE)
    path.chmod(0o640)
    before = path.stat()
    backup = write_atomic(path, SAMPLE.replace(b"100", b"200"))
    assert backup == tmp_path / "RoomsAppSettings.config.bak"
    for written in (path, backup):
        after = written.stat()
        assert stat.S_IMODE(after.st_mode) == 0o640
        assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert backup.read_bytes() == SAMPLE


def test_rewrite_hands_the_access_rules_of_the_file_to_both_new_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Windows hook (DACL copy, a no-op here) is applied to the new file and the new .bak, from the original."""
    calls: list[tuple[Path, str]] = []
    monkeypatch.setattr(
        document, "copy_access_control", lambda source, temp: calls.append((source, temp.name))
    )
    path = tmp_path / "RoomsAppSettings.config"
    path.write_bytes(SAMPLE)
    write_atomic(path, SAMPLE)
    assert [source for source, _ in calls] == [path, path]
    assert calls[0][1].startswith(".RoomsAppSettings.config.bak.")
    assert calls[1][1].startswith(".RoomsAppSettings.config.")


# --- D8: symlinks and parallel edits ---------------------------------------------------------------------


@posix_only
def test_a_symlinked_file_is_edited_at_its_target(invoke: Invoke, tmp_path: Path) -> None:
    """Before: the link was replaced by a plain file, and ROOMS (reading the target) kept the old value."""
    real_dir = tmp_path / "rooms" / "Configuration"
    real_dir.mkdir(parents=True)
    target = real_dir / "RoomsAppSettings.config"
    target.write_bytes(SAMPLE)
    target.chmod(0o600)
    link = tmp_path / "RoomsAppSettings.config"
    link.symlink_to(target)
    run = invoke("--app-settings", str(link), "config", "set", "BatchGetEventsSize", "250")
    assert run.code == 0, run.err
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert read_document(target).get("BatchGetEventsSize") == "250"
    assert (real_dir / "RoomsAppSettings.config.bak").read_bytes() == SAMPLE
    assert not (tmp_path / "RoomsAppSettings.config.bak").exists()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in real_dir.iterdir()) == [
        "RoomsAppSettings.config",
        "RoomsAppSettings.config.bak",
    ]


@posix_only
def test_a_dangling_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "RoomsAppSettings.config"
    link.symlink_to(tmp_path / "gone.config")
    with pytest.raises(InputError, match="is a symbolic link to a file that cannot be reached"):
        write_atomic(link, SAMPLE)
    assert link.is_symlink()


def test_the_edit_lock_excludes_a_second_editor_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "RoomsAppSettings.config"
    path.write_bytes(SAMPLE)
    with edit_lock(path):
        assert lock_path(path).exists()
        with pytest.raises(EditLocked) as caught, edit_lock(path, wait_seconds=0):
            pass
        assert caught.value.exit_code == 1
        assert "is being edited by another roomsops command" in caught.value.message
    assert not lock_path(path).exists()
    with edit_lock(path, wait_seconds=0):  # free again
        pass


def test_parallel_config_set_runs_lose_no_update(tmp_path: Path) -> None:
    """Before: 12 runs each reported "updated" and 5 keys landed (read, change, write raced)."""
    path = tmp_path / "RoomsAppSettings.config"
    path.write_bytes(SAMPLE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")}
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "roomsops",
                "--app-settings",
                str(path),
                "config",
                "set",
                f"Key{n}",
                str(n),
                "--force",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(12)
    ]
    outcomes = [(run.wait(timeout=300), run.stderr.read() if run.stderr else b"") for run in runs]
    for run in runs:
        for stream in (run.stdout, run.stderr):
            if stream:
                stream.close()
    assert [code for code, _ in outcomes] == [0] * 12, outcomes
    doc = read_document(path)
    assert {f"Key{n}": doc.get(f"Key{n}") for n in range(12)} == {f"Key{n}": str(n) for n in range(12)}
    assert doc.get("ExchangeClientSecret") is not None
    assert not lock_path(path).exists()
