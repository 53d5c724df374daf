"""fix27v: what the per-request fence leaves open (review27s). The lease is verified by the client right before each
write request (`core/write_fence.py`); a worker that stalls past its lease *after* that check and before the bytes
are on the socket still sends its create after another worker took the mailbox over and created the meeting: over
EWS (no idempotency key) a duplicate. The next pass of the mailbox (a normal one, not only a full reconciliation)
finds it among the changes and cancels it, keeping the meeting the link names.

Real parts: the lab over TLS (EWS), the PostgreSQL server of tests/postgres.py, the taking-over workers as
subprocesses; the stall is deterministic: in the EWS transport (`PinnedAdapter.send`, after the client's
`before_write()` proved the lease), at the stalled worker's create, its lease is expired by SQL and the other worker
runs to its end (not timed) before the request goes on to the lab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

from .conftest import Addr, LabHelper
from .helpers import answer_rooms
from .test_pg27b_workers import ON_POSTGRESQL, created, finished, setup_persons, sql, start_worker

pytestmark = pytest.mark.integration


def live(lab: LabHelper, mailbox: str) -> list[dict[str, Any]]:
    """The live meetings `mailbox` organizes (the lab's items)."""
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox and not i["is_cancelled"]]


def room_copies(lab: LabHelper, room: str) -> list[str]:
    """The meeting UIDs of the live items in the room's calendar."""
    items = lab.admin("GET", f"/lab/mailboxes/{room}/calendar").json()["items"]
    return [i["uid"] for i in items if not i["is_cancelled"]]


@ON_POSTGRESQL
def test_fix27v_a_create_sent_after_a_stall_past_the_last_check_is_a_duplicate_the_next_pass_removes(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from roomsops.adapters.ews.client import PinnedAdapter, _operation

    [person] = setup_persons(invoke, env, fresh_lab, addr, 1, tmp_path)
    other: list[tuple[int, dict[str, Any]]] = []
    original = PinnedAdapter.send

    def sent_after_a_stall(self: PinnedAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        body = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        if not other and _operation(body) == "CreateItem" and b"CancelCalendarItem" not in body:
            # The client's before_write() proved the lease just now; the request is not on the wire yet: the
            # worker stalls here, past its lease, while another worker takes the mailbox over.
            expired = sql(
                env,
                "UPDATE mailbox_sync SET lease_until_utc = now() AT TIME ZONE 'UTC' - interval '1 second' "
                "WHERE lease_token IS NOT NULL RETURNING mailbox",
            )
            assert expired == [(person,)], expired  # the lease was this worker's, verified just now
            other.append(finished(start_worker(env, "--until-idle")))
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(PinnedAdapter, "send", sent_after_a_stall)
    run = invoke("--json", "sync", "--worker", "--batch", "1", env=env)
    assert other, run.out + run.err
    code, doc = other[0]
    assert code == 0 and created(doc) == 1, doc  # the other worker took the mailbox over and created it
    mine = json.loads(run.out)
    assert run.code == 1 and mine["lease_lost"] == [person], (
        mine
    )  # its link refused: the create was sent all the same
    # What the fence cannot close: the stalled create reached Exchange after the new owner's, a duplicate.
    assert sorted(i["subject"] for i in live(fresh_lab, person)) == ["Meeting 0", "Meeting 0"]
    [(linked,)] = sql(env, "SELECT item_id FROM booking_sync WHERE mailbox = %s", person)
    answer_rooms(fresh_lab)  # the room answers both invitations
    monkeypatch.setattr(PinnedAdapter, "send", original)

    # The mailbox's next pass, a normal (incremental) one, finds the duplicate among the changes and cancels it.
    sql(env, "UPDATE mailbox_sync SET next_run_utc = now() AT TIME ZONE 'UTC' - interval '1 second'")
    code, healed = finished(start_worker(env, "--until-idle"))
    [report] = healed["mailboxes"]
    assert code == 0, healed
    assert (report["pass_kind"], report["duplicates_removed"], report["created"]) == ("incremental", 1, 0), (
        report
    )
    assert [i["id"] for i in live(fresh_lab, person)] == [linked]  # the meeting the link names is kept
    answer_rooms(fresh_lab)
    [kept] = live(fresh_lab, person)
    assert room_copies(fresh_lab, addr("room-zurich")) == [
        kept["uid"]
    ]  # the room holds the kept meeting alone
    assert sql(env, "SELECT item_id, state FROM booking_sync WHERE mailbox = %s", person) == [
        (linked, "linked")
    ]

    # 0 duplicates after: the pass after that finds nothing to remove.
    sql(env, "UPDATE mailbox_sync SET next_run_utc = now() AT TIME ZONE 'UTC' - interval '1 second'")
    code, after = finished(start_worker(env, "--until-idle"))
    assert code == 0 and [m["duplicates_removed"] for m in after["mailboxes"]] == [0], after
    assert [i["id"] for i in live(fresh_lab, person)] == [linked]
