"""review26: the status page's subscription table names a mailbox whose subscription could not be made by its
casefolded key ("ghostperson@…"), not as the person's address is written ("GhostPerson@…") as every other table
of the page does (the declined table was fixed so, d79d05f): `Subscriptions.health` shows the key of `failures`.
Against the lab with serve started as a process."""

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
from .test_serve_lab import stopped, wait_for
from .test_serve_webhook_lab import webhook

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


def test_review26_a_missing_subscription_is_named_as_the_address_is_written(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    ghost = addr("GhostPerson")  # no such mailbox: Graph refuses its subscription
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("persons", "add", ghost, "--sync-mode", "Microsoft365", "--no-check", env=env))
    process, _, url = serve_started(env, tmp_path, stopped, **webhook(fresh_lab))

    def rows() -> list[tuple[str, str]]:
        page = requests.get(url, timeout=10).text
        if 'id="subscriptions"' not in page:
            return []
        table = page.split('id="subscriptions"')[1].split("</table>")[0]
        return re.findall(r'<tr class="(\w+)" data-subscription="([^"]+)"', table)

    found = wait_for(rows, process)
    mailbox_rows = re.findall(r'data-mailbox="([^"]+)"', requests.get(url, timeout=10).text)
    assert (found, mailbox_rows) == ([("failed", ghost)], [ghost])
