"""pg27c: the calendar write itself is fenced by the worker's lease (issue 27 item 3): a worker whose lease
expired between its stored intent (or its read) and the write sends nothing; the meetings of a person who left the
sync go through the same fence.

The slow worker runs in this process; its pause is a hook, not a duration: at a chosen point of its pass its lease
is expired by SQL and another worker (a subprocess) takes the mailbox over and finishes it, before the slow worker
goes on. The calendar backend's writes are counted where they would reach the lab."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_pg27b_workers import (
    ON_POSTGRESQL,
    _Hook,
    created,
    finished,
    meetings,
    setup_persons,
    sql,
    start_worker,
    synced,
)

pytestmark = pytest.mark.integration


#: The mailbox an EWS request acts as (its ExchangeImpersonation header).
_ACTING = re.compile(rb"PrimarySmtpAddress>([^<]+)<")


def sent_writes(monkeypatch: pytest.MonkeyPatch, kind: str) -> list[str]:
    """The mailboxes this process sends EWS `kind` requests for ("create": a CreateItem of meetings, "cancel": a
    CreateItem of a CancelCalendarItem), counted on the wire (the transport, after the client's lease check), the
    request going on to the lab."""
    from roomsops.adapters.ews.client import PinnedAdapter, _operation

    calls: list[str] = []
    original = PinnedAdapter.send

    def counted(self: PinnedAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        body = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        if _operation(body) == "CreateItem" and (b"CancelCalendarItem" in body) == (kind == "cancel"):
            acting = _ACTING.search(body)
            calls.append(acting.group(1).decode().lower() if acting else "?")
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(PinnedAdapter, "send", counted)
    return calls


@ON_POSTGRESQL
def test_pg27c_a_worker_whose_lease_expires_between_its_intent_and_the_create_sends_nothing(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The slow worker stores its create intent for one mailbox (its lease proved then); before it sends the
    create, the lease expires and another worker takes the mailbox over and creates the meeting (the intent names
    no meeting yet, none is found by its tag). The slow worker's create is refused before it is sent."""
    from roomsops.services.sync.engine import MailboxSync

    people = setup_persons(invoke, env, fresh_lab, addr, 3, tmp_path)
    slow = people[1]
    hook = _Hook(env, slow)
    original = MailboxSync._save_links

    def save_links(self: MailboxSync, links: list[Any]) -> list[Any]:
        saved = original(self, links)
        if any(link.state == "pending-create" for link in saved):
            hook(self.mailbox)  # the intent is committed: the worker now stalls before its write
        return saved

    monkeypatch.setattr(MailboxSync, "_save_links", save_links)
    creates = sent_writes(monkeypatch, "create")
    run = invoke("--json", "sync", "--worker", "--batch", "3", env=env)
    assert run.code == 1, run.out + run.err
    doc = json.loads(run.out)
    assert doc["lease_lost"] == [slow], doc
    mine = {m["mailbox"].lower(): m for m in doc["mailboxes"]}
    assert (mine[slow]["error_code"], mine[slow]["created"]) == ("lease_lost", 0), mine[slow]
    assert sorted(creates) == sorted(p for p in people if p != slow)  # the slow mailbox's create never sent
    assert doc["writes_fenced"] == 2, doc  # each create sent was fenced right before it
    assert hook.other is not None and synced(hook.other) == [slow] and created(hook.other) == 1, hook.other
    for i, person in enumerate(people):
        assert meetings(fresh_lab, person) == [f"Meeting {i}"]  # 0 duplicates
    rows = sql(env, "SELECT mailbox, lease_token, state FROM mailbox_sync JOIN booking_sync USING (mailbox)")
    assert sorted(rows) == [(p, None, "linked") for p in sorted(people)], rows


@ON_POSTGRESQL
def test_pg27c_a_purge_by_a_worker_whose_lease_was_lost_sends_no_cancellation(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A person leaves the sync (`sync.on_person_removed = purge`). The slow worker claims their mailbox and reads
    the meeting to cancel; before it cancels, its lease expires and another worker takes the mailbox over and
    purges it. The slow worker sends no cancellation and records nothing of that person."""
    from roomsops.adapters.ews.backend import EwsCalendar

    people = setup_persons(invoke, env, fresh_lab, addr, 2, tmp_path)
    code, first = finished(start_worker(env, "--until-idle"))
    assert code == 0 and created(first) == 2, first
    leaving = people[0]
    ok(invoke("persons", "set", leaving, "--sync-mode", "None", env=env))
    sql(env, "UPDATE mailbox_sync SET next_run_utc = now() AT TIME ZONE 'UTC' - interval '1 second'")
    purging = env | {"ROOMSOPS_SYNC_ON_PERSON_REMOVED": "purge"}
    hook = _Hook(purging, leaving)
    original = EwsCalendar.find_tagged

    def find_tagged(self: EwsCalendar, mailbox: str, installation: str, booking_id: str | None = None) -> Any:
        found = original(self, mailbox, installation, booking_id)
        hook(mailbox)  # read: this worker holds the meeting as live while another worker purges it
        return found

    monkeypatch.setattr(EwsCalendar, "find_tagged", find_tagged)
    cancels = sent_writes(monkeypatch, "cancel")
    run = invoke("--json", "sync", "--worker", "--batch", "5", env=purging)
    assert run.code == 1, run.out + run.err
    doc = json.loads(run.out)
    assert doc["lease_lost"] == [leaving], doc
    mine = {m["mailbox"].lower(): m for m in doc["mailboxes"]}
    assert (mine[leaving]["error_code"], mine[leaving]["cancelled"]) == ("lease_lost", 0), mine[leaving]
    assert cancels == []  # the stale worker's cancellation was never sent
    assert hook.other is not None, hook
    theirs = {m["mailbox"].lower(): m for m in hook.other["mailboxes"]}
    assert theirs[leaving]["cancelled"] == 1, hook.other  # the new owner purged, once
    assert meetings(fresh_lab, leaving) == [] and meetings(fresh_lab, people[1]) == ["Meeting 1"]
    states = sql(env, "SELECT state FROM booking_sync WHERE mailbox = %s", leaving)
    assert states == [("cancelled",)] or states == [("unlinked",)], states  # the new owner's record stands
    assert sql(env, "SELECT count(*) FROM mailbox_sync WHERE lease_token IS NOT NULL") == [(0,)]
