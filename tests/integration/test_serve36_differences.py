"""issue 26: serve's status page and /metrics show the open differences (`roomsops sync diff`), which it did not.
Against the lab: a booking changed on both sides (an Outlook edit with exchangelib, a ROOMS edit) is synced by a
plain `roomsops sync`, which records the difference; the service started then shows it after its first round."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Invoke, ok

from .test_serve_lab import metrics, start, status_url, stopped, wait_for
from .test_sync_exchange import edit, meeting_of, outlook, synced

pytestmark = pytest.mark.integration
__all__ = ["outlook", "stopped", "synced"]  # the fixtures, used by name


def test_the_status_page_and_metrics_show_the_open_differences(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    outlook: Any,
    synced: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    diego = addr("DiegoS")
    synced()
    edit(meeting_of(outlook, diego), subject="Outlook title")
    ok(invoke("bookings", "update", "1", "--title", "ROOMS title", env=env))
    ok(invoke("sync", env=env))  # both changed: ROOMS wins, the difference is recorded
    process, err = start(env, tmp_path, ews_interval="3600")
    stopped.append(process)
    url = status_url(err, process)
    wait_for(lambda: requests.get(url + "healthz", timeout=10).text == "ok: live, ready\n", process)
    page = requests.get(url, timeout=10).text
    samples = metrics(url)
    process.terminate()
    assert process.wait(timeout=120) == 0, err.read_text()
    row = re.search(r'<tr data-difference="1">(.*?)</tr>', page, re.S)
    gauge = {
        dict(labels)["kind"]: v
        for (name, labels), v in samples.items()
        if name == "roomsops_serve_open_differences"
    }
    assert (
        row and re.findall(r"<td>(.*?)</td>", row.group(1))[:4],
        "1 open difference(s)" in page,
        gauge,
    ) == (
        ["1", diego, "both_changed", "subject"],
        True,
        {"both_changed": 1.0, "room_changed": 0.0, "attendees_changed": 0.0},
    ), page
