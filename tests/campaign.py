"""The sync's invariant, read from the lab's own calendar view, and the crash campaign that SIGKILLs `roomsops sync`.

Shared by tests/integration/test_faults.py and tests/integration/test_crash_campaign.py (small sizes) and by
scripts/crash-campaign (the full size: 20 kills of a 100-mailbox sync). It uses no pytest fixture: the script
imports it by path. It drives ROOMS through the CLI (in-process, click's runner) and Exchange through the lab's
admin API, and never reads roomsops' own view of Exchange.

The invariant, after a normal run:
  * every active booking of a synced person has exactly one meeting in the organizer's calendar tagged with its
    id, and that meeting's fields equal the booking's (subject, start, end, location, room, attendees, reminder,
    sensitivity, free/busy);
  * a cancelled booking has no meeting left in the calendar; no tagged meeting belongs to no booking;
  * nothing is lost: a ROOMS edit is on both sides, an Outlook-only edit is in the booking, a meeting deleted in
    Outlook cancelled its booking, and a both-sides edit left ROOMS' value on both sides with Outlook's value
    recorded as a difference (`sync diff`).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from click.testing import CliRunner

BOOKING_TAG = "roomsops-booking"
INSTALLATION_TAG = "roomsops-installation"
EWS_WRITES = ("ews:CreateItem", "ews:UpdateItem", "ews:DeleteItem")


class LabAdmin(Protocol):
    """What the checker needs of a lab: its admin API (tests' LabHelper and `AdminClient` both fit)."""

    def admin(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any: ...


class AdminClient:
    """The admin API of a lab started by a script (`roomsops.lab.Lab`)."""

    def __init__(self, base_url: str, ca: str | Path) -> None:
        import requests

        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        self.session.verify = str(ca)
        # The admin API's token lies in lab.json beside the lab's CA (DIR/ca.pem, DIR/lab.json).
        info = json.loads((Path(ca).parent / "lab.json").read_text(encoding="utf-8"))
        self.session.headers["Authorization"] = f"Bearer {info['admin_api']['token']}"

    def admin(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        url = f"{self.base_url}{path}" if path.startswith("/") else f"{self.base_url}/lab/{path}"
        return self.session.request(method, url, json=json, timeout=30, **kwargs)


# --- the CLI ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliRun:
    code: int
    out: str
    err: str


def cli(env: Mapping[str, str], *args: str, input: str | None = None) -> CliRun:
    """`roomsops ARGS` in this process with `env` set (ROOMSOPS_* settings), like a second terminal would."""
    from roomsops.cli import cli as command

    result = CliRunner().invoke(command, list(args), input=input, env=dict(env), catch_exceptions=False)
    return CliRun(result.exit_code, result.stdout, result.stderr)


def ok(run: CliRun) -> CliRun:
    if run.code != 0:
        raise AssertionError(f"exit {run.code}: {run.out}{run.err}")
    return run


def cli_json(env: Mapping[str, str], *args: str) -> Any:
    return json.loads(ok(cli(env, "--json", *args)).out)


# --- reading both sides -------------------------------------------------------------------------------------


def calendar(lab: LabAdmin, mailbox: str) -> list[dict[str, Any]]:
    """The mailbox's calendar folder as the lab holds it (not as roomsops reads it)."""
    response = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar")
    response.raise_for_status()
    return list(response.json()["items"])


def tag(item: Mapping[str, Any], name: str) -> str | None:
    """The tag's value; for BOOKING_TAG the booking id it names (the tag is `<id>:<key>` since schema 8)."""
    value = next((p["value"] for p in item["extended_properties"] if p["property_name"] == name), None)
    return value.partition(":")[0] if name == BOOKING_TAG and value is not None else value


def installation_of(database_url: str) -> str:
    """The installation id a roomsops SQLite database tags its meetings with."""
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return str(conn.execute("SELECT installation_id FROM installation").fetchone()[0])


@dataclass
class Expectations:
    """What the edits made so far must have led to (nothing lost)."""

    titles: dict[int, str] = field(default_factory=dict)  # booking id -> its title (ROOMS or Outlook edit)
    cancelled: set[int] = field(default_factory=set)  # cancelled in ROOMS, or its meeting deleted in Outlook
    differences: dict[int, str] = field(default_factory=dict)  # booking id -> Outlook subject kept as a diff
    new_differences: set[int] = field(default_factory=set)  # of those, the ones edited since the last pass


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def meeting_differs(booking: Mapping[str, Any], item: Mapping[str, Any]) -> list[str]:
    """The fields in which the meeting is not the booking (empty: equal)."""
    wanted = {
        "subject": booking["title"],
        "start": _utc(booking["start"]),
        "end": _utc(booking["end"]),
        "location": booking["room_name"],
        "room": [booking["room"].lower()],
        "attendees": sorted(a.lower() for a in booking["attendees"]),
        "reminder": booking["reminder_minutes"],
        "sensitivity": "Private" if booking["private"] else "Normal",
        "free_busy": booking["free_busy"],
    }
    found = {
        "subject": item["subject"],
        "start": _utc(item["start"]),
        "end": _utc(item["end"]),
        "location": item["location"] or "",
        "room": [r["email"].lower() for r in item["resources"]],
        "attendees": sorted(a["email"].lower() for a in item["required_attendees"]),
        "reminder": item["reminder"],
        "sensitivity": item["sensitivity"],
        "free_busy": item["free_busy"],
    }
    return [
        f"{name}: booking {wanted[name]!r}, meeting {found[name]!r}"
        for name in wanted
        if wanted[name] != found[name]
    ]


@dataclass(frozen=True)
class Check:
    problems: tuple[str, ...]
    notes: tuple[str, ...]  # not invariant violations, but worth a look (e.g. a difference with equal sides)
    bookings: int
    meetings: int

    @property
    def ok(self) -> bool:
        return not self.problems


def check_invariant(
    lab: LabAdmin, env: Mapping[str, str], expect: Expectations | None = None, installation: str | None = None
) -> Check:
    """The invariant (module docstring) over every booking of the database `env` names, against the lab."""
    expect = expect or Expectations()
    installation = installation or installation_of(env["ROOMSOPS_ROOMS_DATABASE"])
    bookings = cli_json(env, "bookings", "list")["bookings"]
    synced = {p["email"].lower() for p in cli_json(env, "persons", "list")["persons"] if p["handled_by_sync"]}
    differences = cli_json(env, "sync", "diff")["differences"]
    problems: list[str] = []
    notes: list[str] = []
    by_id = {b["id"]: b for b in bookings}
    meetings: dict[str, list[dict[str, Any]]] = {}
    calendars = {}
    for organizer in sorted({b["organizer"] for b in bookings if b["organizer"].lower() in synced}):
        items = [
            i
            for i in calendar(lab, organizer)
            if tag(i, INSTALLATION_TAG) == installation
            and i["organizer"].lower() == organizer.lower()
            and not i["is_cancelled"]
        ]
        calendars[organizer.lower()] = items
        for item in items:
            meetings.setdefault(tag(item, BOOKING_TAG) or "", []).append(item)
    for key, items in meetings.items():
        if not key.isdigit() or int(key) not in by_id:
            problems.append(f"{len(items)} meeting(s) tagged with booking {key!r}, which does not exist")
    for booking in bookings:
        if booking["organizer"].lower() not in synced:
            continue
        bid, mine = booking["id"], meetings.get(str(booking["id"]), [])
        label = f"booking {bid} ({booking['title']})"
        if booking["status"] == "active":
            if len(mine) != 1:
                problems.append(f"{label}: {len(mine)} meetings, expected exactly one")
            elif diff := meeting_differs(booking, mine[0]):
                problems.append(f"{label}: meeting differs: {'; '.join(diff)}")
        elif booking["status"] == "cancelled" and mine:
            problems.append(f"{label} is cancelled, but {len(mine)} meeting(s) remain")
        if bid in expect.titles and booking["title"] != expect.titles[bid]:
            problems.append(f"{label}: lost an edit, the title should be {expect.titles[bid]!r}")
        if bid in expect.cancelled and booking["status"] != "cancelled":
            problems.append(f"{label}: lost a cancellation, the status is {booking['status']}")
    recorded: dict[int, list[dict[str, Any]]] = {}
    for difference in differences:
        recorded.setdefault(difference["booking_id"], []).append(difference)
        same = [
            name
            for name in difference["fields"]
            if difference["rooms_state"].get(name) == difference["exchange_state"].get(name)
        ]
        if same and len(same) == len(difference["fields"]):
            notes.append(
                f"booking {difference['booking_id']}: a {difference['kind']} difference whose two sides are equal "
                f"({', '.join(same)})"
            )
    for bid, subject in expect.differences.items():
        if any(d["exchange_state"].get("subject") == subject for d in recorded.get(bid, [])):
            continue
        if bid in expect.new_differences:
            problems.append(f"booking {bid}: the Outlook subject {subject!r} is recorded in no difference")
        else:  # recorded by an earlier pass (checked then), replaced since by a newer difference of the booking
            notes.append(
                f"booking {bid}: the difference recording the Outlook subject {subject!r} was replaced"
            )
    return Check(tuple(problems), tuple(notes), len(bookings), sum(len(v) for v in meetings.values()))


# --- the campaign ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    mailboxes: int = 10
    kills: int = 5
    bookings_each: int = 2
    latency_ms: int = 15
    seed: int = 12
    concurrency: int = 1  # 1: the k-th EWS request is the same one on every run (a reproducible campaign)


@dataclass
class Round:
    number: int
    kill_at: int  # EWS requests counted when the SIGKILL was sent
    killed: bool  # False: the run ended before the kill point
    ews_before_kill: int
    killed_after_s: float
    normal_exit: int
    check: Check
    normal_output: str = ""


@dataclass
class CampaignResult:
    size: Size
    rounds: list[Round]
    final: Check
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.check.ok and r.normal_exit == 0 for r in self.rounds) and self.final.ok

    def lines(self) -> list[str]:
        out = [
            f"crash campaign: {self.size.mailboxes} mailboxes, {self.size.kills} kills, seed {self.size.seed}, "
            f"lab latency {self.size.latency_ms} ms, killed runs with --concurrency {self.size.concurrency}"
        ]
        for r in self.rounds:
            where = (
                f"SIGKILL at EWS request {r.ews_before_kill} ({r.killed_after_s:.2f} s)"
                if r.killed
                else f"ended before EWS request {r.kill_at}"
            )
            verdict = "ok" if r.check.ok and r.normal_exit == 0 else "VIOLATED"
            out.append(
                f"  round {r.number:2}: {where}; normal run exit {r.normal_exit}; "
                f"{r.check.bookings} bookings, {r.check.meetings} meetings: {verdict}"
            )
            if r.normal_exit != 0:
                out += [
                    f"      normal run: {line}"
                    for line in r.normal_output.splitlines()
                    if "fail" in line.lower()
                ]
            out += [f"      {p}" for p in r.check.problems]
            out += [f"      note: {n}" for n in r.check.notes]
        killed = sum(r.killed for r in self.rounds)
        out.append(
            f"{'INVARIANT HELD' if self.ok else 'INVARIANT VIOLATED'}: {killed} of {len(self.rounds)} kills landed "
            f"inside a run; {self.final.bookings} bookings, {self.final.meetings} meetings; {self.seconds:.1f} s"
        )
        return out


class _World:
    """The campaign's ROOMS data: persons, rooms, free slots; and the edits it made (Expectations)."""

    def __init__(self, lab: LabAdmin, env: Mapping[str, str], domain: str, size: Size) -> None:
        self.lab, self.env, self.domain, self.size = lab, env, domain, size
        self.rng = random.Random(size.seed)
        self.persons = [f"crash{i:03d}@{domain}" for i in range(size.mailboxes)]
        self.rooms = [f"crash-room{j:02d}@{domain}" for j in range(max(2, size.mailboxes // 5))]
        self.base = (datetime.now(UTC) + timedelta(days=1)).replace(hour=5, minute=0, second=0, microsecond=0)
        self.next_slot = 0
        self.expect = Expectations()

    def slot(self) -> tuple[str, str, str]:
        """A (room, start, end) no other booking ever used: every slot is its own hour."""
        index, self.next_slot = self.next_slot, self.next_slot + 1
        start = self.base + timedelta(hours=index)
        room = self.rooms[index % len(self.rooms)]
        return room, start.isoformat(), (start + timedelta(minutes=45)).isoformat()

    def seed(self) -> None:
        for address, kind in [*((p, "user") for p in self.persons), *((r, "room") for r in self.rooms)]:
            response = self.lab.admin(
                "POST",
                "/lab/mailboxes",
                json={"email": address, "display_name": address.split("@")[0], "kind": kind},
            )
            if response.status_code not in (201, 409):
                response.raise_for_status()
        for room in self.rooms:
            ok(cli(self.env, "rooms", "add", room, "--name", f"Room {room.split('@')[0][-2:]}"))
        for person in self.persons:
            ok(cli(self.env, "persons", "add", person, "--sync-mode", "O365"))
            for b in range(self.size.bookings_each):
                self.add_booking(person, f"{person.split('@')[0]} meeting {b}")

    def add_booking(self, person: str, title: str) -> int:
        room, start, end = self.slot()
        attendee = self.rng.choice([p for p in self.persons if p != person])
        args = ["--attendee", attendee] if self.rng.random() < 0.5 else []
        doc = cli_json(
            self.env,
            "bookings",
            "add",
            "--organizer",
            person,
            "--room",
            room,
            "--start",
            start,
            "--end",
            end,
            "--title",
            title,
            "--reminder",
            str(self.rng.choice([5, 15, 30])),
            *args,
        )
        return int(doc["booking"]["id"])

    def active(self) -> list[dict[str, Any]]:
        return [b for b in cli_json(self.env, "bookings", "list")["bookings"] if b["status"] == "active"]

    def meeting_of(self, booking: Mapping[str, Any]) -> dict[str, Any] | None:
        installation = installation_of(self.env["ROOMSOPS_ROOMS_DATABASE"])
        return next(
            (
                i
                for i in calendar(self.lab, booking["organizer"])
                if tag(i, BOOKING_TAG) == str(booking["id"]) and tag(i, INSTALLATION_TAG) == installation
            ),
            None,
        )

    def edit(self, number: int) -> int:
        """Edits on both sides before a run; returns how many EWS requests the next run makes at least."""
        n = max(1, self.size.mailboxes // 5)
        self.expect.new_differences.clear()
        active = self.active()
        self.rng.shuffle(active)
        picks = iter(active)
        written: set[str] = set()  # mailboxes where the run writes: + the write and the catch-up
        read: set[str] = set()  # mailboxes where the run reads a changed meeting: + one GetItem

        def take(count: int, touched: set[str]) -> list[dict[str, Any]]:
            chosen = [b for _, b in zip(range(count), picks, strict=False)]
            touched.update(b["organizer"] for b in chosen)
            return chosen

        for booking in take(n, written):  # ROOMS: a new title
            title = f"R{number}-{booking['id']} Zoë's plan"
            ok(cli(self.env, "bookings", "update", str(booking["id"]), "--title", title))
            self.expect.titles[booking["id"]] = title
        for booking in take(n, written):  # ROOMS: another (free) slot, maybe another room
            room, start, end = self.slot()
            ok(
                cli(
                    self.env,
                    "bookings",
                    "update",
                    str(booking["id"]),
                    "--room",
                    room,
                    "--start",
                    start,
                    "--end",
                    end,
                )
            )
        for booking in take(max(1, n // 2), written):  # ROOMS: cancelled
            ok(cli(self.env, "bookings", "cancel", str(booking["id"]), "--yes"))
            self.expect.cancelled.add(booking["id"])
        for person in self.rng.sample(self.persons, max(1, n // 2)):  # ROOMS: a new booking
            self.add_booking(person, f"new in round {number}")
            written.add(person)
        if number > 0:  # Outlook edits need meetings: from the second round on
            for booking in take(n, read):  # Outlook: a new subject
                subject = f"X{number}-{booking['id']} from Outlook"
                if self._patch(booking, {"subject": subject}):
                    self.expect.titles[booking["id"]] = subject
            for booking in take(max(1, n // 2), set()):  # Outlook: deleted
                meeting = self.meeting_of(booking)
                if meeting is not None:
                    path = f"/lab/mailboxes/{booking['organizer']}/calendar/{meeting['id']}"
                    self.lab.admin("DELETE", path).raise_for_status()
                    self.expect.cancelled.add(booking["id"])
            for booking in take(max(1, n // 2), written):  # both sides: ROOMS wins, Outlook's value is kept
                outlook, rooms = (
                    f"B{number}-{booking['id']} Outlook side",
                    f"B{number}-{booking['id']} ROOMS side",
                )
                if self._patch(booking, {"subject": outlook}):
                    ok(cli(self.env, "bookings", "update", str(booking["id"]), "--title", rooms))
                    self.expect.titles[booking["id"]] = rooms
                    self.expect.differences[booking["id"]] = outlook
                    self.expect.new_differences.add(booking["id"])
        if number == 0:
            written = set(self.persons)  # nothing synced yet: every mailbox creates its meetings
        return self.size.mailboxes + 2 * len(written) + len(read - written)

    def _patch(self, booking: Mapping[str, Any], body: dict[str, Any]) -> bool:
        """An Outlook edit of the booking's meeting (sent to its attendees); False if it has none."""
        meeting = self.meeting_of(booking)
        if meeting is None:
            return False
        path = f"/lab/mailboxes/{booking['organizer']}/calendar/{meeting['id']}"
        self.lab.admin("PATCH", path, json=body).raise_for_status()
        return True


def ews_requests(lab: LabAdmin) -> int:
    counts = lab.admin("GET", "requests").json()
    return sum(v for k, v in counts.items() if k.startswith("ews:"))


@contextmanager
def latency(lab: LabAdmin, ms: int) -> Iterator[None]:
    lab.admin("POST", "settings", json={"latency_ms": ms}).raise_for_status()
    try:
        yield
    finally:
        lab.admin("POST", "settings", json={"latency_ms": 0}).raise_for_status()


def kill_sync_at(
    lab: LabAdmin, env: Mapping[str, str], cwd: Path, kill_at: int, concurrency: int = 1
) -> tuple[bool, int, float]:
    """Start `python -m roomsops sync`; SIGKILL it once the lab has counted `kill_at` EWS requests.
    Returns (killed, EWS requests counted then, seconds after the start)."""
    lab.admin("POST", "requests/reset").raise_for_status()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "sync", "--concurrency", str(concurrency)],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = started + 120
        while process.poll() is None and time.monotonic() < deadline:
            seen = ews_requests(lab)
            if seen >= kill_at:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
                return True, seen, time.monotonic() - started
            time.sleep(0.003)
        process.wait(timeout=120)
        return False, ews_requests(lab), time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def run_campaign(
    lab: LabAdmin,
    env: Mapping[str, str],
    domain: str,
    workdir: Path,
    size: Size = Size(),
    progress: Callable[[str], None] = lambda _line: None,
) -> CampaignResult:
    """Seed `size.mailboxes` persons, then `size.kills` times: edit both sides, SIGKILL a sync at a random EWS
    request (seeded), run a normal sync, check the invariant."""
    started = time.monotonic()
    world = _World(lab, env, domain, size)
    world.seed()
    rounds: list[Round] = []
    with latency(lab, size.latency_ms):
        for number in range(size.kills):
            # A kill point below the fewest EWS requests the run can make always lands inside it.
            least = world.edit(number)
            kill_at = world.rng.randint(1, max(1, least - 1))
            killed, seen, after = kill_sync_at(lab, env, workdir, kill_at, size.concurrency)
            normal = cli(env, "sync")
            check = check_invariant(lab, env, world.expect)
            rounds.append(
                Round(number, kill_at, killed, seen, after, normal.code, check, normal.out + normal.err)
            )
            progress(CampaignResult(size, rounds[-1:], check, 0).lines()[1])
    final = check_invariant(lab, env, world.expect)
    return CampaignResult(size, rounds, final, time.monotonic() - started)


def campaign_env(workdir: Path, settings: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """ROOMSOPS_* settings that keep a campaign's database, logs and summary in `workdir`."""
    return {
        "ROOMSOPS_SETTINGS": str(settings),
        "ROOMSOPS_ROOMS_DATABASE": f"sqlite:///{workdir / 'rooms.db'}",
        "ROOMSOPS_ROOMS_TIME_ZONE": "Europe/Zurich",
        "ROOMSOPS_SYNC_SUMMARY_FILE": str(workdir / "last-sync.json"),
        "ROOMSOPS_LOG_FILE": str(workdir / "roomsops.log"),
        "ROOMSOPS_LOG_AUDIT": str(workdir / "audit.jsonl"),
        "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "false",  # persons and rooms recorded offline (no WinRM lookup)
        **(extra or {}),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """scripts/crash-campaign: a lab of its own, the full-size campaign, the result printed."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="crash-campaign", description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--bookings-each", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=15)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--concurrency", type=int, default=4, help="of the killed runs (1: reproducible)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (lab, database, logs)")
    args = parser.parse_args(argv)
    size = Size(args.mailboxes, args.kills, args.bookings_each, args.latency_ms, args.seed, args.concurrency)

    from roomsops.lab import Lab

    workdir = Path(tempfile.mkdtemp(prefix="roomsops-crash-"))
    print(f"work folder {workdir}", flush=True)
    with Lab(
        workdir / "lab", save_interval=1.0
    ) as running:  # the tenant file written once a second, not per change
        admin = AdminClient(running.base_url, running.ca_path)
        env = campaign_env(workdir, running.settings_path)
        result = run_campaign(
            admin, env, running.info["tenant"]["domain"], workdir, size, lambda line: print(line, flush=True)
        )
    print("\n".join(result.lines()))
    if not args.keep and result.ok:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
