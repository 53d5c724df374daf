"""The checker's hands and eyes: ROOMS through the CLI, Exchange through the lab's admin API and raw EWS as the
organizer, `roomsops sync` in-process or as a process to SIGKILL. Nothing here reads roomsops' view of
Exchange: calendars come from the lab, bookings from ROOMS (the CLI), differences from `sync diff`.

The backend (`SYNC_CHECKER_BACKEND`, docs/sync-checker.md) is which service roomsops syncs the persons over: EWS
(sync mode O365), Microsoft Graph (ROOMS' Graph mode, Microsoft365: the lab's Graph face), or both at once
(`mixed`: the persons split between them, sharing the rooms). The checker's own hands are the same for all three:
Outlook's edits are the lab's admin API whatever service roomsops reads them over."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from xml.sax.saxutils import escape

import requests

from tests.campaign import BOOKING_TAG, INSTALLATION_TAG, campaign_env, cli, installation_of, tag
from tests.sync_checker.families import BACKENDS, selected_workers

#: The seed tenant's mailboxes the checker uses: synced persons (conflict behaviour), a foreign organizer, rooms.
PERSONS = {"DiegoS": "Rollback", "AdeleV": "Cancel", "AlexW": "Rollback"}
#: Which service roomsops syncs the persons over, per backend: their ROOMS sync mode (O365: EWS; Microsoft365: Graph).
#: `mixed`: DiegoS (Rollback) over Graph, AdeleV (Cancel) and AlexW over EWS; DiegoS and AlexW start in Zürich, so
#: a room is shared across the two services from the first pass (and every person books either room later).
SYNC_MODES: dict[str, dict[str, str]] = {  # one entry per families.BACKENDS
    "ews": dict.fromkeys(PERSONS, "O365"),
    "graph": dict.fromkeys(PERSONS, "Microsoft365"),
    "mixed": {"DiegoS": "Microsoft365", "AdeleV": "O365", "AlexW": "O365"},
}
OUTSIDER = "MeganB"  # not a ROOMS person: an attendee, and the organizer of foreign meetings
ROOMS = ("room-zurich", "room-bern")
OTHER_INSTALLATION = "00000000-0000-4000-8000-000000000000"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PassRun:
    """One `roomsops sync`: how it ended and what it said (the --json document when there was one)."""

    kind: str  # "pass", "fault", "kill"
    code: int | None  # None: killed, or the run raised
    crash: str | None  # the exception that escaped the in-process run
    doc: dict[str, Any] | None
    summary: dict[str, Any] | None  # the last-run summary file after the run
    started: datetime
    killed_at: int | None = None  # requests of the sync (EWS, Graph) counted when the SIGKILL was sent

    def failures_about(self, text: str) -> list[str]:
        if not self.doc:
            return []
        return [f for m in self.doc.get("mailboxes", []) for f in m["failures"] if text in f]

    @property
    def run_error(self) -> str | None:
        """The error document of a run that failed as a whole (`{"error": {...}, "ok": false}`)."""
        error = (self.doc or {}).get("error")
        return f"{error.get('code')}: {error.get('message')}" if isinstance(error, dict) else None


class World:
    """One fresh world per hypothesis example: the lab reset to its seed tenant, a new database."""

    def __init__(self, lab: Any, workdir: Path, backend: str = "ews", workers: int | None = None) -> None:
        if backend not in SYNC_MODES:
            raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
        self.lab = lab  # roomsops.lab.Lab, running in this process
        self.workdir = workdir
        self.backend = backend
        self.modes = SYNC_MODES[backend]
        #: The services the persons are synced over: the lab's protocols their requests are counted under.
        self.protocols = tuple(
            p for p in ("ews", "graph") if p in {_protocol(m) for m in self.modes.values()}
        )
        workdir.mkdir(parents=True, exist_ok=True)
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = str(lab.ca_path)
        self.domain = str(lab.info["tenant"]["domain"])
        self.admin("POST", "reset")
        if "graph" in self.protocols:  # the Graph face's delta states, throttling and gate too
            self.admin("POST", "graph/reset")
        self.admin("DELETE", "faults")
        self.admin("POST", "requests/reset")
        self.admin("POST", "settings", json={"room_answer_delay": 24 * 3600.0, "latency_ms": 0})
        self.env = campaign_env(workdir, lab.settings_path)
        #: Sync workers (`SYNC_CHECKER_WORKERS`): each pass is that many `sync --worker` processes at once, on a
        #: PostgreSQL schema of this world's own (`WorkerPasses`); 0: one `roomsops sync` on SQLite.
        self.workers = selected_workers() if workers is None else workers
        self.pg: WorkerPasses | None = None
        if self.workers:
            self.pg = WorkerPasses(self.workers, workdir.name)
            self.env["ROOMSOPS_ROOMS_DATABASE"] = self.pg.url
        self._token: str | None = None
        self.installation = ""
        self._earlier: dict[str, int] = {}  # request counts before the last reset (reset_requests)

    # --- plumbing ------------------------------------------------------------------------------------------

    def close(self) -> None:
        """The end of the sequence: a worker world's PostgreSQL schema is dropped (the lab is reset by the next)."""
        if self.pg is not None:
            self.pg.drop()

    def addr(self, alias: str) -> str:
        return f"{alias}@{self.domain}"

    def admin(self, method: str, path: str, json: Any = None, ok: bool = True) -> Any:
        url = f"{self.lab.base_url}{path}" if path.startswith("/") else f"{self.lab.base_url}/lab/{path}"
        response = self.session.request(
            method, url, json=json, timeout=30, headers={"Authorization": f"Bearer {self.lab.admin_token}"}
        )
        if ok and response.status_code >= 400:
            raise AssertionError(f"lab {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def cli(self, *args: str) -> tuple[int, Any]:
        """`roomsops --json ARGS`: exit code and the JSON document."""
        run = cli(self.env, "--json", *args)
        try:
            return run.code, json.loads(run.out) if run.out.strip() else None
        except json.JSONDecodeError:
            return run.code, None

    def must(self, *args: str) -> Any:
        code, doc = self.cli(*args)
        if code != 0:
            raise AssertionError(f"roomsops {' '.join(args)}: exit {code}: {doc}")
        return doc

    # --- setup ---------------------------------------------------------------------------------------------

    def seed(self) -> None:
        self.must("rooms", "add", self.addr(ROOMS[0]), "--name", "Zürich")
        self.must("rooms", "add", self.addr(ROOMS[1]), "--name", "Bern")
        for person, behaviour in PERSONS.items():
            self.must(
                "persons",
                "add",
                self.addr(person),
                "--sync-mode",
                self.modes[person],
                "--conflict-behaviour",
                behaviour,
            )
        self.installation = (
            self.pg.installation() if self.pg else installation_of(self.env["ROOMSOPS_ROOMS_DATABASE"])
        )

    # --- ROOMS ---------------------------------------------------------------------------------------------

    def bookings(self) -> list[dict[str, Any]]:
        return list(self.must("bookings", "list")["bookings"])

    def booking(self, booking_id: int) -> dict[str, Any] | None:
        return next((b for b in self.bookings() if b["id"] == booking_id), None)

    def differences(self) -> list[dict[str, Any]]:
        return list(self.must("sync", "diff")["differences"])

    def room_answers(self) -> list[dict[str, Any]]:
        """The rooms' answers as the lab logged them (oldest first): room, organizer, uid, response, reason."""
        return list(self.admin("GET", "/lab/room-answers")["answered"])

    def organizers(self) -> list[str]:
        return [self.addr(p) for p in PERSONS]

    def protocol_of(self, address: str) -> str:
        """The service roomsops syncs this person over ("ews" or "graph"), by the mode the checker gave them."""
        alias = address.split("@", 1)[0].lower()
        return next(_protocol(m) for p, m in self.modes.items() if p.lower() == alias)

    # --- Exchange as the lab holds it -------------------------------------------------------------------------

    def calendar(self, alias_or_address: str, folder: str = "calendar") -> list[dict[str, Any]]:
        address = alias_or_address if "@" in alias_or_address else self.addr(alias_or_address)
        return list(self.admin("GET", f"/lab/mailboxes/{address}/calendar?folder={folder}")["items"])

    def ours(self, item: Mapping[str, Any]) -> bool:
        return tag(item, INSTALLATION_TAG) == self.installation

    def live_meetings(self, organizer: str) -> dict[str, list[dict[str, Any]]]:
        """booking id (tag) -> the live meetings of this installation the organizer organizes."""
        found: dict[str, list[dict[str, Any]]] = {}
        for item in self.calendar(organizer):
            if (
                self.ours(item)
                and item["organizer"].lower() == organizer.lower()
                and not item["is_cancelled"]
            ):
                found.setdefault(tag(item, BOOKING_TAG) or "", []).append(item)
        return found

    def meeting_of(self, booking: Mapping[str, Any], folder: str = "calendar") -> dict[str, Any] | None:
        return next(
            (
                i
                for i in self.calendar(booking["organizer"], folder)
                if self.ours(i) and tag(i, BOOKING_TAG) == str(booking["id"])
            ),
            None,
        )

    # --- Outlook ---------------------------------------------------------------------------------------------

    def outlook_create(self, organizer: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.admin("POST", f"/lab/mailboxes/{self.addr(organizer)}/calendar", json=body))

    def outlook_patch(self, organizer: str, item_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.admin("PATCH", f"/lab/mailboxes/{organizer}/calendar/{item_id}", json=body))

    def ews_create(self, organizer: str, calendar_item_xml: str) -> None:
        """A CreateItem sent as the organizer (impersonated), for what the admin API cannot make: all-day
        items and series. Counted by the lab like any EWS request: never call it while a fault waits. Whatever
        the backend: it is Outlook's hand, and the item is in the one calendar Graph reads too."""
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}" xmlns:m="{M}" xmlns:t="{T}">'
            '<s:Header><t:RequestServerVersion Version="Exchange2016"/><t:ExchangeImpersonation>'
            f"<t:ConnectingSID><t:PrimarySmtpAddress>{self.addr(organizer)}</t:PrimarySmtpAddress>"
            "</t:ConnectingSID></t:ExchangeImpersonation></s:Header><s:Body>"
            '<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>'
            '<t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items>'
            f"<t:CalendarItem>{calendar_item_xml}</t:CalendarItem></m:Items></m:CreateItem></s:Body></s:Envelope>"
        )
        response = self.session.post(
            str(self.lab.info["endpoints"]["ews"]),
            data=body.encode("utf-8"),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "Authorization": f"Bearer {self.token()}",
                "X-AnchorMailbox": self.addr(organizer),
            },
            timeout=30,
        )
        if response.status_code != 200 or 'ResponseClass="Success"' not in response.text:
            raise AssertionError(f"CreateItem as {organizer}: {response.status_code} {response.text[:500]}")

    def token(self) -> str:
        if self._token is None:
            app = self.lab.info["apps"]["rooms"]
            response = self.session.post(
                str(self.lab.info["endpoints"]["token"]),
                data={
                    "grant_type": "client_credentials",
                    "client_id": app["app_id"],
                    "client_secret": app["secret"],
                    "scope": f"{self.lab.base_url}/.default",
                },
                timeout=30,
            )
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token

    @staticmethod
    def all_day_xml(subject: str, day: datetime) -> str:
        start = day.replace(hour=0, minute=0, second=0, microsecond=0)
        return (
            f"<t:Subject>{escape(subject)}</t:Subject><t:Start>{z(start)}</t:Start>"
            f"<t:End>{z(start + timedelta(days=1))}</t:End><t:IsAllDayEvent>true</t:IsAllDayEvent>"
            "<t:LegacyFreeBusyStatus>OOF</t:LegacyFreeBusyStatus>"
        )

    @staticmethod
    def series_xml(subject: str, start: datetime) -> str:
        return (
            f"<t:Subject>{escape(subject)}</t:Subject><t:Start>{z(start)}</t:Start>"
            f"<t:End>{z(start + timedelta(minutes=30))}</t:End>"
            "<t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence>"
            f"<t:NumberedRecurrence><t:StartDate>{start.date().isoformat()}</t:StartDate>"
            "<t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>"
        )

    # --- faults and passes ------------------------------------------------------------------------------------

    def fault(self, **spec: Any) -> None:
        self.admin("POST", "faults", json=spec)

    def clear_faults(self) -> None:
        self.admin("DELETE", "faults")

    def summary(self) -> dict[str, Any] | None:
        path = Path(self.env["ROOMSOPS_SYNC_SUMMARY_FILE"])
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def sync(self, kind: str = "pass", *extra: str) -> PassRun:
        """One in-process `roomsops --json sync`; an exception escaping it is recorded, not raised."""
        started = datetime.now(UTC)
        code: int | None
        doc: dict[str, Any] | None
        if self.pg is not None:
            code, doc = self.pg.run(self.env, self.workdir)
            self.pg.write_summary(self.env, doc, code, started)
            return PassRun(kind, code, None, doc, self.summary(), started)
        try:
            code, doc = self.cli("sync", "--concurrency", "1", *extra)
            crash = None
        except Exception as exc:  # the run aborted: what the checker reports as an I3 violation
            code, doc, crash = None, None, f"{type(exc).__name__}: {exc}"
        return PassRun(kind, code, crash, doc, self.summary(), started)

    def reset_requests(self) -> None:
        """The lab's counts start from zero (a process to kill or race counts its own requests); those so far are
        kept for `requests_counted`."""
        for key, n in self.admin("GET", "requests").items():
            self._earlier[key] = self._earlier.get(key, 0) + n
        self.admin("POST", "requests/reset")

    def requests_counted(self) -> dict[str, int]:
        """Every request the lab counted in this world (the sequence): key -> count."""
        counted = dict(self._earlier)
        for key, n in self.admin("GET", "requests").items():
            counted[key] = counted.get(key, 0) + n
        return counted

    def sync_requests(self, counts: Mapping[str, int] | None = None) -> int:
        """The requests the lab counted on the services the persons are synced over (EWS, Graph or both; a
        Graph `$batch` is counted once and each request in it once more)."""
        if counts is None:
            counts = self.admin("GET", "requests")
        return sum(v for k, v in counts.items() if k.split(":", 1)[0] in self.protocols)

    def sync_killed_at(self, kill_at: int) -> PassRun:
        """`python -m roomsops sync` SIGKILLed once the lab has counted `kill_at` requests of the sync (EWS,
        Graph). The lab adds 30 ms to every request meanwhile, so the poll below (every 2 ms) sees the count before
        the next one."""
        started = datetime.now(UTC)
        self.admin("POST", "settings", json={"latency_ms": 30})
        self.reset_requests()
        others: list[subprocess.Popen[Any]] = []
        process: subprocess.Popen[Any]
        if self.pg is not None:
            # Sync workers: the first is killed, the others go on; its leases are expired below (as they would
            # once `sync.worker_lease` passed), so the next pass's workers take its mailboxes over.
            self.pg.make_due()
            process, *others = self.pg.start(self.env, self.workdir)
        else:
            process = subprocess.Popen(
                [sys.executable, "-m", "roomsops", "sync", "--concurrency", "1"],
                env={**os.environ, **self.env},
                cwd=self.workdir,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        killed_at: int | None = None
        try:
            while process.poll() is None:  # ends: the process exits, or is killed
                seen = self.sync_requests()
                if seen >= kill_at:
                    process.send_signal(signal.SIGKILL)
                    killed_at = seen
                    break
                time.sleep(0.002)
            code = process.wait(timeout=120)
            if self.pg is not None:
                code, worker_doc = self.pg.finish([process, *others])
                if killed_at is not None:
                    self.pg.expire_leases()
                else:
                    self.pg.write_summary(self.env, worker_doc, code, started)
        finally:
            for proc in (process, *others):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            self.admin("POST", "settings", json={"latency_ms": 0})
        summary = self.summary()
        # A pass that ended before its count was reached wrote its whole document (the --json one plus "totals") to
        # the summary file: what it reported there is said, as a `sync` pass's own --json document is (the stop-31
        # soak's seed 31400 finding: a person's leaving, reported once by such a pass, was taken for never said).
        finished = (
            killed_at is None
            and summary is not None
            and summary.get("finished") is not None
            and not summary.get("running")
            and utc(summary["started"]) >= started.replace(microsecond=0)
        )
        doc = summary if finished else None
        return PassRun("kill", None if killed_at else code, None, doc, summary, started, killed_at)

    def sync_racing(self, due: Callable[[Mapping[str, int]], bool], action: Callable[[], None]) -> PassRun:
        """`python -m roomsops --json sync` as a process, and `action` (an edit) done while it runs: as soon as
        `due(the lab's request counts)` holds. The lab adds 30 ms to every request meanwhile and the counts are
        polled (never the clock), so the edit lands in the window `due` names (e.g. while the request after a
        write waits). If the pass ends first, the edit is done after it: still before the next pass reads."""
        started = datetime.now(UTC)
        self.admin("POST", "settings", json={"latency_ms": 30})
        self.reset_requests()
        others: list[subprocess.Popen[str]] = []
        if self.pg is not None:
            self.pg.make_due()
            process, *others = self.pg.start(self.env, self.workdir)
        else:
            process = subprocess.Popen(
                [sys.executable, "-m", "roomsops", "--json", "sync", "--concurrency", "1"],
                env={**os.environ, **self.env},
                cwd=self.workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        acted = False
        worked: tuple[int, dict[str, Any]] | None = None
        try:
            while process.poll() is None or any(o.poll() is None for o in others):
                if due(self.admin("GET", "requests")):
                    action()
                    acted = True
                    break
                time.sleep(0.002)
            if self.pg is not None:
                worked = self.pg.finish([process, *others])
                out = ""
            else:
                out, _ = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            self.admin("POST", "settings", json={"latency_ms": 0})
        if not acted:
            action()
        if worked is not None and self.pg is not None:
            self.pg.write_summary(self.env, worked[1], worked[0], started)
            return PassRun("pass", worked[0], None, worked[1], self.summary(), started)
        try:
            doc = json.loads(out) if out.strip() else None
        except json.JSONDecodeError:
            doc = None
        return PassRun("pass", process.returncode, None, doc, self.summary(), started)

    def database_problems(self) -> list[str]:
        """I6: the database opens and is consistent (SQLite's own check and the foreign keys; PostgreSQL checks
        its foreign keys itself: it must answer and hold every table)."""
        if self.pg is not None:
            return self.pg.problems()
        path = self.env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
        try:
            with sqlite3.connect(path) as conn:
                integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
                foreign = conn.execute("PRAGMA foreign_key_check").fetchall()
        except sqlite3.Error as exc:
            return [f"the database does not open: {exc}"]
        out = [] if integrity == ["ok"] else [f"integrity_check: {integrity}"]
        return out + ([f"foreign_key_check: {foreign}"] if foreign else [])

    def corrupt_sync_state(self) -> int:
        """The mailboxes' sync positions made invalid, as each service does it: the stored SyncFolderItems states
        replaced by one Exchange refuses (the next pass gets ErrorInvalidSyncStateData), and Graph's delta states
        forgotten by the lab (a stored deltaLink answers 410 syncStateNotFound, as an expired one does). A Graph
        position is `<window end>|<deltaLink>` (docs/sync.md); an EWS one has no `|`. Returns how many mailboxes'
        positions are invalid now."""
        if self.pg is not None:
            ews_rows = self.pg.sql(
                "UPDATE mailbox_sync SET sync_state = 'H4sIAAAAAAAEAAtJLS5RSEksSQQAAP//' "
                "WHERE sync_state IS NOT NULL AND strpos(sync_state, '|') = 0 RETURNING mailbox"
            )
            graph = self.pg.sql("SELECT count(*) FROM mailbox_sync WHERE strpos(sync_state, '|') > 0")[0][0]
            if graph:
                self.admin("POST", "graph/delta/expire")
            return len(ews_rows) + int(graph)
        path = self.env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            ews = conn.execute(
                "UPDATE mailbox_sync SET sync_state = 'H4sIAAAAAAAEAAtJLS5RSEksSQQAAP//' "
                "WHERE sync_state IS NOT NULL AND instr(sync_state, '|') = 0"
            ).rowcount
            graph = conn.execute(
                "SELECT count(*) FROM mailbox_sync WHERE instr(sync_state, '|') > 0"
            ).fetchone()[0]
        if graph:
            self.admin("POST", "graph/delta/expire")
        return int(ews) + int(graph)


def _protocol(sync_mode: str) -> str:
    return "graph" if sync_mode == "Microsoft365" else "ews"


class WorkerPasses:
    """`SYNC_CHECKER_WORKERS=N`: the world's ROOMS database is a schema of its own on PostgreSQL
    ($SYNC_CHECKER_DATABASE, default the tests' server), and each pass is N `roomsops --json sync --worker
    --until-idle` processes at once, claiming the mailboxes (every mailbox made due first: a worker gives a mailbox
    back due only `sync.worker_interval` later). Their documents are merged into one pass's: the mailboxes of all,
    `left_sync` of all, exit 0 only when every worker exited 0. Workers write no summary file: the merged document
    is written as the pass's summary (the summary checks then hold by construction). A SIGKILLed worker's leases are
    expired by SQL, as they would be after `sync.worker_lease`."""

    #: schemas made by this process, dropped when the next world is made and at exit
    made: ClassVar[list[str]] = []
    #: worker passes run by this process (each: `workers` processes, their documents merged)
    passes: ClassVar[int] = 0

    def __init__(self, workers: int, name: str) -> None:
        from sqlalchemy.engine import make_url

        from tests import postgres

        self.workers = workers
        server = os.environ.get("SYNC_CHECKER_DATABASE", "").strip() or postgres.server_url()
        if not server:
            raise RuntimeError("SYNC_CHECKER_WORKERS needs a PostgreSQL server: set SYNC_CHECKER_DATABASE")
        self.server = make_url(server)
        for old in list(self.made):
            self._drop(old)
        self.schema = f"checker_{os.getpid()}_{name.replace('-', '_')}"
        with postgres.admin(self.server) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'.encode())
            conn.execute(f'CREATE SCHEMA "{self.schema}"'.encode())
        if not self.made:
            import atexit

            atexit.register(self._drop_all)
        self.made.append(self.schema)
        self.url = self.server.set(
            query={**self.server.query, "options": f"-csearch_path={self.schema}"}
        ).render_as_string(hide_password=False)

    def drop(self) -> None:
        if self.schema in self.made:
            self._drop(self.schema)

    def _drop_all(self) -> None:
        for schema in list(self.made):
            self._drop(schema)

    def _drop(self, schema: str) -> None:
        from tests import postgres

        try:
            with postgres.admin(self.server) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())
        finally:
            if schema in self.made:
                self.made.remove(schema)

    def sql(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        from tests import postgres

        with postgres.admin(self.server) as conn:
            conn.execute(f'SET search_path TO "{self.schema}"'.encode())
            cur = conn.execute(statement.encode(), args)
            return list(cur.fetchall()) if cur.description else []

    def installation(self) -> str:
        return str(self.sql("SELECT installation_id FROM installation")[0][0])

    def make_due(self) -> None:
        self.sql("UPDATE mailbox_sync SET next_run_utc = NULL")

    def expire_leases(self) -> None:
        self.sql(
            "UPDATE mailbox_sync SET lease_until_utc = now() AT TIME ZONE 'UTC' - interval '1 second' "
            "WHERE lease_token IS NOT NULL"
        )

    def start(self, env: Mapping[str, str], workdir: Path) -> list[subprocess.Popen[str]]:
        # --batch 2: three persons over two workers, so that a pass's mailboxes are split between them.
        command = [
            sys.executable,
            "-m",
            "roomsops",
            "--json",
            "sync",
            "--worker",
            "--until-idle",
            "--batch",
            "2",
        ]
        return [
            subprocess.Popen(
                [*command, "--concurrency", "1"],
                env={**os.environ, **env},
                cwd=workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(self.workers)
        ]

    def finish(self, procs: list[subprocess.Popen[Any]]) -> tuple[int, dict[str, Any]]:
        """The workers' merged document and exit code (the worst: 0 only when all exited 0)."""
        WorkerPasses.passes += 1
        docs, codes = [], []
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            codes.append(proc.returncode)
            try:
                docs.append(json.loads(out) if out and out.strip() else {})
            except json.JSONDecodeError:
                docs.append({"error": {"code": "unreadable", "message": (out + err)[-500:]}})
        mailboxes = [m for doc in docs for m in doc.get("mailboxes", [])]
        errors = [doc["error"] for doc in docs if isinstance(doc.get("error"), dict)]
        merged: dict[str, Any] = {
            "mailboxes": mailboxes,
            "left_sync": {p: said for doc in docs for p, said in (doc.get("left_sync") or {}).items()},
            "lease_lost": [m for doc in docs for m in doc.get("lease_lost", [])],
            "workers": [doc.get("owner") for doc in docs],
        }
        if errors:
            merged["error"] = errors[0]
        killed = [c for c in codes if c is None or c < 0]
        code = killed[0] if killed else max(codes)
        merged["ok"] = code == 0
        return int(code) if code is not None else -9, merged

    def run(self, env: Mapping[str, str], workdir: Path) -> tuple[int, dict[str, Any]]:
        self.make_due()
        return self.finish(self.start(env, workdir))

    def write_summary(
        self, env: Mapping[str, str], doc: Mapping[str, Any], code: int, started: datetime
    ) -> None:
        summary = {
            **doc,
            "ok": code == 0,
            "started": started.isoformat(),
            "finished": datetime.now(UTC).isoformat(),
        }
        Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).write_text(json.dumps(summary), encoding="utf-8")

    def problems(self) -> list[str]:
        try:
            tables = self.sql(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        except Exception as exc:  # the database does not answer: that is the finding
            return [f"the database does not answer: {exc}"]
        return [] if tables and tables[0][0] >= 5 else [f"the schema holds {tables} tables"]
