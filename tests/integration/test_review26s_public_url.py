"""review26s: `serve.public_url` ending in a bare "?" or "#" is taken. `webhook_listen` refuses a query or fragment
by `urlsplit(...).query` / `.fragment`, which are empty for "https://host/roomsops?" and "https://host/roomsops#";
the notification URLs are then built by appending "/graph/notifications" to it — "https://host/roomsops?/graph/
notifications": the path is /roomsops and the rest a query (or a fragment, never sent), so Graph validates and
posts to a path the webhook (and README's reverse proxy, which forwards /roomsops/graph/) never serves. Every
subscription then fails at Graph's validation, instead of `Error: … — …`, exit 2, at the start.

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


@pytest.mark.parametrize("tail", ["?", "#"])
def test_review26s_public_url_with_an_empty_query_or_fragment_is_refused(
    env: dict[str, str], fresh_lab: Any, tmp_path: Path, tail: str
) -> None:
    settings = {**webhook(fresh_lab), "public_url": f"https://127.0.0.1:9/roomsops{tail}"}
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
