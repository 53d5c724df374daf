"""Setups that several integration test files share (one copy, so a fix to a setup reaches every test of it)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import Invoke, ok

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def live(lab: Any, mailbox: str, organizer: str | None = None) -> list[dict[str, Any]]:
    """The mailbox's calendar items that are not cancelled (only `organizer`'s, when given)."""
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [
        i
        for i in items
        if not i["is_cancelled"] and (organizer is None or i["organizer"].lower() == organizer.lower())
    ]


def answer_rooms(lab: Any) -> None:
    """The lab's rooms answer the requests they hold (`POST /lab/room-answers/process`)."""
    response = lab.admin("POST", "/lab/room-answers/process")
    assert response.status_code == 200, response.text


def synced_standup_series(
    invoke: Invoke,
    lab: Any,
    env: dict[str, str],
    addr: Any,
    mode: str,
    days: int,
    quiet_pass: bool = True,
) -> tuple[str, str]:
    """review20h's start: Zürich is a ROOMS room; DiegoS (`mode`) has booking 1 made in ROOMS, "Standup" daily at
    08:00 UTC from `days` days from today (negative: in the past), six occurrences; a pass writes it and Zürich
    accepts; with `quiet_pass`, one more pass. Checks that DiegoS's calendar and Zürich's hold the series.
    Returns (DiegoS, Zürich)."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    start = TODAY + timedelta(days=days, hours=8)
    window = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]
    past = ["--allow-past"] if days < 0 else []
    series = ["--title", "Standup", "--daily", "--count", "6", *past]
    ok(invoke("bookings", "add", "--organizer", diego, "--room", zurich, *window, *series, env=env))
    ok(invoke("sync", env=env))
    answer_rooms(lab)
    if quiet_pass:
        ok(invoke("sync", env=env))
    assert [i["subject"] for i in live(lab, diego, diego)] == ["Standup"]  # the series is in Exchange
    assert len(live(lab, zurich, diego)) == 1  # and the room holds it (its subject: the organizer)
    return diego, zurich


def add_hour_booking(
    invoke: Invoke, env: dict[str, str], organizer: str, room: str, start: datetime, title: str
) -> None:
    """`roomsops bookings add`: `organizer` books `room` for one hour from `start`, titled `title` (exit 0)."""
    end = start + timedelta(hours=1)
    window = ["--start", start.isoformat(), "--end", end.isoformat()]
    ok(
        invoke(
            "bookings", "add", "--organizer", organizer, "--room", room, *window, "--title", title, env=env
        )
    )


def serve_started(
    env: dict[str, str],
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    *args: str,
    **settings: str,
) -> tuple[subprocess.Popen[str], Path, str]:
    """`roomsops serve` (with `args`, and `settings` as ROOMSOPS_SERVE_*) started as a process against the lab, kept
    in `stopped` (the fixture kills it if the test leaves it running), once it announced its status listener: (the
    process, its stderr file, the status listener's URL)."""
    from .test_serve_lab import start, status_url

    process, err = start(env, tmp_path, *args, **settings)
    stopped.append(process)
    return process, err, status_url(err, process)
