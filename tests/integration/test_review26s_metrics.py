"""review26s: `/metrics` after a person leaves the sync. `roomsops_serve_last_pass_timestamp_seconds{mailbox}` is
set after each pass and never removed, so a person removed from the sync (or set to a mode roomsops does not sync)
keeps their last value for as long as the service runs: README's alert "a mailbox is not synced" (`time() -
roomsops_serve_last_pass_timestamp_seconds > 3 * 60`) then fires for a person nobody syncs any more, until the
service is restarted. Against the lab with serve started as a process; a second person keeps the rounds passing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .helpers import serve_started
from .test_serve_lab import metrics, passes, stopped, wait_for

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


def _last_pass_mailboxes(url: str) -> set[str]:
    return {
        dict(labels)["mailbox"]
        for (name, labels), _ in metrics(url).items()
        if name == "roomsops_serve_last_pass_timestamp_seconds"
    }


def test_review26s_the_last_pass_gauge_of_a_person_who_left_the_sync_goes(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    diego, adele = addr("DiegoS"), addr("AdeleV")
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    process, err, url = serve_started(env, tmp_path, stopped, ews_interval="1")
    wait_for(lambda: passes(metrics(url), diego) >= 1 and passes(metrics(url), adele) >= 1, process)
    assert _last_pass_mailboxes(url) == {diego, adele}

    ok(invoke("persons", "remove", diego, "--yes", env=env))
    done = passes(metrics(url), adele)
    wait_for(lambda: passes(metrics(url), adele) >= done + 2, process)  # rounds after Diego left
    shown = _last_pass_mailboxes(url)
    process.terminate()
    assert process.wait(timeout=120) == 0, err.read_text()
    assert shown == {adele}
