"""review26w: `serve.public_url` naming no host ("https://:8443/roomsops"), a host with a space
("https://rooms example.com/roomsops") or a port out of range ("https://rooms.example.com:99999/roomsops") is
taken. `webhook_listen` checks only the scheme, a non-empty netloc, credentials, "?" and "#": each of these parses
with a netloc, so the service starts, builds notification URLs no one can reach and sends them to Graph, and every
subscription fails (Graph's validation cannot reach them) round after round — the operator learns of it from the
"subscription operations fail" alert, if set up, while Graph mailboxes silently fall back to serve.graph_interval.

Bad input is `Error: <problem> — <remedy>`, exit 2, nothing changed, at the start (as for a scheme other than https,
a query or a fragment): an operator expects a URL that cannot name the webhook refused there.

The service as a process with `--max-ticks 1` and no person (so it stops by itself when the bad value is taken)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .test_serve_lab import HUNG
from .test_serve_webhook_lab import webhook

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "url",
    [
        "https://:8443/roomsops",
        "https://rooms example.com/roomsops",
        "https://rooms.example.com:99999/roomsops",
    ],
)
def test_review26w_a_public_url_that_names_no_reachable_host_is_refused(
    env: dict[str, str], fresh_lab: Any, tmp_path: Path, url: str
) -> None:
    settings = {**webhook(fresh_lab), "public_url": url}
    run = subprocess.run(
        [sys.executable, "-m", "roomsops", "serve", "--max-ticks", "1"],
        env={
            **os.environ,
            **env,
            "ROOMSOPS_SERVE_STATUS_LISTEN": "127.0.0.1:0",
            **{f"ROOMSOPS_SERVE_{k.upper()}": v for k, v in settings.items()},
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HUNG,
    )
    assert (run.returncode, run.stderr.startswith("Error: serve.public_url")) == (2, True), run.stderr
