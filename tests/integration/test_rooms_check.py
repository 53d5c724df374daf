"""`roomsops rooms check` against the lab's rooms (Microsoft's calendar processing defaults) with the real pypsrp:
the exact differing settings, `--fix` and its read-back, rooms that are no rooms, the profile in roomsops.toml,
a constant number of pipelines for 60 rooms as for 2, the runbook, and doctor's summary line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from roomsops.core.templates import psquote
from tests.cli.test_readme_json import assert_documented
from tests.conftest import Invoke, Run, ok, one_line_error
from tests.powershell_tokens import string_literals, tokenize

from .conftest import Addr, LabHelper, changes

pytestmark = pytest.mark.integration

#: What a fresh lab room (Microsoft's defaults) differs in from the built-in profile: (current, wanted).
DEFAULTS_DIFFER = {
    "BookingWindowInDays": (180, 365),
    "ConflictPercentageAllowed": (0, 25),
    "MaximumConflictInstances": (0, 5),
    "AddOrganizerToSubject": (True, False),
    "DeleteSubject": (True, False),
    "DeleteComments": (True, False),
    "RemovePrivateProperty": (True, False),
}
#: The lab's admin API names of those settings (GET /lab/mailboxes/<email>/calendar-processing).
LAB_NAMES = {
    "BookingWindowInDays": "booking_window_in_days",
    "ConflictPercentageAllowed": "conflict_percentage_allowed",
    "MaximumConflictInstances": "maximum_conflict_instances",
    "AddOrganizerToSubject": "add_organizer_to_subject",
    "DeleteSubject": "delete_subject",
    "DeleteComments": "delete_comments",
    "RemovePrivateProperty": "remove_private_property",
}


def rooms_check(invoke: Invoke, env: dict[str, str], *args: str) -> tuple[Run, dict[str, Any]]:
    run = invoke("--json", "rooms", "check", *args, env=env)
    return run, json.loads(run.out)


def differences(room: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {d["setting"]: (d["current"], d["wanted"]) for d in room["differences"]}


def processing(lab: LabHelper, address: str) -> dict[str, Any]:
    response = lab.admin("GET", f"mailboxes/{address}/calendar-processing")
    assert response.status_code == 200, response.text
    return dict(response.json())


def audit(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["ROOMSOPS_LOG_AUDIT"])
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )


@pytest.fixture
def two_rooms(invoke: Invoke, env: dict[str, str], addr: Addr) -> list[str]:
    """The lab's two seed rooms in the ROOMS database, in its order (by address)."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", addr("room-bern"), "--name", "Bern", env=env))
    return [addr("room-bern"), addr("room-zurich")]


def test_fresh_rooms_differ_exactly_in_microsofts_defaults_and_fix_yes_fixes_them(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], two_rooms: list[str]
) -> None:
    run, doc = rooms_check(invoke, env)
    assert run.code == 1, run.err
    assert doc["source"] == "database" and doc["summary"] == {"differs": 2}
    assert [r["room"] for r in doc["rooms"]] == two_rooms
    for room in doc["rooms"]:
        assert (room["status"], room["kind"]) == ("differs", "RoomMailbox")
        assert differences(room) == DEFAULTS_DIFFER
        assert all(d["reason"] for d in room["differences"])
    assert_documented("rooms check", doc)
    assert changes(fresh_lab) == {}

    # Without a terminal --fix needs --yes: exit 2, nothing changed; --dry-run changes nothing either.
    refused = invoke("rooms", "check", "--fix", env=env)
    assert (refused.code, refused.out) == (2, "")
    assert "--yes" in one_line_error(refused)
    planned = invoke("rooms", "check", "--fix", "--dry-run", env=env)
    assert planned.code == 1
    assert f"{two_rooms[1]} (Zürich): 7 settings differ (would be set)" in planned.out
    assert changes(fresh_lab) == {}
    assert [r["action"] for r in audit(env)] == ["rooms.add", "rooms.add"]

    run, fixed = rooms_check(invoke, env, "--fix", "--yes")
    assert run.code == 0, run.out
    assert fixed["summary"] == {"fixed": 2}
    assert [differences(r) for r in fixed["rooms"]] == [DEFAULTS_DIFFER, DEFAULTS_DIFFER]
    assert_documented("rooms check", fixed)
    assert "new meeting requests" in run.err
    # One Set-CalendarProcessing per room, in one pipeline, with only the differing parameters, each audited.
    assert changes(fresh_lab) == {"cmdlet:Set-CalendarProcessing": 2}
    records = [r for r in audit(env) if r["action"] == "cmdlet:Set-CalendarProcessing"]
    assert [r["params"]["Identity"] for r in records] == two_rooms
    for record in records:
        assert record["result"] == "ok"
        assert set(record["params"]) == {"Identity", *DEFAULTS_DIFFER}
        assert {k: record["params"][k] for k in DEFAULTS_DIFFER} == {
            k: w for k, (_, w) in DEFAULTS_DIFFER.items()
        }
    for address in two_rooms:  # the lab's own view, not roomsops' reading
        assert {k: processing(fresh_lab, address)[LAB_NAMES[k]] for k in DEFAULTS_DIFFER} == {
            k: w for k, (_, w) in DEFAULTS_DIFFER.items()
        }

    again = invoke("rooms", "check", env=env)
    assert again.code == 0, again.out
    assert again.out == (f"{two_rooms[0]} (Bern): ok\n{two_rooms[1]} (Zürich): ok\n2 rooms checked: 2 ok\n")
    assert changes(fresh_lab) == {"cmdlet:Set-CalendarProcessing": 2}


def test_the_text_report_names_current_wanted_and_why(
    invoke: Invoke, env: dict[str, str], addr: Addr
) -> None:
    run = invoke("rooms", "check", addr("room-bern"), env=env)
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0] == f"{addr('room-bern')} (room-bern): 7 settings differ"
    assert lines[1].split() == [
        "BookingWindowInDays", "180", "→", "at", "least", "365", "ROOMS", "books", "up", "to", "365", "days",
        "ahead", "(rooms.booking_horizon_days):", "the", "room", "declines", "meetings", "beyond", "its", "window",
    ]  # fmt: skip
    subject = next(line for line in lines if line.split()[0] == "AddOrganizerToSubject")
    assert subject.split()[:4] == ["AddOrganizerToSubject", "$true", "→", "$false"]
    assert subject.endswith(
        "with $true the room's calendar shows the organizer's name instead of the subject"
    )
    assert lines[1].index("ROOMS books") == subject.index("with $true")  # the reasons line up
    assert lines[-1] == "1 room checked: 1 differs"


def test_a_user_mailbox_and_a_missing_one_are_reported_with_the_remedy(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], addr: Addr
) -> None:
    given = [addr("DiegoS"), addr("nobody"), addr("room-zurich")]
    run, doc = rooms_check(invoke, env, *given, "--fix", "--yes")
    assert run.code == 1
    rooms = {r["room"]: r for r in doc["rooms"]}
    assert (rooms[given[0]]["status"], rooms[given[0]]["kind"]) == ("not_a_room", "UserMailbox")
    assert "-Type Room" in rooms[given[0]]["remedy"] and rooms[given[0]]["differences"] == []
    assert (rooms[given[1]]["status"], rooms[given[1]]["mailbox"]) == ("not_found", None)
    assert "New-Mailbox -Room" in rooms[given[1]]["remedy"]
    assert rooms[given[2]]["status"] == "fixed"
    assert doc["summary"] == {"fixed": 1, "not_a_room": 1, "not_found": 1}
    assert_documented("rooms check", doc)
    # The user mailbox was never touched.
    assert changes(fresh_lab) == {"cmdlet:Set-CalendarProcessing": 1}
    assert processing(fresh_lab, given[0])["add_organizer_to_subject"] is True

    text = invoke("rooms", "check", addr("DiegoS"), env=env)
    assert text.out.splitlines()[:2] == [
        f"{addr('DiegoS')} (DiegoS): not a room: {addr('DiegoS')} is a UserMailbox, not a room mailbox",
        f"  → give the room's own mailbox, or convert this one: Set-Mailbox -Identity '{addr('DiegoS')}' -Type Room",
    ]


@pytest.fixture
def settings_with(fresh_lab: LabHelper, env: dict[str, str]) -> Iterator[Any]:
    """A copy of the lab's roomsops.toml with more TOML appended (beside it, so its relative paths hold)."""
    made: list[Path] = []

    def write(extra: str) -> dict[str, str]:
        path = fresh_lab.settings_path.with_name(f"roomsops-check-{len(made)}-{id(made)}.toml")
        path.write_text(fresh_lab.settings_path.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
        made.append(path)
        return env | {"ROOMSOPS_SETTINGS": str(path)}

    yield write
    for path in made:
        path.unlink()


def test_the_profile_is_overridden_globally_and_per_room_in_roomsops_toml(
    invoke: Invoke, fresh_lab: LabHelper, settings_with: Any, two_rooms: list[str]
) -> None:
    bern, zurich = two_rooms
    env = settings_with(
        "[rooms.profile]\n"
        "DeleteComments = true\n"
        "ProcessExternalMeetingMessages = true\n"
        f'[rooms.profile."{bern.upper()}"]\n'
        "BookingWindowInDays = 90\n"
        "MaximumConflictInstances = 0\n"
    )
    env["ROOMSOPS_ROOMS_BOOKING_HORIZON_DAYS"] = "400"
    run, doc = rooms_check(invoke, env)
    assert run.code == 1, run.err
    got = {r["room"]: differences(r) for r in doc["rooms"]}
    common = {k: v for k, v in DEFAULTS_DIFFER.items() if k != "DeleteComments"}
    common["ProcessExternalMeetingMessages"] = (False, True)
    assert got[zurich] == common | {"BookingWindowInDays": (180, 400)}
    assert got[bern] == {
        k: v for k, v in common.items() if k not in ("BookingWindowInDays", "MaximumConflictInstances")
    }

    ok(invoke("rooms", "check", "--fix", "--yes", env=env))
    assert processing(fresh_lab, bern)["booking_window_in_days"] == 180  # 180 ≥ 90: more is fine, left alone
    assert processing(fresh_lab, zurich)["booking_window_in_days"] == 400
    assert ok(invoke("rooms", "check", env=env)).out.endswith("2 rooms checked: 2 ok\n")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "[rooms.profile]\nBookingWindowInDays = 2000\n",
            "rooms.profile.BookingWindowInDays in {path} must be a whole number from 0 to 1080, got 2000",
        ),
        (
            '[rooms.profile]\nAutomateProcessing = "Accept"\n',
            "rooms.profile.AutomateProcessing in {path} must be one of None, AutoUpdate, AutoAccept, got 'Accept'",
        ),
        ("[rooms.profile]\nBookingWindow = 30\n", "unknown setting rooms.profile.BookingWindow in {path}"),
        (
            '[rooms.profile."not an address"]\nDeleteSubject = false\n',
            "[rooms.profile.not an address] in {path} is neither a Set-CalendarProcessing parameter nor a room's address",
        ),
    ],
)
def test_a_bad_profile_value_is_exit_2_naming_it_and_nothing_is_read_or_changed(
    invoke: Invoke, fresh_lab: LabHelper, settings_with: Any, addr: Addr, extra: str, message: str
) -> None:
    env = settings_with(extra)
    run = invoke("rooms", "check", addr("room-zurich"), "--fix", "--yes", env=env)
    assert (run.code, run.out) == (2, "")
    assert one_line_error(run).startswith("Error: " + message.format(path=env["ROOMSOPS_SETTINGS"]))
    assert fresh_lab.requests().get("cmdlet:Get-CalendarProcessing", 0) == 0
    assert changes(fresh_lab) == {}


def pipelines(lab: LabHelper) -> int:
    """WinRM pipelines created since the counts were reset (one wsman Command each)."""
    return lab.requests().get("wsman:Command", 0)


def test_60_rooms_take_as_many_pipelines_as_2(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], addr: Addr
) -> None:
    """The pipelines do not grow with the rooms. 60 rooms show it as well as 200 did, at under a third of the
    lab's PSRP work: a pipeline per room, or per chunk of up to 50 rooms, gives more pipelines for 60 than for 2."""
    rooms = 60
    seed = [addr("room-zurich"), addr("room-bern")]
    ok_run = invoke("rooms", "check", *seed, env=env)
    assert ok_run.code == 1
    few = pipelines(fresh_lab)
    assert few > 0
    for number in range(rooms - 2):
        made = fresh_lab.admin("POST", "mailboxes", json={"email": addr(f"room-{number:03}"), "kind": "room"})
        assert made.status_code == 201, made.text
    everyone = [*seed, *(addr(f"room-{number:03}") for number in range(rooms - 2))]

    fresh_lab.reset_requests()
    run, doc = rooms_check(invoke, env, *everyone)
    assert run.code == 1 and doc["summary"] == {"differs": rooms}
    counts = fresh_lab.requests()
    assert counts["cmdlet:Get-CalendarProcessing"] == rooms and counts["cmdlet:Get-Mailbox"] == rooms
    assert pipelines(fresh_lab) == few

    fresh_lab.reset_requests()
    run, doc = rooms_check(invoke, env, "--all-room-mailboxes")
    assert doc["source"] == "tenant" and doc["summary"] == {"differs": rooms}
    assert pipelines(fresh_lab) == few + 1  # the room mailboxes first, then their calendar processing

    fresh_lab.reset_requests()
    run, doc = rooms_check(invoke, env, "--all-room-mailboxes", "--fix", "--yes")
    assert run.code == 0 and doc["summary"] == {"fixed": rooms}
    assert fresh_lab.requests()["cmdlet:Set-CalendarProcessing"] == rooms
    assert pipelines(fresh_lab) == few + 3  # + one pipeline of Set-CalendarProcessing, + one read back


HOSTILE_NAMES = [
    "O'Brien's room",
    "Sitzungszimmer \u2018Eiger\u2019",
    "\u201a$(Remove-Mailbox x)\u201b",
    'Aula "A"; x',
]


def test_print_script_binds_every_value_as_one_quoted_literal_and_connects_nowhere(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], settings_with: Any
) -> None:
    rooms = [f"o\u2019brien{n}$(x)@contoso.com" for n in range(len(HOSTILE_NAMES))]
    for address, name in zip(rooms, HOSTILE_NAMES, strict=True):
        ok(invoke("rooms", "add", address, "--name", name, env=env))
    env = settings_with(f'[rooms.profile."{rooms[0]}"]\nProcessExternalMeetingMessages = true\n')
    fresh_lab.reset_requests()
    run = invoke("rooms", "check", "--fix", "--print-script", "--admin-upn", "admin'@contoso.com", env=env)
    text = ok(run).out
    assert fresh_lab.requests() == {}  # connected nowhere
    tokens = tokenize(text)  # PowerShell's own reading of quotes: raises if a string never closes
    literals = string_literals(text)
    for value in [*HOSTILE_NAMES, "admin'@contoso.com"]:
        assert literals.count(value) == 1, (value, literals)
        assert not any(value in t.text for t in tokens if t.kind not in ("verbatim", "here_verbatim"))
    for address in rooms:
        assert literals.count(address) == 1 + (address == rooms[0])  # the room, and its own profile table
    assert psquote(rooms[0]) in text
    assert ("BookingWindowInDays", "365") == tuple(literals[literals.index("BookingWindowInDays") :][:2])
    assert "Set-CalendarProcessing -Identity $room.Identity @changes" in text
    assert not [t for t in tokens if t.kind == "expandable" and "$(" in t.value]


def test_print_script_for_every_room_mailbox_reads_them_after_signing_in(
    invoke: Invoke, env: dict[str, str]
) -> None:
    text = ok(invoke("rooms", "check", "--all-room-mailboxes", "--print-script", env=env)).out
    assert "$Rooms = $null" in text
    assert "Get-Mailbox -RecipientTypeDetails 'RoomMailbox' -ResultSize 'Unlimited'" in text
    assert "$AdminUpn = Read-Host" in text
    tokenize(text)


def test_no_rooms_in_the_database_is_exit_2_and_rooms_with_all_room_mailboxes_too(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], addr: Addr
) -> None:
    # The database exists, without rooms (rooms check never creates it; a listing no longer does either: fix21u).
    ok(invoke("persons", "add", addr("DiegoS"), "--no-check", env=env))
    run = invoke("rooms", "check", env=env)
    assert (run.code, run.out) == (2, "")
    assert one_line_error(run) == (
        "Error: the ROOMS database has no rooms — add them with 'roomsops rooms add', name them (ROOM...), "
        "or pass --all-room-mailboxes"
    )
    both = invoke("rooms", "check", addr("room-bern"), "--all-room-mailboxes", env=env)
    assert both.code == 2
    assert fresh_lab.requests().get("cmdlet:Get-CalendarProcessing", 0) == 0


def test_doctor_summarises_rooms_check(
    invoke: Invoke, env: dict[str, str], two_rooms: list[str], addr: Addr
) -> None:
    def rooms_line() -> dict[str, Any]:
        run = invoke("--json", "doctor", "--mailbox", addr("DiegoS"), env=env)
        return next(c for c in json.loads(run.out)["checks"] if c["name"] == "rooms")

    line = rooms_line()
    assert (line["status"], line["remedy"]) == ("warning", "roomsops rooms check --fix")
    assert line["message"] == f"2 rooms checked: 2 differs ({two_rooms[0]}, {two_rooms[1]})"
    ok(invoke("rooms", "check", "--fix", "--yes", env=env))
    assert rooms_line() == {
        "name": "rooms",
        "status": "ok",
        "message": "2 rooms checked: 2 ok",
        "remedy": None,
    }
    ok(invoke("rooms", "add", addr("AdeleV"), "--name", "Not a room", env=env))
    line = rooms_line()
    assert line["status"] == "failed" and addr("AdeleV") in line["message"]
