"""Issue 21.3: `--log-format json` (or `log.format = "json"`) writes the log file as one JSON object per line
(time, level, logger, message, fields) for log shippers; a sync run logs one line per mailbox result and one
per failure at INFO."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_sync_run_logs_json_lines_per_mailbox_and_failure(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    room, diego, adele, nobody = addr("room-zurich"), addr("DiegoS"), addr("AdeleV"), addr("nobody-here")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    for person in (diego, adele, nobody):  # nobody-here has no mailbox: its pass fails
        ok(invoke("persons", "add", person, env=env))
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    times = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]
    ok(invoke("bookings", "add", "--organizer", diego, "--room", room, *times, "--title", "Plan", env=env))
    log_file = Path(env["ROOMSOPS_LOG_FILE"])
    log_file.unlink(missing_ok=True)  # only the sync's lines

    run = invoke("--log-format", "json", "sync", env=env)
    assert run.code == 1, run.out + run.err

    records = lines(log_file)  # every line is one JSON object
    assert records
    for record in records:
        assert set(record) == {"time", "level", "logger", "message", "fields"}
        assert record["logger"].startswith("roomsops")
        assert datetime.fromisoformat(record["time"]).tzinfo is not None
    results = [r for r in records if r["fields"].get("event") == "mailbox"]
    assert sorted(r["fields"]["mailbox"] for r in results) == sorted([diego, adele, nobody])
    by_mailbox = {r["fields"]["mailbox"]: r for r in results}
    assert by_mailbox[diego]["level"] == "INFO"
    assert by_mailbox[diego]["fields"]["ok"] is True
    assert by_mailbox[diego]["fields"]["created"] == 1
    assert by_mailbox[diego]["message"].startswith(f"sync {diego}: ok; 1 created")
    assert by_mailbox[adele]["fields"] | {"skipped": {}} == {
        "event": "mailbox",
        "mailbox": adele,
        "dry_run": False,
        "ok": True,
        "skipped": {},
        "failures": 0,
    }
    failed = by_mailbox[nobody]
    assert (failed["level"], failed["fields"]["ok"]) == ("ERROR", False)
    assert failed["fields"]["error"] and failed["fields"]["error_code"]
    assert failed["message"].startswith(f"sync {nobody}: FAILED ")


def test_the_setting_gives_the_format_and_the_option_wins(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    log_file = Path(env["ROOMSOPS_LOG_FILE"])
    ok(invoke("persons", "add", addr("DiegoS"), env=env | {"ROOMSOPS_LOG_FORMAT": "json"}))
    (audit_line,) = lines(log_file)
    assert audit_line["message"].startswith("audit ")
    log_file.unlink()
    ok(
        invoke(
            "--log-format",
            "text",
            "persons",
            "add",
            addr("AdeleV"),
            env=env | {"ROOMSOPS_LOG_FORMAT": "json"},
        )
    )
    (text,) = log_file.read_text(encoding="utf-8").splitlines()
    assert " INFO roomsops" in text and not text.startswith("{")
