"""review21b: `--quiet` silences progress only (issue 21.4): failures and errors still show, and `--json`
stdout stays one document with progress on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from roomsops.cli import progress
from tests.conftest import Invoke

pytestmark = pytest.mark.integration


@pytest.fixture
def ticking(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    readings = iter(range(0, 10**9, int(progress.PERIOD_SECONDS)))
    monkeypatch.setattr(progress, "clock", lambda: float(next(readings)))
    yield


def test_quiet_keeps_failures_and_json_stays_one_document(
    invoke: Invoke, env: dict[str, str], addr: Any, ticking: None
) -> None:
    for person in (addr("DiegoS"), addr("nobody-here")):  # nobody-here has no mailbox: its pass fails
        assert invoke("persons", "add", person, env=env).code == 0
    loud = invoke("--json", "sync", "--concurrency", "1", env=env)
    quiet = invoke("--quiet", "--json", "sync", "--concurrency", "1", env=env)
    assert loud.code == quiet.code == 1, loud.out + loud.err
    for run in (loud, quiet):
        doc = json.loads(run.out)  # stdout: exactly one JSON document, progress or not
        assert doc["ok"] is False
    assert "sync: " in loud.err  # the progress lines were there, on stderr
    assert "sync: " not in quiet.err
    plain = invoke("--quiet", "sync", env=env)
    assert plain.code == 1
    assert addr("nobody-here") in plain.out + plain.err  # the failed mailbox is still named


def test_quiet_keeps_the_error_line_of_a_run_that_cannot_connect(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    assert invoke("persons", "add", addr("DiegoS"), env=env).code == 0
    broken = {**env, "ROOMSOPS_WINRM_PASSWORD": "wrong"}
    run = invoke("--quiet", "policy", "list", env=broken)
    assert run.code in (2, 3), run.out + run.err
    assert run.err.startswith("Error: "), run.err
