"""review21d: issue 21.8 / README's JSON section ("`--json` ... prints exactly one JSON document on stdout"). fix21cc
(review21c finding 24) made `--json lab env` a document; `--json lab serve` still prints its shell text on stdout
and `--json lab stop` prints "lab stopped: DIR" — neither is JSON, and neither shape is in README's list."""

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


def test_json_lab_serve_and_lab_stop_print_json_documents(invoke: Invoke, tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "--json", "lab", "serve", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            first.append(process.stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=60)
        assert first and first[0], "lab serve printed nothing"
        stop = invoke("--json", "lab", "stop", "--dir", str(folder))
        assert stop.code == 0, stop.err
        assert process.wait(timeout=30) == 0
        assert process.stdout is not None
        served = first[0] + process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    problems = []
    for name, text in (("lab serve", served), ("lab stop", stop.out)):
        try:
            doc = json.loads(text)
        except ValueError:
            problems.append(f"--json {name} printed no JSON document: {text!r}")
            continue
        if "ok" not in doc:
            problems.append(f"--json {name}: no 'ok' in {doc}")
    assert problems == [], problems


def test_lab_env_of_a_stopped_lab_says_it_is_not_running(invoke: Invoke, tmp_path: Path) -> None:
    """README: "`roomsops lab env --dir DIR` | print those lines again for a running lab". After `lab stop` (lab.json
    stays), `lab env --dir DIR` still prints the exports, exit 0, without a word that nothing serves them: every
    command then fails with "cannot reach" (exit 3). `lab stop` on the same folder does know (fix21cb: "no running
    lab in DIR"). Expected: exit non-zero naming that the lab is not running, with `lab serve --dir DIR`."""
    folder = tmp_path / "lab"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "lab", "serve", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            first.append(process.stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=60)
        assert first and first[0].startswith("lab ready"), first
        assert invoke("lab", "stop", "--dir", str(folder)).code == 0
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    again = invoke("lab", "env", "--dir", str(folder))
    assert again.code != 0 and "lab serve" in again.out + again.err, (again.code, again.out, again.err)
