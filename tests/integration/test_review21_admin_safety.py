"""review21: breaking issue 21 ("Safe to run unattended") against the lab, as a new and as a hostile
administrator. Each test fails on main as delivered (a465849)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import changes

pytestmark = pytest.mark.integration
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def calendar(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return list(lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"])


def db_digest(env: dict[str, str]) -> str:
    path = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///"))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checked(env: dict[str, str]) -> dict[str, str]:
    """The env with the Exchange look-up of persons and rooms on (campaign_env turns it off)."""
    return {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


# --- Finding 1: "closest" suggests an unrelated mailbox for any unknown address in the tenant's domain ---------


@pytest.mark.parametrize("command", ["persons", "rooms", "policy"])
def test_an_unknown_address_is_not_answered_with_an_unrelated_mailbox(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, command: str
) -> None:
    """`nobody@<domain>` shares only the domain with every mailbox; difflib over the whole address finds
    every mailbox of the domain "close" (the domain is most of the string), so the remedy said
    "use AlexW@…" / "did you mean MeganB@…": an administrator following it records or grants the wrong
    mailbox. A suggestion must share more than the domain (or there must be none)."""
    unknown = addr("nobody")
    args = {
        "persons": ("persons", "add", unknown),
        "rooms": ("rooms", "add", unknown, "--name", "Nowhere"),
        "policy": ("policy", "restrict", "--member", unknown),
    }[command]
    run = invoke(*args, env=checked(env))
    assert run.code == 2, run.out + run.err
    assert changes(fresh_lab) == {}
    suggested = [
        m
        for m in ("DiegoS", "AdeleV", "AlexW", "MeganB", "LeeG", "room-zurich", "room-bern")
        if addr(m) in run.err
    ]
    assert suggested == [], run.err


# --- Finding 2: persons set --email onto another mailbox orphans the meetings already synced ---------------------


def test_renaming_a_person_onto_another_mailbox_leaves_no_orphaned_meeting(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """DiegoS's booking is synced into DiegoS's calendar; `persons set DiegoS --email MeganB` (both real
    mailboxes, so the Exchange check passes) was accepted. The next sync said "1 unchanged" with MeganB's
    calendar empty, and after `bookings cancel` the sync said "1 cancelled" while DiegoS's meeting (with the
    room invited) stayed in his calendar, uncancelled. Either the rename of a person whose meetings live in
    another mailbox is refused (exit 2, nothing changed), or the meetings follow/are cancelled: never a
    meeting left in the old calendar while ROOMS says cancelled."""
    ok(
        invoke(
            "policy",
            "restrict",
            "--member",
            addr("DiegoS"),
            "--member",
            addr("MeganB"),
            "--member",
            addr("room-zurich"),
            env=env,
        )
    )
    ok(invoke("persons", "add", addr("DiegoS"), "--name", "Diego", env=env))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            TOMORROW.isoformat(),
            "--end",
            (TOMORROW + timedelta(hours=1)).isoformat(),
            "--title",
            "Rename me",
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    assert [i["subject"] for i in calendar(fresh_lab, addr("DiegoS"))] == ["Rename me"]

    before = db_digest(env)
    renamed = invoke("persons", "set", addr("DiegoS"), "--email", addr("MeganB"), env=checked(env))
    if renamed.code == 2:
        assert db_digest(env) == before
        return
    assert renamed.code == 0, renamed.out + renamed.err
    invoke("sync", env=env)
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    invoke("sync", env=env)
    left = [i for i in calendar(fresh_lab, addr("DiegoS")) if not i.get("is_cancelled")]
    assert left == [], f"meeting left in the old organizer's calendar: {left}"


# --- Finding 3: `sync status` trusts summary files a monitor must not trust ---------------------------------------


def summary(started: datetime, **changes: Any) -> str:
    doc: dict[str, Any] = {
        "started": started.isoformat(),
        "finished": started.isoformat(),
        "dry_run": False,
        "mailboxes": [],
        "not_handled": [],
        "skipped_sync_mode": {},
        "ok": True,
    }
    doc.update(changes)
    return json.dumps(doc)


def test_sync_status_of_a_future_dated_summary_is_not_healthy(invoke: Invoke, env: dict[str, str]) -> None:
    """A summary that started a year from now (the ROOMS server's clock was wrong for one run, then put
    right) was "ok, 0 min ago" with exit 0 even with --max-age 1h: it stays so for a year while the
    scheduled sync may have stopped. A start in the future is a problem for a monitor (exit 1, said)."""
    Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).write_text(summary(datetime.now(UTC) + timedelta(days=365)))
    run = invoke("sync", "status", "--max-age", "1h", env=env)
    assert run.code == 1, run.out + run.err
    assert "future" in run.out, run.out


@pytest.mark.parametrize(
    "changes",
    [{"mailboxes": 5}, {"mailboxes": "DiegoS"}, {"ok": "yes"}, {"ok": 1}, {"error": "boom", "ok": True}],
    ids=["mailboxes-int", "mailboxes-str", "ok-string", "ok-int", "error-string"],
)
def test_sync_status_of_a_damaged_summary_is_exit_1_said_plainly(
    invoke: Invoke, env: dict[str, str], changes: dict[str, Any]
) -> None:
    """A summary edited or half-written by something else: `"mailboxes": 5` was "Error: unexpected TypeError …
    report it"; `"ok": "yes"` was a healthy run (exit 0). The status of a summary whose shape is not the
    sync's is "unreadable summary" (exit 1), never a crash and never ok."""
    Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).write_text(summary(datetime.now(UTC), **changes))
    run = invoke("sync", "status", env=env)
    assert run.code == 1, run.out + run.err
    assert "unexpected" not in run.err and "unreadable summary" in run.out, run.out + run.err


def test_sync_status_of_an_unreadable_summary_prints_no_none(invoke: Invoke, env: dict[str, str]) -> None:
    """It printed "started None, None min ago; error: unreadable summary: …"."""
    Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).write_text('{"started": "garbage"')
    run = invoke("sync", "status", env=env)
    assert run.code == 1 and "unreadable summary" in run.out
    assert "None" not in run.out, run.out


# --- Finding 4: `persons import` bypasses the Exchange check that `persons add` makes -----------------------------


def test_persons_import_checks_the_addresses_as_persons_add_does(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    """README step 5 is `persons import persons.csv`; with rooms.check_addresses on, `persons add` refuses an
    alias (adele@) and an address no mailbox has, but the import recorded both (exit 0) — and then every sync
    of them fails, the very mistake issue 21.2 is about. Expected: exit 2 naming both rows, nothing imported."""
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    before = db_digest(env)
    csv = tmp_path / "persons.csv"
    csv.write_text(
        "email,name,sync_mode,sync_url,conflict_behaviour\n"
        f"{addr('LeeG')},Lee,O365,,\n{addr('nobody')},,O365,,\n{addr('adele')},Adele,O365,,\n",
        encoding="utf-8",
    )
    run = invoke("persons", "import", str(csv), env=checked(env))
    assert run.code == 2, run.out + run.err
    assert addr("nobody") in run.err and addr("adele") in run.err, run.err
    assert db_digest(env) == before


def test_a_semicolon_separated_csv_is_named_as_such(
    invoke: Invoke, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    """Excel's "CSV UTF-8 (Comma delimited)" (the remedy given for a workbook) writes ';' on Windows with a Swiss
    or German list separator. The header was refused with "make the first line exactly email,name,… (comma-
    separated)": fixing the first line, as told, leaves every row still separated by ';'. Either the file is
    read, or the error says the file is separated by semicolons."""
    csv = tmp_path / "persons.csv"
    csv.write_bytes(
        b"\xef\xbb\xbfemail;name;sync_mode;sync_url;conflict_behaviour\r\n"
        + f"{addr('LeeG')};Lee;O365;;\r\n".encode()
    )
    run = invoke("persons", "import", str(csv), env=env)
    if run.code == 0:
        return
    assert run.code == 2 and "semicolon" in run.err.replace(str(csv), "FILE").lower(), run.err


# --- Finding 5: `rooms remove` / `persons remove` delete bookings, and their ids are given again --------------------


def test_a_booking_id_freed_by_rooms_remove_never_adopts_the_old_meeting(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Booking 1 (DiegoS, AdeleV invited) is synced; Diego deletes the meeting in Outlook (the sync cancels the
    booking); `rooms remove` deletes the cancelled booking; the next booking gets id 1 again (SQLite reuses the
    highest rowid). Diego restores the old meeting from Deleted Items. The new booking's CreateItem answer is
    lost: the recovery looks the meeting up by its tag, booking 1, finds the OLD meeting and adopts it — Adele
    got "Canceled: OLD", the meeting Diego restored was rewritten into the new booking. Booking ids must not
    be reused once meetings carry them (or the lookup must not match a meeting of another booking)."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--member", addr("room-zurich"), env=env))
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            TOMORROW.isoformat(),
            "--end",
            (TOMORROW + timedelta(hours=1)).isoformat(),
            "--title",
            "OLD",
            "--attendee",
            addr("AdeleV"),
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    (old,) = calendar(fresh_lab, addr("DiegoS"))
    base = f"/lab/mailboxes/{addr('DiegoS')}/calendar"
    trashed = fresh_lab.admin("DELETE", f"{base}/{old['id']}?cancel=false")
    assert trashed.status_code == 200, trashed.text
    ok(invoke("sync", env=env))  # the booking is cancelled
    # --leave-meetings: a removal otherwise waits out the hour in which the room may still answer the deleted
    # meeting (fix20e); this test is about the booking id given again, not that wait.
    ok(invoke("rooms", "remove", addr("room-zurich"), "--yes", "--leave-meetings", env=env))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    restored = fresh_lab.admin("POST", f"{base}/{trashed.json()['item']['id']}/restore")
    assert restored.status_code == 200, restored.text
    later = TOMORROW + timedelta(days=2)
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            later.isoformat(),
            "--end",
            (later + timedelta(hours=1)).isoformat(),
            "--title",
            "NEW",
            env=env,
        )
    )
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_after", count=1)
    invoke("sync", env=env)
    invoke("sync", env=env)
    adele = [(i["subject"], i["is_cancelled"]) for i in calendar(fresh_lab, addr("AdeleV"))]
    assert adele == [("OLD", False)], adele
    subjects = sorted(i["subject"] for i in calendar(fresh_lab, addr("DiegoS")))
    assert subjects == ["NEW", "OLD"], subjects


# --- Finding 6: two administrators running `policy restrict` at once ---------------------------------------------


def test_a_group_made_by_another_admin_meanwhile_is_used_or_said_with_a_remedy(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Admin B creates SyncIsAllowed (with DiegoS) while admin A's `policy restrict --member AdeleV` has read
    the tenant and found no group. A's New-DistributionGroup then failed and A exited 1 with the raw
    Exchange line 'Error: New-DistributionGroup failed: The name "SyncIsAllowed" is already being used. Please
    try another name. ([Server=…])' — no remedy (and "try another name" is the wrong advice: the group is
    the one wanted), AdeleV not in the group. Either A uses the group now there, or it says in one line that
    the group was made meanwhile and to run the command again (nothing else changed)."""
    from .test_faults import when_counted

    def other_admin() -> None:
        made = fresh_lab.admin(
            "POST", "groups", json={"name": "SyncIsAllowed", "type": "Security", "members": ["DiegoS"]}
        )
        assert made.status_code in (200, 201), made.text

    fresh_lab.settings(latency_ms=300)  # A's next request comes >= 300 ms after its first Get-Mailbox
    try:
        with when_counted(fresh_lab, "cmdlet:Get-Mailbox", 1, other_admin) as armed:
            run = invoke("policy", "restrict", "--member", addr("AdeleV"), env=env)
        assert armed.is_set()
    finally:
        fresh_lab.settings(latency_ms=0)
    state = fresh_lab.admin("GET", "state").json()
    (group,) = [g for g in state["groups"] if g["name"] == "SyncIsAllowed"]
    if run.code == 0:
        assert len(group["members"]) == 2
        return
    line = run.err.strip()
    assert run.err.count("\n") == 1 and " — " in line and "again" in line.split(" — ", 1)[1], run.err
    assert "try another name" not in line, line
    assert state["application_access_policies"] == []


# --- Finding 7: a credential in another case survives `config set` of the other kind ------------------------------


def test_setting_a_secret_removes_a_thumbprint_spelled_in_another_case(
    invoke: Invoke, tmp_path: Path, env: dict[str, str]
) -> None:
    """ "A credential kind replaces the other" — but `config set ExchangeClientSecret` left
    `exchangecertthumbprint` (lower case) in place: .NET reads keys case-insensitively, so ROOMS sees both
    credentials; and `config check` said "credential ok: client secret". Exactly one credential must remain,
    and config check must see a credential in any case."""
    path = tmp_path / "RoomsAppSettings.config"
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n<RoomsAppSettings>\n'
        '  <add key="ExchangeTenantId" value="1d6e9777-b8df-4289-b9c9-5e42c6f2eaa2" />\n'
        '  <add key="ExchangeAppId" value="e71555bd-8c0c-4b07-a839-5cd3d2fc143f" />\n'
        '  <add key="exchangecertthumbprint" value="3A7F5C19D26B8E440F1A2B3C4D5E6F708192A3B4" />\n'
        "%s</RoomsAppSettings>\n"
    )
    path.write_text(text % '  <add key="ExchangeClientSecret" value="abc~def" />\n', encoding="utf-8")
    check = invoke("--app-settings", str(path), "--json", "config", "check", env=env)
    credential = [c for c in json.loads(check.out)["checks"] if c["name"] == "credential"]
    assert credential and credential[0]["status"] == "failed", credential

    path.write_text(text % "", encoding="utf-8")
    ok(
        invoke(
            "--app-settings",
            str(path),
            "config",
            "set",
            "ExchangeClientSecret",
            "-",
            "--yes",
            input="s3cret~value\n",
            env=env,
        )
    )
    assert "thumbprint" not in path.read_text(encoding="utf-8").lower(), path.read_text(encoding="utf-8")


# --- Finding 8: a synced booking moved into the past (--allow-past) is sent to its attendees ------------------------


def test_a_booking_moved_into_the_past_is_not_sent_to_attendees(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Issue 21.11: bookings in the past are "never sent as invitations"; a new one with --allow-past is
    skipped ("past"). But `bookings update 1 --start <yesterday> --allow-past` of a synced booking made the
    next sync send the update: AdeleV's copy moved to yesterday (UpdateItem with notices). A booking that is
    over is not sent to anyone, whether it was added or moved there."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            TOMORROW.isoformat(),
            "--end",
            (TOMORROW + timedelta(hours=1)).isoformat(),
            "--title",
            "Moved back",
            "--attendee",
            addr("AdeleV"),
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    (copy,) = calendar(fresh_lab, addr("AdeleV"))
    yesterday = TOMORROW - timedelta(days=2)
    ok(
        invoke(
            "bookings",
            "update",
            "1",
            "--start",
            yesterday.isoformat(),
            "--end",
            (yesterday + timedelta(hours=1)).isoformat(),
            "--allow-past",
            env=env,
        )
    )
    invoke("sync", env=env)
    (after,) = calendar(fresh_lab, addr("AdeleV"))
    assert after["start"] == copy["start"], f"the attendee was sent the move into the past: {after['start']}"


# --- Finding 9: `persons remove` of a person no longer synced: the remedy "run 'roomsops sync'" never settles ---------


def test_removing_a_person_whose_sync_mode_changed_has_a_remedy_that_works(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """DiegoS's booking is synced; his sync mode is then set to None (he moves to another sync);
    `persons remove --cancel-bookings` says "NOT removed yet … run 'roomsops sync' (it cancels them), then
    'roomsops persons remove …' again" — but the sync does not handle sync mode None ("not handled"), so the
    meeting is never cancelled and the person can never be removed: the remedy loops. The remedy must name a
    command that settles it (e.g. sync purge, or handle the cancellation whatever the mode)."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            TOMORROW.isoformat(),
            "--end",
            (TOMORROW + timedelta(hours=1)).isoformat(),
            "--title",
            "Leaving",
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    ok(invoke("persons", "set", addr("DiegoS"), "--sync-mode", "None", env=env))
    first = invoke("persons", "remove", addr("DiegoS"), "--cancel-bookings", "--yes", env=env)
    if first.code == 0:
        return
    assert "leaves them" not in first.out, first.out  # review20b: the sync does cancel them
    if f"run 'roomsops sync purge --person {addr('DiegoS')} --yes'" in first.out:  # the remedy, as given
        ok(invoke("sync", "purge", "--person", addr("DiegoS"), "--yes", env=env))
    else:
        assert "run 'roomsops sync'" in first.out, first.out + first.err
        invoke("sync", env=env)
    again = invoke("persons", "remove", addr("DiegoS"), "--yes", env=env)
    assert again.code == 0, again.out + again.err


def test_removing_a_room_booked_by_a_person_no_longer_synced_has_a_remedy_that_works(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """The room variant of the loop: `rooms remove --cancel-bookings` waits for "run 'roomsops sync'", which
    never cancels the meeting of an organizer in sync mode None, so the room can never be removed (and a
    `sync purge --person` would take all of that person's meetings, not only this room's)."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            TOMORROW.isoformat(),
            "--end",
            (TOMORROW + timedelta(hours=1)).isoformat(),
            "--title",
            "Room going",
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    ok(invoke("persons", "set", addr("DiegoS"), "--sync-mode", "None", env=env))
    first = invoke("rooms", "remove", addr("room-zurich"), "--cancel-bookings", "--yes", env=env)
    if first.code == 0:
        return
    assert "run 'roomsops sync'" in first.out, first.out + first.err
    invoke("sync", env=env)  # the remedy, as given
    again = invoke("rooms", "remove", addr("room-zurich"), "--yes", env=env)
    assert again.code == 0, again.out + again.err


# --- Finding 10: WinRM dropped while `policy restrict` resolves the members ------------------------------------------


def test_winrm_dropped_while_resolving_members_is_exit_3_with_nothing_claimed_done(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """The WinRM connection drops during the Get-Mailbox look-up of the members (before any change): restrict
    exited 1 with "…failed during Get-Mailbox: …; the steps before it were done — …" although nothing was
    done (no change in the tenant). No work begun is exit 3 (README: could not connect before doing any
    work; test_faults pins "work had begun: not 3" for the other case), and nothing is claimed done."""
    from .test_faults import when_counted

    # nobody@ is not found, so restrict reads the mailboxes for the closest one: that read is dropped.
    fault = {"protocol": "wsman", "operation": "Command", "kind": "drop_before", "count": 1}
    fresh_lab.settings(latency_ms=100)
    try:
        with when_counted(fresh_lab, "cmdlet:Get-Mailbox", 1, lambda: fresh_lab.fault(**fault)) as armed:
            run = invoke(
                "policy", "restrict", "--member", addr("DiegoS"), "--member", addr("nobody"), env=env
            )
        assert armed.is_set()
    finally:
        fresh_lab.settings(latency_ms=0)
    assert changes(fresh_lab) == {}
    assert "were done" not in run.err, run.err
    assert run.code == 3, run.err
