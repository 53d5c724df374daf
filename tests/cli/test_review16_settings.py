"""Review of issue 16: settings values that got past the load-time checks as an internal error (exit 1).

Python refuses int() of more than 4300 digits (ValueError), float() of an int beyond any float and
math.isfinite() of one (OverflowError); tomllib raises that ValueError, not a TOMLDecodeError. Each is a bad
value like any other: exit 2, one line, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error

HUGE = "9" * 5000  # beyond int()'s 4300 digits
WIDE = "9" * 4300  # int() reads it; float() and math.isfinite() of it overflow
BASE = '[rooms]\ndatabase = "sqlite:///rooms.db"\n[log]\nfile = "roomsops.log"\n'


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("ROOMSOPS_SYNC_CONCURRENCY", HUGE, "sync.concurrency"),
        ("ROOMSOPS_POWERSHELL_PORT", WIDE, "powershell.port"),
        ("ROOMSOPS_NETWORK_TIMEOUT_SECONDS", WIDE, "network.timeout_seconds"),
    ],
)
def test_a_runaway_number_in_a_variable_is_exit_2_with_a_short_line(
    variable: str, value: str, key: str, invoke: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "roomsops.toml").write_text(BASE, encoding="utf-8")
    run = invoke("sync", env={variable: value})
    assert (run.code, run.out) == (2, ""), run.err
    line = one_line_error(run)
    assert line.startswith(f"Error: {key} in ${variable} must be ")
    assert len(line) < 300  # the value is quoted cut short, not 5000 digits long
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roomsops.toml"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"[sync]\nconcurrency = {HUGE}\n", "holds an integer too long to read"),
        (f"[network]\ntimeout_seconds = 1{'0' * 400}\n", "network.timeout_seconds in roomsops.toml must be"),
        (f"[powershell]\nport = {WIDE}\n", "powershell.port in roomsops.toml must be"),
    ],
    ids=["int-beyond-4300-digits", "int-beyond-float", "int-beyond-isfinite"],
)
def test_a_runaway_number_in_the_file_is_exit_2(
    text: str, expected: str, invoke: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "roomsops.toml").write_text(BASE + text, encoding="utf-8")
    run = invoke("sync")
    assert (run.code, run.out) == (2, ""), run.err
    line = one_line_error(run)
    assert expected in line and len(line) < 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roomsops.toml"]


def test_a_runaway_concurrency_option_is_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "roomsops.toml").write_text(BASE, encoding="utf-8")
    run = invoke("sync", "--concurrency", HUGE)
    assert (run.code, run.out) == (2, ""), run.err
    assert one_line_error(run).startswith("Error: sync.concurrency in option --concurrency must be ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roomsops.toml"]


def test_a_settings_file_with_a_byte_order_mark_is_read(invoke: Invoke, tmp_path: Path) -> None:
    """Windows Notepad may save UTF-8 with a BOM; tomllib refused it as 'Invalid statement (line 1, column 1)'."""
    (tmp_path / "roomsops.toml").write_bytes(b"\xef\xbb\xbf" + f"{BASE}[sync]\nconcurrency = 0\n".encode())
    run = invoke("sync")
    assert run.code == 2
    assert one_line_error(run).startswith("Error: sync.concurrency in roomsops.toml must be a whole number")


@pytest.mark.parametrize("given", ["", " "])
def test_an_empty_settings_option_is_refused_not_ignored(given: str, invoke: Invoke, tmp_path: Path) -> None:
    """`--settings "$UNSET"` read ./roomsops.toml (or nothing) instead, without a word."""
    (tmp_path / "roomsops.toml").write_text(BASE, encoding="utf-8")
    run = invoke("--settings", given, "sync")
    assert (run.code, run.out) == (2, "")
    assert one_line_error(run) == (
        "Error: --settings is empty — give the path of roomsops.toml, or leave --settings out"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roomsops.toml"]


def test_a_settings_folder_is_named_as_one(invoke: Invoke, tmp_path: Path) -> None:
    """It said 'cannot be read: Is a directory — check the file's permissions'."""
    (tmp_path / "conf").mkdir()
    run = invoke("--settings", "conf", "sync")
    assert (run.code, run.out) == (2, "")
    assert one_line_error(run) == (
        "Error: settings file conf is a folder — give the path of the roomsops.toml file itself"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf"]
