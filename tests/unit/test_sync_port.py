"""The sync's calendar port: the engine knows only it, a backend plugs in by implementing it alone, and
`sync.send_invitations` is a closed set.

`MemoryCalendar` is a second backend written against the port only (no exchangelib): the engine syncs with it
exactly as with EWS, including a create whose answer was lost.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from roomsops.adapters import store as db
from roomsops.core.calendar import (
    BackendError,
    Changes,
    Invitations,
    ItemGone,
    Meeting,
    MeetingFields,
    Throttled,
    WriteOutcomeUnknown,
)
from roomsops.core.errors import ExitCode, InputError
from roomsops.core.logs import AuditLog
from roomsops.core.settings import SEND_INVITATIONS, Settings, load_settings
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.run import sync_pass

SYNC_MODULES = ("backend", "engine", "model", "resolve", "run", "lock")


def test_the_sync_engine_imports_nothing_of_the_ews_adapter() -> None:
    """Loaded on their own, the engine's modules pull in neither roomsops.adapters.ews nor exchangelib."""
    modules = ", ".join(f"roomsops.services.sync.{name}" for name in SYNC_MODULES)
    probe = (
        f"import sys, {modules}\n"
        "print(sorted(m for m in sys.modules if m.startswith(('roomsops.adapters.ews', 'exchangelib'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert loaded == "[]"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_only_the_factory_imports_a_calendar_adapter() -> None:
    sync = Path(__file__).resolve().parents[2] / "roomsops" / "services" / "sync"
    importing = sorted(
        p.name
        for p in sync.glob("*.py")
        if any(m.startswith(("roomsops.adapters.ews", "exchangelib")) for m in imported_modules(p))
    )
    assert importing == ["factory.py"]


# --- sync.send_invitations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "member"), [("all", Invitations.ALL), ("none", Invitations.NONE)])
def test_invitations_take_the_documented_values(value: str, member: Invitations) -> None:
    assert Invitations.of(value) is member


def test_the_engine_and_the_settings_allow_the_same_values() -> None:
    assert tuple(Invitations) == SEND_INVITATIONS


@pytest.mark.parametrize("value", ["All", "NONE", "", "no", " all"])
def test_an_unknown_invitations_value_is_refused_not_read_as_none(value: str) -> None:
    with pytest.raises(InputError) as refused:
        Invitations.of(value)
    assert refused.value.exit_code == ExitCode.BAD_INPUT
    assert refused.value.one_line() == f"sync.send_invitations = {value!r} is not allowed: use all or none"


def ews_client() -> Any:
    from roomsops.adapters.ews.client import EwsClient

    provider: Any = SimpleNamespace(
        credentials=SimpleNamespace(app_id="6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f", tenant_id="contoso"),
        invalidate=lambda: None,
    )
    return EwsClient(load_settings(None, environ={}), provider)


def with_invitations(value: str) -> Settings:
    settings = load_settings(None, environ={})
    return replace(settings, sync=replace(settings.sync, send_invitations=value))


def test_the_ews_backend_sends_per_the_setting_and_refuses_an_unknown_one() -> None:
    from roomsops.adapters.ews.backend import EwsCalendar
    from roomsops.services.sync.factory import calendar_backend

    client = ews_client()
    assert EwsCalendar(client, "UTC", "all").send and not EwsCalendar(client, "UTC", "none").send
    with pytest.raises(InputError, match="use all or none"):
        EwsCalendar(client, "UTC", "All")
    backend = calendar_backend(with_invitations("none"), client)
    assert isinstance(backend, EwsCalendar) and backend.invitations is Invitations.NONE
    with pytest.raises(InputError, match=r"'All' is not allowed"):
        calendar_backend(with_invitations("All"), client)


# --- a second backend, written against the port alone ---------------------------------------------------------


class MemoryCalendar:
    """Calendars in memory; a sync state is a position in each mailbox's change log."""

    def __init__(self, invitations: Invitations = Invitations.ALL) -> None:
        self.invitations = invitations
        self.items: dict[str, dict[str, Meeting]] = {}
        self.log: dict[str, list[tuple[str, str, str]]] = {}  # mailbox → (kind, item id, change key)
        self.sent: list[str] = []  # notices: "invite <subject>", "cancel <subject>"
        self.lose_next_answer = False
        self.throttled: set[str] = set()
        self._ids = 0

    def _write(self, mailbox: str, meeting: Meeting, kind: str = "update") -> Meeting:
        if mailbox in self.throttled:
            raise Throttled("throttled", mailbox, "come back later", code="memory_throttled")
        self._ids += 1
        stored = replace(meeting, change_key=f"ck{self._ids}")
        self.items.setdefault(mailbox, {})[stored.item_id] = stored
        self.log.setdefault(mailbox, []).append((kind, stored.item_id, stored.change_key))
        return stored

    def requests_sent(self) -> int:
        return 0

    def service_of(self, mailbox: str) -> str:
        return "memory"

    def over(self, service: str) -> MemoryCalendar | None:
        return self if service == "memory" else None

    def changes(self, mailbox: str, state: str | None) -> Changes:
        log = self.log.get(mailbox, [])
        if state is None:
            return Changes(state=str(len(log)))
        changed = {i: ck for kind, i, ck in log[int(state) :] if kind != "delete"}
        deleted = [i for kind, i, _ in log[int(state) :] if kind == "delete"]
        return Changes(
            changed=[(i, ck) for i, ck in changed.items() if i not in deleted],
            deleted=deleted,
            state=str(len(log)),
        )

    def get(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        items = self.items.get(mailbox, {})
        return [items[i] for i in item_ids if i in items]

    def in_calendar(self, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        return self.get(mailbox, item_ids)  # one calendar per mailbox: an item is in it or gone

    def find_tagged(self, mailbox: str, installation: str, booking_id: str | None = None) -> list[Meeting]:
        return [
            m
            for m in self.items.get(mailbox, {}).values()
            if m.installation == installation and booking_id in (None, m.booking_id)
        ]

    def find_untagged(self, mailbox: str, start: datetime, end: datetime) -> list[Meeting]:
        return [
            m
            for m in self.items.get(mailbox, {}).values()
            if m.installation is None
            and m.fields is not None
            and m.fields.start < end
            and m.fields.end > start
        ]

    def find_untagged_by_uid(self, mailbox: str, uids: Sequence[str]) -> list[Meeting]:
        return [m for m in self.items.get(mailbox, {}).values() if m.installation is None and m.uid in uids]

    def create(
        self,
        mailbox: str,
        fields: MeetingFields,
        installation: str,
        booking_id: str,
        revision: str | None = None,
    ) -> Meeting:
        created = self.create_many(mailbox, [(fields, installation, booking_id)], revision)[0]
        if isinstance(created, BackendError):
            raise created
        return created

    def create_many(
        self, mailbox: str, requests: Sequence[tuple[MeetingFields, str, str]], revision: str | None = None
    ) -> list[Meeting | BackendError]:
        made: list[Meeting | BackendError] = []
        for fields, installation, booking_id in requests:
            meeting = Meeting(
                f"item{self._ids + 1}",
                "",
                fields,
                installation,
                booking_id,
                mailbox.lower(),
                revision=revision,
            )
            made.append(self._write(mailbox, meeting, "create"))
            if self.invitations is Invitations.ALL:
                self.sent.append(f"invite {fields.subject}")
        if self.lose_next_answer:  # the items exist, the answer never came
            self.lose_next_answer = False
            raise WriteOutcomeUnknown("write_outcome_unknown", mailbox, "no answer", code="memory_lost")
        return made

    def update(
        self,
        mailbox: str,
        meeting: Meeting,
        fields: MeetingFields,
        revision: str | None = None,
        room_aliases: Sequence[str] = (),
    ) -> Meeting:
        current = self.items.get(mailbox, {}).get(meeting.item_id)
        if current is None:
            raise ItemGone("failed", mailbox, "no such item")
        return self._write(mailbox, replace(current, fields=fields, revision=revision or current.revision))

    def series_exceptions(self, mailbox: str, meeting: Meeting) -> Meeting:
        return meeting  # this port test writes no series

    def tag(
        self, mailbox: str, meeting: Meeting, installation: str, booking_id: str, revision: str | None = None
    ) -> Meeting:
        return self._write(
            mailbox,
            replace(
                meeting,
                installation=installation,
                booking_id=booking_id,
                revision=revision or meeting.revision,
            ),
        )

    def remove_attendees(self, mailbox: str, meeting: Meeting, addresses: Sequence[str]) -> None:
        current = self.items.get(mailbox, {}).get(meeting.item_id)
        if current is None or current.fields is None:
            raise ItemGone("failed", mailbox, "no such item")
        gone = {a.lower() for a in addresses}
        fields = replace(
            current.fields,
            room="" if current.fields.room in gone else current.fields.room,
            attendees=tuple(a for a in current.fields.attendees if a not in gone),
        )
        resources = tuple(r for r in current.resources if r not in gone)
        self._write(mailbox, replace(current, fields=fields, resources=resources))

    def room_calendar(
        self,
        room: str,
        start: datetime,
        end: datetime,
        uid: str | None = None,
        *,
        via: str | None = None,
        occurrences: bool = False,
    ) -> list[Meeting]:
        return []  # the memory calendar keeps no room calendars

    def primary_address(self, address: str, via: str) -> str | None:
        return None  # no directory: no aliases

    def delete_copy(self, room: str, meeting: Meeting, *, via: str | None = None) -> None:
        return None

    def cancel(self, mailbox: str, meeting: Meeting) -> None:
        gone = self.items.get(mailbox, {}).pop(meeting.item_id, None)
        if gone is None:
            return
        self.log[mailbox].append(("delete", gone.item_id, ""))
        if self.invitations is Invitations.ALL and gone.fields is not None:
            self.sent.append(f"cancel {gone.fields.subject}")


def _port(backend: MemoryCalendar) -> CalendarBackend:
    return backend  # mypy checks here that MemoryCalendar implements the port


DIEGO = "diego@contoso.com"
ADELE = "adele@contoso.com"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[db.Store]:
    opened = db.open_store(f"sqlite:///{tmp_path / 'rooms.db'}")
    with opened.write() as conn:
        room = db.insert_room(conn, "eiger@contoso.com", "Eiger", False, db.now_utc())
        start = (db.now_utc() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
        for n, email in enumerate((DIEGO, ADELE)):
            person = db.insert_person(
                conn, db.PersonFields(email, email, "O365", None, "Rollback"), db.now_utc()
            )
            slot = start + timedelta(hours=2 * n)
            db.insert_booking(
                conn,
                db.NewBooking(person.id, room.id, f"Review {n}", slot, slot + timedelta(hours=1)),
                db.now_utc(),
            )
    yield opened
    opened.close()


def one_pass(store: db.Store, backend: MemoryCalendar) -> dict[str, Any]:
    result = sync_pass(store, _port(backend), load_settings(None, environ={}), AuditLog(None), concurrency=1)
    return {m.mailbox: m for m in result.mailboxes}


def meetings(backend: MemoryCalendar, mailbox: str) -> list[tuple[str | None, str | None]]:
    return [
        (
            (m.booking_id or "").partition(":")[0],
            m.fields.subject if m.fields else None,
        )  # the id of `<id>:<key>`
        for m in backend.items.get(mailbox, {}).values()
    ]


def test_a_backend_implementing_the_port_alone_is_synced_like_ews(store: db.Store) -> None:
    backend = MemoryCalendar()
    first = one_pass(store, backend)
    assert (first[DIEGO].created, first[ADELE].created) == (1, 1)
    assert meetings(backend, DIEGO) == [("1", "Review 0")] and meetings(backend, ADELE) == [("2", "Review 1")]
    assert one_pass(store, backend)[DIEGO].unchanged == 1  # its own writes are read past, not taken as edits
    with store.write() as conn:
        db.update_booking(conn, 1, {"status": "cancelled"}, db.now_utc())
    assert one_pass(store, backend)[DIEGO].cancelled == 1
    assert meetings(backend, DIEGO) == [] and backend.sent[-1] == "cancel Review 0"


def test_a_create_whose_answer_was_lost_is_adopted_by_its_tag_not_repeated(store: db.Store) -> None:
    backend = MemoryCalendar()
    backend.lose_next_answer = True
    reports = one_pass(store, backend)
    lost = next(m for m in reports.values() if m.adopted)  # whichever mailbox's answer was lost
    assert (lost.created, lost.adopted, lost.failures) == (0, 1, [])
    assert [len(meetings(backend, mailbox)) for mailbox in (DIEGO, ADELE)] == [1, 1]
    assert one_pass(store, backend)[lost.mailbox].unchanged == 1


def test_an_unavailable_mailbox_stops_its_own_pass_only(store: db.Store) -> None:
    backend = MemoryCalendar(Invitations.NONE)
    backend.throttled.add(DIEGO)
    reports = one_pass(store, backend)
    assert (reports[DIEGO].error_code, reports[DIEGO].failures) == ("memory_throttled", [])
    assert (reports[ADELE].created, backend.sent) == (1, [])


def test_the_booking_tag_carries_the_id_and_the_bookings_key() -> None:
    """fix21cc: `<id>:<key>` since schema 8, the plain id before; the id is read from both, and from nothing else."""
    from roomsops.core.calendar import booking_tag, tagged_booking_id

    assert booking_tag(12, "9f" * 16) == "12:" + "9f" * 16 and booking_tag(12, None) == "12"
    assert [tagged_booking_id(t) for t in ("12:" + "9f" * 16, "12", "b-1", "", None, "12:", "١٢", "-1")] == [
        12,
        12,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
