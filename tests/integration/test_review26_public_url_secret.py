"""review26: serve.public_url with credentials in it (https://user:password@proxy/…, as for a reverse proxy with
basic authentication) is taken as it is: the password is printed on stderr ("Graph webhook on …"), written to the
log and sent to Graph as the notificationUrl. Secrets are never in output or logs (project brief): such a URL is
refused (one Error line, exit 2) or at least never shown. Against the lab with serve started as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .test_serve_lab import HUNG
from .test_serve_webhook_lab import webhook

pytestmark = pytest.mark.integration
PASSWORD = "Pr0xy-Pa55word-review26"


def test_review26_a_password_in_public_url_is_never_shown(
    invoke: Invoke, env: dict[str, str], addr: Callable[[str], str], fresh_lab: Any, tmp_path: Path
) -> None:
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "Microsoft365", env=env))
    settings = {**webhook(fresh_lab), "public_url": f"https://roomsops:{PASSWORD}@127.0.0.1:9/roomsops"}
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
    log = Path(env["ROOMSOPS_LOG_FILE"])
    logged = log.read_text(encoding="utf-8") if log.exists() else ""
    shown = [
        where
        for where, text in (("stdout", run.stdout), ("stderr", run.stderr), ("log", logged))
        if PASSWORD in text
    ]
    assert shown == [], run.stderr
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("Error: serve.public_url") and "user name or password" in run.stderr, (
        run.stderr
    )
