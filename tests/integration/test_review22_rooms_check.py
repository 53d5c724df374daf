"""Review of issue 22 (`rooms check`): each finding of the hostile review as a regression test, against the lab with
the real pypsrp. The fixtures and helpers are test_rooms_check's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from roomsops.adapters.exo.session import Batch, ExchangeSession, Params
from roomsops.cli.context import AppContext
from roomsops.services.policy.model import MAY_HAVE_RUN
from tests.conftest import Invoke, ok, one_line_error
from tests.powershell_tokens import tokenize
from tests.unit.test_store_faults import read_only

from .conftest import Addr, LabHelper, changes
from .test_rooms_check import audit, differences, processing, rooms_check, settings_with, two_rooms
from .test_tenant_change import held

__all__ = ["settings_with", "two_rooms"]  # fixtures used below

pytestmark = pytest.mark.integration

SET = "cmdlet:Set-CalendarProcessing"


def set_records(env: dict[str, str]) -> list[dict[str, Any]]:
    return [r for r in audit(env) if r["action"] == SET]


def before_set(monkeypatch: pytest.MonkeyPatch, act: Any, after: bool = False) -> None:
    """Run `act()` just before (or after) the pipeline of Set-CalendarProcessing statements reaches the lab."""
    original = ExchangeSession.run_batch

    def run_batch(self: ExchangeSession, statements: Sequence[tuple[str, Params]]) -> Batch:
        is_set = bool(statements) and statements[0][0] == "Set-CalendarProcessing"
        if is_set and not after:
            act()
        batch = original(self, statements)
        if is_set and after:
            act()
        return batch

    monkeypatch.setattr(ExchangeSession, "run_batch", run_batch)


@pytest.fixture
def genf(fresh_lab: LabHelper, addr: Addr) -> tuple[str, str]:
    """A room mailbox with an alias: (primary, alias)."""
    primary, alias = addr("room-genf"), addr("geneve")
    made = fresh_lab.admin("POST", "mailboxes", json={"email": primary, "kind": "room", "aliases": [alias]})
    assert made.status_code == 201, made.text
    return primary, alias


# --- finding 1: MaximumDurationInMinutes = 0 (unlimited) in [rooms.profile] was never asked for -------------------


def test_an_unlimited_duration_in_the_profile_is_checked_and_set(
    invoke: Invoke, fresh_lab: LabHelper, settings_with: Any, addr: Addr
) -> None:
    room = addr("room-bern")
    env = settings_with("[rooms.profile]\nMaximumDurationInMinutes = 0\n")
    run, doc = rooms_check(invoke, env, room)
    assert run.code == 1
    assert differences(doc["rooms"][0])["MaximumDurationInMinutes"] == (1440, 0)  # 1440 is not "unlimited"
    ok(invoke("rooms", "check", room, "--fix", "--yes", env=env))
    assert processing(fresh_lab, room)["maximum_duration_in_minutes"] == 0
    assert ok(invoke("rooms", "check", room, env=env)).out.endswith("1 room checked: 1 ok\n")
    # The runbook compares the same way.
    script = ok(invoke("rooms", "check", room, "--print-script", env=env)).out
    assert "if ($Name -eq 'MaximumDurationInMinutes' -and [int] $Want -eq 0) { return $false }" in script


# --- finding 2: a room's own table applied only under the address the room was given by --------------------------


def test_a_rooms_own_table_applies_whichever_of_its_addresses_names_it(
    invoke: Invoke, fresh_lab: LabHelper, settings_with: Any, genf: tuple[str, str]
) -> None:
    primary, alias = genf
    env = settings_with(f'[rooms.profile."{primary.upper()}"]\nProcessExternalMeetingMessages = true\n')
    run, doc = rooms_check(invoke, env, alias)  # the table names the primary, the room is given by its alias
    assert run.code == 1
    assert differences(doc["rooms"][0])["ProcessExternalMeetingMessages"] == (False, True)

    env = settings_with(f'[rooms.profile."{alias}"]\nProcessExternalMeetingMessages = true\n')
    run, doc = rooms_check(invoke, env, primary)  # and the other way round
    assert differences(doc["rooms"][0])["ProcessExternalMeetingMessages"] == (False, True)


def test_one_mailbox_given_by_alias_and_primary_is_set_once_and_stays_fixed(
    invoke: Invoke, fresh_lab: LabHelper, settings_with: Any, genf: tuple[str, str]
) -> None:
    """Before: two Set-CalendarProcessing for one mailbox, and with tables under both addresses that disagree,
    each --fix set one and then the other (never ok, a change every run)."""
    primary, alias = genf
    env = settings_with(
        f'[rooms.profile."{alias}"]\nProcessExternalMeetingMessages = true\nDeleteComments = true\n'
        f'[rooms.profile."{primary}"]\nProcessExternalMeetingMessages = false\n'
    )
    run, doc = rooms_check(invoke, env, alias, primary, "--fix", "--yes")
    assert run.code == 0, run.err
    assert doc["summary"] == {"fixed": 2}
    assert differences(doc["rooms"][0]) == differences(doc["rooms"][1])  # one profile for one mailbox
    assert "ProcessExternalMeetingMessages" not in differences(doc["rooms"][0])  # the primary's table wins
    assert changes(fresh_lab) == {SET: 1}
    assert [r["params"]["Identity"] for r in set_records(env)] == [primary]
    assert processing(fresh_lab, primary)["delete_comments"] is True  # the alias's own value still applies
    assert ok(invoke("rooms", "check", alias, primary, "--fix", "--yes", env=env)).out.endswith(
        "2 rooms checked: 2 ok\n"
    )
    assert changes(fresh_lab) == {SET: 1}


def test_a_table_for_no_room_of_the_database_is_named(
    invoke: Invoke, settings_with: Any, two_rooms: list[str]
) -> None:
    env = settings_with(
        '[rooms.profile."room-zuerich@contoso.com"]\nDeleteComments = true\n'  # a typo: the room is room-zurich
        f'[rooms.profile."{two_rooms[0].upper()}"]\nDeleteComments = true\n'
    )
    run = invoke("rooms", "check", env=env)
    assert run.code == 1
    assert (
        '[rooms.profile."room-zuerich@contoso.com"] names no room of the ROOMS database: its values apply to none'
        in run.err
    )
    assert two_rooms[0].casefold() not in run.err


# --- finding 3: a WinRM drop, Ctrl-C or SIGTERM during --fix left changes without an audit record, and --fix was no
# tenant-changing command (cli.tenant_change): no audit log check first, SIGTERM killed it without a disconnect ---


def interrupted_lines(err: str, reason: str, rooms: list[str]) -> None:
    """The report of an interrupted --fix (reason: the start of why) on stderr: nothing done, each room's
    change not done, as it was running when the run stopped."""
    lines = err.splitlines()
    assert lines[0].startswith(f"Error: rooms check --fix was interrupted ({reason}")
    assert ") — the Exchange session was closed; to finish, run the same command again" in lines[0]
    assert "to undo, set the previous values back with Set-CalendarProcessing" in lines[0]
    assert lines[1:3] == ["done:", "  nothing"] and lines[3] == "not done:"
    assert lines[4:] == [f"  {room}: Set-CalendarProcessing ({MAY_HAVE_RUN})" for room in rooms]


@pytest.mark.parametrize("kind", ["drop_after", "drop_before"])
def test_a_winrm_drop_during_fix_is_audited_as_unknown_and_a_rerun_finishes(
    invoke: Invoke,
    fresh_lab: LabHelper,
    env: dict[str, str],
    two_rooms: list[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    before_set(monkeypatch, lambda: fresh_lab.fault(protocol="wsman", operation="Command", kind=kind))
    run = invoke("rooms", "check", "--fix", "--yes", env=env)
    assert (run.code, run.out) == (1, "")
    reason = "the WinRM connection to 127.0.0.1 failed during Set-CalendarProcessing: "
    interrupted_lines(run.err, reason, two_rooms)
    records = set_records(env)
    assert [r["params"]["Identity"] for r in records] == two_rooms
    assert all(r["result"]["error"].startswith(f"outcome unknown: {reason}") for r in records)
    changed = processing(fresh_lab, two_rooms[0])["delete_subject"] is False
    assert changed is (kind == "drop_after")  # the lab ran the pipeline before it dropped the connection

    monkeypatch.undo()
    fresh_lab.reset_requests()
    run, doc = rooms_check(invoke, env, "--fix", "--yes")
    assert run.code == 0 and doc["summary"] == ({"ok": 2} if changed else {"fixed": 2})
    assert changes(fresh_lab) == ({} if changed else {SET: 2})


def test_ctrl_c_during_fix_is_audited_as_unknown_and_reported(
    invoke: Invoke,
    fresh_lab: LabHelper,
    env: dict[str, str],
    two_rooms: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    before_set(monkeypatch, interrupt, after=True)  # the lab has applied it; the answer never arrives
    run = invoke("rooms", "check", "--fix", "--yes", env=env)
    assert (run.code, run.out) == (130, "")
    interrupted_lines(run.err, "Ctrl-C", two_rooms)
    assert [r["result"] for r in set_records(env)] == [{"error": "outcome unknown: interrupted (Ctrl-C)"}] * 2
    assert fresh_lab.requests()["cmdlet:Disconnect-ExchangeOnline"] == 1


def test_sigterm_during_fix_disconnects_audits_and_lists_the_rooms(
    fresh_lab: LabHelper, env: dict[str, str], two_rooms: list[str], tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "roomsops", "--json", "rooms", "check", "--fix", "--yes"]
    with held("Set-CalendarProcessing") as reached:
        process = subprocess.Popen(
            command,
            env=os.environ | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        try:
            assert reached.wait(timeout=60), "the run never reached Set-CalendarProcessing"
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 143, err
    assert fresh_lab.requests()["cmdlet:Disconnect-ExchangeOnline"] == 1
    doc = json.loads(out)
    assert (doc["ok"], doc["reason"], doc["command"], doc["done"]) == (
        False,
        "SIGTERM",
        "rooms check --fix",
        [],
    )
    assert doc["not_done"] == [f"{room}: Set-CalendarProcessing ({MAY_HAVE_RUN})" for room in two_rooms]
    assert [r["result"] for r in set_records(env)] == [
        {"error": "outcome unknown: interrupted (SIGTERM)"}
    ] * 2


def test_an_unwritable_audit_log_stops_fix_before_anything(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], two_rooms: list[str], tmp_path: Path
) -> None:
    log = Path(env["ROOMSOPS_LOG_AUDIT"])
    log.write_text("", encoding="utf-8")
    fresh_lab.reset_requests()
    with read_only(log):
        run = invoke("rooms", "check", "--fix", "--yes", env=env)
        # A dry run changes nothing, so it needs no audit log.
        dry = invoke("rooms", "check", "--fix", "--dry-run", env=env)
    assert (run.code, run.out) == (2, "")
    assert "cannot be written" in one_line_error(run) and "nothing was changed" in run.err
    assert changes(fresh_lab) == {}
    assert dry.code == 1 and "would be set" in dry.out


# --- finding 4: a read-back that differs blamed the cmdlet ------------------------------------------------------------


def test_a_change_between_set_and_read_back_is_exit_1_naming_it(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], addr: Addr, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = addr("room-zurich")

    def other_admin() -> None:
        answer = fresh_lab.admin(
            "PATCH", f"mailboxes/{room}/calendar-processing", json={"delete_subject": True}
        )
        assert answer.status_code == 200, answer.text

    before_set(monkeypatch, other_admin, after=True)
    run, doc = rooms_check(invoke, env, room, "--fix", "--yes")
    assert run.code == 1 and doc["ok"] is False
    (checked,) = doc["rooms"]
    assert checked["status"] == "failed"
    assert differences(checked) == {"DeleteSubject": (True, False)}
    assert "Set-CalendarProcessing succeeded, but reading it back" in checked["problem"]
    assert [r["result"] for r in set_records(env)] == ["ok"]


# --- finding 5: a read-only check created the database a typo named ---------------------------------------------------


def test_rooms_check_never_creates_a_missing_database(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "typo" / "rooms.db"
    missing.parent.mkdir()
    env = env | {"ROOMSOPS_ROOMS_DATABASE": f"sqlite:///{missing}"}
    for args in ([], ["--fix", "--yes"], ["--print-script"]):
        run = invoke("rooms", "check", *args, env=env)
        assert (run.code, run.out) == (2, "")
        assert one_line_error(run).startswith(f"Error: there is no ROOMS database at {missing}")
    assert list(missing.parent.iterdir()) == []  # neither the database nor an installation id
    assert fresh_lab.requests() == {}


# --- finding 6: the runbook of a check without --fix changed every room -----------------------------------------------


def test_the_runbook_changes_rooms_only_for_fix(invoke: Invoke, env: dict[str, str], addr: Addr) -> None:
    room = addr("room-bern")

    def fix_line(*args: str) -> str:
        text = ok(invoke("rooms", "check", room, "--print-script", *args, env=env)).out
        tokenize(text)
        assert "        if (-not $Fix) { continue }\n        Set-CalendarProcessing" in text
        return next(line for line in text.splitlines() if line.startswith("$Fix = "))

    assert fix_line() == "$Fix = $false"
    assert fix_line("--fix", "--dry-run") == "$Fix = $false"
    assert fix_line("--fix") == "$Fix = $true"


def test_the_runbook_holds_every_rooms_table_and_finds_it_by_any_address(
    invoke: Invoke, settings_with: Any, genf: tuple[str, str]
) -> None:
    primary, alias = genf
    env = settings_with(f'[rooms.profile."{primary}"]\nDeleteComments = true\n')
    text = ok(invoke("rooms", "check", alias, "--print-script", env=env)).out
    assert f"    '{primary}' = [ordered]@{{\n        'DeleteComments' = 'True'\n    }}" in text
    assert "$_.Substring(5) } | Where-Object { $_ -ne $primary } | Sort-Object) + @($primary)" in text


# --- finding 7: on a terminal, --fix asked without showing what it would change ---------------------------------------


def test_fix_on_a_terminal_shows_each_change_before_asking(
    invoke: Invoke,
    fresh_lab: LabHelper,
    env: dict[str, str],
    addr: Addr,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(AppContext, "interactive", property(lambda self: True))
    room = addr("room-bern")
    run = invoke("rooms", "check", room, "--fix", input="n\n", env=env)
    assert run.code == 2, run.err
    shown, question = (
        run.err.index("  DeleteSubject              $true → $false"),
        run.err.index("Change the calendar"),
    )
    assert run.err.index(f"{room} (room-bern): 7 settings differ (would be set)") < shown < question
    assert changes(fresh_lab) == {}
    # --yes, or no terminal: nothing extra on stderr (the result names every change).
    yes = invoke("rooms", "check", room, "--fix", "--yes", env=env)
    assert "would be set" not in yes.err and yes.code == 0


def test_json_of_each_mode_is_one_document(invoke: Invoke, env: dict[str, str], two_rooms: list[str]) -> None:
    for args, code in ((), 1), (("--fix", "--dry-run"), 1), (("--fix",), 2), (("--fix", "--yes"), 0):
        run = invoke("--json", "rooms", "check", *args, env=env)
        assert run.code == code, run.err
        document = json.loads(run.out)
        assert document["ok"] is (code == 0)
