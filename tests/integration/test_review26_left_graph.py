"""review26: a person whose Graph subscription could not be made (its mailbox does not exist) and who then leaves
Graph mode (synced over EWS from then on) keeps a failed row in the status page's subscription table for as long as
the service runs: `Subscriptions.failures` is never cleared for a mailbox no longer wanted. Against the lab with
serve started as a process."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Invoke, ok

from .helpers import serve_started
from .test_serve_lab import metrics, stopped, wait_for
from .test_serve_webhook_lab import counted, webhook

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


def test_review26_a_person_leaving_graph_mode_leaves_no_subscription_problem_on_the_page(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    ghost = addr("ghost")  # no such mailbox: Graph refuses its subscription
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("persons", "add", ghost, "--sync-mode", "Microsoft365", env=env))
    process, _, url = serve_started(env, tmp_path, stopped, ews_interval="1", **webhook(fresh_lab))

    def subscription_rows() -> list[str]:
        page = requests.get(url, timeout=10).text.split('id="subscriptions"')[1].split("</table>")[0]
        return re.findall(r'<tr class="(\w+)" data-subscription="([^"]+)"', page)

    wait_for(lambda: ("failed", ghost) in subscription_rows(), process)

    # ghost leaves Graph mode: synced over EWS from now on; no Graph subscription is wanted for it any more
    ok(invoke("persons", "set", ghost, "--sync-mode", "O365", env=env))
    ews = ("roomsops_serve_passes_total", (("mailbox", ghost), ("result", "failed"), ("service", "ews")))
    wait_for(lambda: metrics(url).get(ews, 0.0) >= 2, process)  # two rounds after it left Graph mode
    assert (
        counted(metrics(url), "roomsops_serve_subscription_operations_total", operation="create", result="ok")
        == 0
    )
    assert subscription_rows() == []
