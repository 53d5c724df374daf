"""Issue 21.13: `lab serve` prints what to export (settings file, WinRM password variable), the domain and the
mailboxes; `lab env --dir DIR` prints it again; `lab stop --dir DIR` stops it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_serve_prints_the_environment_env_repeats_it_and_stop_stops_it(
    invoke: Invoke, tmp_path: Path
) -> None:
    folder = tmp_path / "lab"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "lab", "serve", "--dir", str(folder), "--room-answer-delay", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            for _ in range(5):
                lines.append(process.stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=60)
        assert len(lines) == 5, lines
        printed = [line.rstrip("\n") for line in lines]
        assert printed[0] == f"lab ready: {folder.resolve()}/roomsops.toml"
        info = json.loads((folder / "lab.json").read_text(encoding="utf-8"))
        assert printed[1].startswith(f"# domain {info['tenant']['domain']}; mailboxes DiegoS@")
        assert f"rooms room-zurich@{info['tenant']['domain']}" in printed[1]
        assert info["winrm"]["password"] not in "".join(printed)  # named where it is, never printed

        again = invoke("lab", "env", "--dir", str(folder))
        assert again.code == 0 and again.out.splitlines() == printed[1:]
        # The printed exports work in a shell: the variables hold the settings file and the WinRM password.
        shell = "\n".join(
            [*printed[2:4], 'test "$ROOMSOPS_WINRM_PASSWORD" = "$1" && echo "$ROOMSOPS_SETTINGS"']
        )
        checked = subprocess.run(
            ["bash", "-c", shell, "check", info["winrm"]["password"]],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert checked.stdout.strip() == info["files"]["settings"], checked.stderr

        stop = invoke("lab", "stop", "--dir", str(folder))
        assert stop.code == 0, stop.err
        assert stop.out == f"lab stopped: {folder.resolve()}\n"
        assert process.wait(timeout=30) == 0
        assert not (folder / "lab.pid").exists()
        twice = invoke("lab", "stop", "--dir", str(folder))
        assert twice.code == 2 and "no running lab in" in twice.err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_env_of_a_folder_without_a_lab_is_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    run = invoke("lab", "env", "--dir", str(tmp_path))
    assert run.code == 2
    assert run.err == (
        f"Error: no lab in {tmp_path.resolve()} (no readable lab.json) — start one with 'roomsops lab serve --dir "
        f"{tmp_path.resolve()}'\n"
    )
