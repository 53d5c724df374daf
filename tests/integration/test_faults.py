"""The fault matrix (docs/reliability.md): every row a fault the lab injects into a real run of roomsops.

For each: after roomsops' own retries, or one re-run, every booking has exactly one meeting with equal fields and
no change is lost (tests/campaign.py's invariant, read from the lab's own calendar view), the user saw one clear
message, and the exit code is the README's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from roomsops.lab import Lab
from tests.campaign import AdminClient, Expectations, campaign_env, check_invariant, cli
from tests.conftest import Invoke, ok, one_line_error

pytestmark = pytest.mark.integration
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
CHANGED = "Planning (changed in ROOMS)"


@pytest.fixture
def seed(invoke: Invoke, env: dict[str, str], addr: Callable[[str], str]) -> Callable[[], None]:
    """DiegoS (booking 1, 3) and AdeleV (booking 2, 4), each booking with room-zurich and an attendee."""

    def make() -> None:
        ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
        for person in ("DiegoS", "AdeleV"):
            ok(invoke("persons", "add", addr(person), "--sync-mode", "O365", env=env))
        for index in range(4):
            organizer, other = ("DiegoS", "AdeleV") if index % 2 == 0 else ("AdeleV", "DiegoS")
            start = TOMORROW + timedelta(hours=2 * index)
            ok(
                invoke(
                    "bookings",
                    "add",
                    "--organizer",
                    addr(organizer),
                    "--room",
                    addr("room-zurich"),
                    "--start",
                    start.isoformat(),
                    "--end",
                    (start + timedelta(hours=1)).isoformat(),
                    "--title",
                    f"Planning {index + 1}",
                    "--attendee",
                    addr(other),
                    "--reminder",
                    "15",
                    env=env,
                )
            )

    return make


def assert_invariant(lab: Any, env: dict[str, str], expect: Expectations | None = None) -> None:
    check = check_invariant(lab, env, expect)
    assert check.ok, "\n".join(check.problems)


@contextmanager
def when_counted(lab: Any, key: str, count: int, action: Callable[[], Any]) -> Iterator[threading.Event]:
    """Run `action` (e.g. arm a fault) the moment the lab has counted `count` requests under `key`."""
    done, stop = threading.Event(), threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if lab.lab.context.counter.snapshot().get(key, 0) >= count:
                action()
                done.set()
                return
            time.sleep(0.001)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        thread.join(timeout=5)


# --- throttling and server errors: waited out within one run -----------------------------------------------


def test_error_server_busy_is_waited_out_with_its_back_off(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], seed: Callable[[], None], tmp_path: Path
) -> None:
    seed()
    fresh_lab.reset_requests()
    fresh_lab.fault(protocol="ews", operation="SyncFolderItems", kind="server_busy", back_off_ms=400, count=2)
    started = time.monotonic()
    run = ok(invoke("sync", env=env))
    assert time.monotonic() - started >= 0.4
    assert run.err == ""  # no library noise: exchangelib's own warnings go to the log file
    counts = fresh_lab.requests()
    log = (tmp_path / "roomsops.log").read_text()
    assert counts["ews:SyncFolderItems"] == 6, counts  # 2 refused, sent again, and 2 catch-ups
    assert log.count("; backing off 0.40s") == 2, log
    assert_invariant(fresh_lab, env)


def test_http_503_is_retried_after_its_retry_after(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], seed: Callable[[], None], tmp_path: Path
) -> None:
    seed()
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="http_503", back_off_ms=1000, count=1)
    started = time.monotonic()
    run = ok(invoke("sync", env=env))
    assert time.monotonic() - started >= 1.0
    log = (tmp_path / "roomsops.log").read_text()
    assert log.count("; backing off ") == 1, log  # the server's Retry-After: 1, not exchangelib's fixed 10 s
    assert "; backing off 1.00s" in log, log
    assert run.err == ""
    assert fresh_lab.requests()["ews:CreateItem"] == 3  # one per mailbox, and the refused one once more
    assert_invariant(fresh_lab, env)


def test_http_500_is_retried_once(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], seed: Callable[[], None]
) -> None:
    seed()
    ok(invoke("sync", env=env))
    ok(invoke("bookings", "update", "1", "--title", CHANGED, env=env))
    fresh_lab.reset_requests()
    fresh_lab.fault(protocol="ews", operation="UpdateItem", kind="http_500", count=1)
    run = ok(invoke("sync", env=env))
    assert run.err == ""
    assert fresh_lab.requests()["ews:UpdateItem"] == 2
    assert_invariant(fresh_lab, env, Expectations(titles={1: CHANGED}))


# --- a connection dropped before or after the lab applied a write ------------------------------------------


@pytest.mark.parametrize("kind", ["drop_before", "drop_after"])
@pytest.mark.parametrize("write", ["CreateItem", "UpdateItem", "CancelCalendarItem"])
def test_a_dropped_write_is_never_sent_blindly_again(
    write: str,
    kind: str,
    invoke: Invoke,
    fresh_lab: Any,
    env: dict[str, str],
    seed: Callable[[], None],
    addr: Callable[[str], str],
) -> None:
    seed()
    expect = Expectations()
    if write != "CreateItem":
        ok(invoke("sync", env=env))
        if write == "UpdateItem":
            ok(invoke("bookings", "update", "1", "--title", CHANGED, env=env))
            expect.titles[1] = CHANGED
        else:
            ok(invoke("bookings", "cancel", "1", "--yes", env=env))
            expect.cancelled.add(1)
    fresh_lab.reset_requests()
    # exchangelib sends CancelCalendarItem inside a CreateItem, and the lab counts (and faults) it as one.
    operation = "UpdateItem" if write == "UpdateItem" else "CreateItem"
    fresh_lab.fault(protocol="ews", operation=operation, kind=kind, count=1)
    first = invoke("--json", "sync", env=env)
    sent = fresh_lab.requests()[f"ews:{operation}"]
    assert sent == (2 if write == "CreateItem" else 1)  # never again within the run (2: one per mailbox)
    # the mailbox whose write met the fault (either, for CreateItem: both mailboxes create, in parallel)
    (hit,) = [m for m in json.loads(first.out)["mailboxes"] if m["failures"] or m["adopted"]]
    if write != "CreateItem":
        assert hit["mailbox"] == addr("DiegoS")  # booking 1 is DiegoS's
    if write == "CreateItem" and kind == "drop_after":
        assert hit["adopted"] == 2  # the meetings exist: found by their tag, not created again
    else:
        assert first.code == 1
        assert any("the connection dropped during a write" in f for f in hit["failures"]), hit
    text = invoke("sync", env=env)  # the re-run, with text output
    assert text.code == 0, text.out + text.err
    assert_invariant(fresh_lab, env, expect)
    if write == "CreateItem":  # created exactly once per booking (the lost one again only if never applied)
        assert fresh_lab.requests()["ews:CreateItem"] == (3 if kind == "drop_before" else 2)


# --- the token --------------------------------------------------------------------------------------------


def test_a_token_refused_mid_run_is_dropped_and_a_rerun_succeeds(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], seed: Callable[[], None], addr: Callable[[str], str]
) -> None:
    seed()
    ok(invoke("sync", env=env))
    ok(invoke("bookings", "update", "1", "--title", CHANGED, env=env))
    fresh_lab.reset_requests()
    fresh_lab.fault(protocol="ews", operation="UpdateItem", kind="http_401", count=1)
    run = invoke("sync", env=env)
    assert run.code == 1
    assert (
        f"  failed: booking 1 (Planning (changed in ROOMS)): EWS refused the app's token for {addr('DiegoS')} "
        "(HTTP 401)" in run.out
    )
    ok(invoke("sync", env=env))
    assert_invariant(fresh_lab, env, Expectations(titles={1: CHANGED}))


def test_consent_revoked_mid_run(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], seed: Callable[[], None], addr: Callable[[str], str]
) -> None:
    seed()
    ok(invoke("sync", env=env))
    ok(invoke("bookings", "update", "1", "--title", CHANGED, env=env))
    ok(invoke("bookings", "update", "2", "--title", CHANGED, env=env))
    app_id = fresh_lab.app("rooms")["app_id"]

    def consent(grant: bool) -> None:
        body = {"app_id": app_id, "permission": "full_access_as_app", "grant": grant}
        fresh_lab.admin("POST", "consent", json=body).raise_for_status()

    fresh_lab.settings(latency_ms=40)
    try:
        with when_counted(fresh_lab, "ews:SyncFolderItems", 1, lambda: consent(False)) as revoked:
            run = invoke("sync", "--concurrency", "1", env=env)
        assert revoked.is_set()
    finally:
        fresh_lab.settings(latency_ms=0)
    assert run.code == 1
    assert (
        "EWS refused the app's token for" in run.out
        and "the token was refused: run roomsops auth test" in run.out
    )
    refused = invoke("auth", "test", env=env)
    assert refused.code == 1 and "FAILED   roles: full_access_as_app is missing" in refused.out
    consent(True)
    ok(invoke("sync", env=env))
    assert_invariant(fresh_lab, env, Expectations(titles={1: CHANGED, 2: CHANGED}))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("http_503", r"the token service at https://127\.0\.0\.1:\d+/[0-9a-f-]+ answered HTTP 503 — "),
        (
            "server_busy",
            r"token request refused: the token service is throttling \(too many requests\) \(AADSTS90055\)",
        ),
        ("drop_before", r"cannot reach https://\S+: Remote end closed connection without response — "),
    ],
)
def test_the_token_service_down_is_exit_3_with_nothing_written(
    kind: str,
    message: str,
    invoke: Invoke,
    fresh_lab: Any,
    env: dict[str, str],
    seed: Callable[[], None],
    tmp_path: Path,
) -> None:
    seed()
    ok(invoke("sync", env=env))
    ok(invoke("bookings", "update", "1", "--title", CHANGED, env=env))
    database = (tmp_path / "rooms.db").read_bytes()
    fresh_lab.reset_requests()
    fresh_lab.fault(protocol="token", operation="*", kind=kind, back_off_ms=1000, count=20)
    run = invoke("sync", env=env)
    assert run.code == 3 and run.out == ""
    assert re.search(message, one_line_error(run)), run.err
    assert not any(k.startswith("ews:") for k in fresh_lab.requests())
    assert (tmp_path / "rooms.db").read_bytes() == database
    # The summary tells monitoring the truth: this run failed, and why (issue 19).
    summary = json.loads((tmp_path / "last-sync.json").read_text())
    assert summary["ok"] is False and re.search(message, summary["error"]["message"] + " — "), summary
    fresh_lab.clear_faults()
    ok(invoke("sync", env=env))
    assert_invariant(fresh_lab, env, Expectations(titles={1: CHANGED}))


# --- WinRM --------------------------------------------------------------------------------------------------


def test_winrm_dropped_mid_pipeline(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Callable[[str], str]
) -> None:
    members = ["--member", addr("DiegoS"), "--member", addr("AdeleV")]
    fault = {"protocol": "wsman", "operation": "Command", "kind": "drop_after", "count": 1}
    fresh_lab.settings(latency_ms=30)
    try:
        with when_counted(
            fresh_lab, "cmdlet:New-DistributionGroup", 1, lambda: fresh_lab.fault(**fault)
        ) as armed:
            run = invoke("policy", "restrict", *members, env=env)
        assert armed.is_set()
    finally:
        fresh_lab.settings(latency_ms=0)
    assert run.code == 1  # work had begun (the group was created): not 3
    # Issue 17 D5: which changes were made and which not, how to finish and how to undo.
    first, *report = run.err.splitlines()
    assert re.match(
        r"Error: policy restrict was interrupted \(the WinRM connection to 127\.0\.0\.1 failed during [\w-]+: "
        r"[^;]*\) — the Exchange session was closed; to finish, run the same command again: it keeps what is "
        r"already in place and makes the rest; to undo, run 'roomsops policy remove --group SyncIsAllowed --with-group'",
        first,  # the group this run made goes too (fix21q)
    ), first
    app_id = fresh_lab.app("rooms")["app_id"]
    assert report == [
        "done:",
        "  group SyncIsAllowed: created",
        "not done:",
        f"  member {addr('DiegoS')}: added",
        f"  member {addr('AdeleV')}: added",
        f"  policy {app_id} → SyncIsAllowed: created",
    ]
    state = fresh_lab.admin("GET", "state").json()
    assert [(g["name"], g["members"]) for g in state["groups"]] == [("SyncIsAllowed", [])]
    assert fresh_lab.requests()["cmdlet:Disconnect-ExchangeOnline"] == 1  # the session was still closed
    again = ok(invoke("policy", "restrict", *members, env=env))
    assert "group   SyncIsAllowed: exists" in again.out and again.out.count(": added") == 2
    tested = ok(invoke("--json", "policy", "test", addr("DiegoS"), addr("AdeleV"), env=env))
    assert [t["access_check_result"] for t in json.loads(tested.out)["tests"]] == ["Granted", "Granted"]


def test_winrm_dropped_while_connecting_is_exit_3(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    fresh_lab.fault(protocol="wsman", operation="Command", kind="drop_before", count=1)
    run = invoke("policy", "list", env=env)
    assert run.code == 3
    assert one_line_error(run).startswith(
        "Error: the WinRM connection to 127.0.0.1 failed during Import-Module, Connect-ExchangeOnline: "
    )
    assert "cmdlet:Get-ApplicationAccessPolicy" not in fresh_lab.requests()
    ok(invoke("policy", "list", env=env))


# --- the lab restarted in the middle of a sync ----------------------------------------------------------------


@pytest.mark.slow
def test_lab_restarted_mid_sync(tmp_path: Path) -> None:
    first = Lab(tmp_path / "lab", latency_ms=20).start()
    port, second = first.port, None
    try:
        env = campaign_env(tmp_path, first.settings_path)
        domain = first.info["tenant"]["domain"]
        assert cli(env, "rooms", "add", f"room-zurich@{domain}", "--name", "Zürich").code == 0
        for p_index, person in enumerate(("DiegoS", "AdeleV", "AlexW", "MeganB")):
            assert cli(env, "persons", "add", f"{person}@{domain}").code == 0
            for b in range(2):
                start = TOMORROW + timedelta(days=p_index, hours=2 * b)
                args = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]
                added = cli(
                    env,
                    "bookings",
                    "add",
                    "--organizer",
                    f"{person}@{domain}",
                    "--room",
                    f"room-zurich@{domain}",
                    *args,
                    "--title",
                    f"{person} {b}",
                )
                assert added.code == 0, added.err
        admin = AdminClient(first.base_url, first.ca_path)
        process = subprocess.Popen(
            [sys.executable, "-m", "roomsops", "sync", "--concurrency", "1"],
            env={**os.environ, **env},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        # stopped while the second mailbox's CreateItem is in flight: the lab applies it, its answer is lost
        while (
            admin.admin("GET", "requests").json().get("ews:CreateItem", 0) < 2 and time.monotonic() < deadline
        ):
            time.sleep(0.002)
        first.stop()  # new connections are refused until the second lab listens
        time.sleep(0.3)
        second = Lab(tmp_path / "lab", port=port, latency_ms=20).start()  # the same tenant, from its files
        out, err = process.communicate(timeout=60)
        assert process.returncode in (0, 1), err
        if process.returncode == 1:
            assert re.search(
                r"FAILED .*(no answer from EWS|connection failed)|the connection dropped during a write", out
            ), out
        run = cli(env, "sync")
        assert run.code == 0, run.out + run.err
        check = check_invariant(AdminClient(second.base_url, second.ca_path), env)
        assert check.ok and check.bookings == 8 and check.meetings == 8, check
    finally:
        first.stop()
        if second is not None:
            second.stop()
