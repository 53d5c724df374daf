"""Leased mailbox work (issue 27.2, schema 12): claims with FOR UPDATE SKIP LOCKED never hand one mailbox to two
workers; a stale token writes nothing; the v11 -> v12 step on SQLite and PostgreSQL gives the columns a new
database has."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from roomsops.adapters.store import SCHEMA_VERSION, Store, now_utc, open_store
from roomsops.adapters.store.leases import (
    Lease,
    claim_mailboxes,
    ensure_mailboxes,
    extend_lease,
    release_lease,
)
from roomsops.adapters.store.schema import mailbox_sync

MINUTE = timedelta(minutes=1)
V1_FIXTURE = Path(__file__).resolve().parents[1] / "data" / "rooms-v1.db"


def mailboxes(n: int) -> list[str]:
    return [f"person{i:04d}@contoso.com" for i in range(n)]


@pytest.fixture
def store(rooms_database: str, tmp_path: Path) -> Iterator[Store]:
    """The test's database: SQLite in its folder, or its PostgreSQL schema (tests marked both_databases)."""
    opened = open_store(rooms_database or f"sqlite:///{tmp_path / 'rooms.db'}")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def postgresql(postgres_url: str) -> Iterator[Store]:
    opened = open_store(postgres_url)
    try:
        yield opened
    finally:
        opened.close()


def claim(store: Store, owner: str, now: object, limit: int) -> list[Lease]:
    with store.leases() as conn:
        return claim_mailboxes(conn, owner, now, 5 * MINUTE, limit)  # type: ignore[arg-type]


@pytest.mark.both_databases
def test_claims_are_disjoint_expire_and_a_stale_token_writes_nothing(store: Store) -> None:
    now = now_utc()
    with store.write() as conn:
        assert ensure_mailboxes(conn, mailboxes(10), now) == 10
        assert ensure_mailboxes(conn, [m.upper() for m in mailboxes(10)], now) == 0  # one row per mailbox
    first = claim(store, "w1", now, 4)
    second = claim(store, "w2", now, 10)
    assert [x.mailbox for x in first] == mailboxes(4)
    assert [x.mailbox for x in second] == mailboxes(10)[4:]
    assert claim(store, "w3", now + MINUTE, 10) == []  # every lease still runs

    with store.write() as conn:  # w2 finishes one mailbox: due again in an hour
        assert release_lease(conn, second[0], now + 60 * MINUTE)
        assert not release_lease(conn, second[0], now)  # the token is spent
    later = now + 6 * MINUTE  # w1's and w2's leases expired: w3 takes over all but the released one
    taken = claim(store, "w3", later, 20)
    assert sorted(x.mailbox for x in taken) == sorted(set(mailboxes(10)) - {second[0].mailbox})
    assert len({x.token for x in taken} | {x.token for x in first}) == 9 + 4  # a new token per claim

    with store.write() as conn:  # w1 wakes up: its writes are refused, w3's lease stays
        assert extend_lease(conn, first[0], later, 5 * MINUTE) is None
        assert not release_lease(conn, first[0], later)
        extended = extend_lease(conn, taken[0], later, 10 * MINUTE)
        row = conn.execute(select(mailbox_sync).where(mailbox_sync.c.mailbox == first[0].mailbox)).one()
    assert (row.lease_owner, row.lease_token) == (
        "w3",
        next(x.token for x in taken if x.mailbox == row.mailbox),
    )
    assert extended is not None and extended.until == later + 10 * MINUTE


@pytest.mark.both_databases
def test_a_claim_due_by_a_runs_start_leaves_what_became_due_later(store: Store) -> None:
    """review27: `--until-idle` claims with `due_by` its start: a mailbox it gave back (due again after the start)
    is left to the next run even once it is due by the clock; one due before the start, or never run, is claimed."""
    start = now_utc()
    with store.write() as conn:
        ensure_mailboxes(conn, mailboxes(3), start)
    [worked] = claim(store, "w1", start, 1)
    with store.write() as conn:  # given back, due a minute after the run's start
        assert release_lease(conn, worked, start + MINUTE)
        conn.execute(  # another mailbox was due before the run started
            mailbox_sync.update()
            .where(mailbox_sync.c.mailbox == mailboxes(3)[1])
            .values(next_run_utc=start - MINUTE)
        )
    later = start + 2 * MINUTE  # the first is due again by the clock
    with store.leases() as conn:
        claimed = claim_mailboxes(conn, "w1", later, 5 * MINUTE, 10, due_by=start)
    assert sorted(x.mailbox for x in claimed) == mailboxes(3)[1:]
    assert [x.mailbox for x in claim(store, "w2", later, 10)] == mailboxes(1)  # without due_by: due


def test_a_claimer_skips_the_rows_another_holds_locked(postgresql: Store) -> None:
    """Two claim transactions open at once on PostgreSQL: the second neither waits for nor takes the first's rows
    (without SKIP LOCKED it would wait: lock_timeout turns that into a failure, not a hang; without FOR UPDATE it
    would see them free and take them too)."""
    now = now_utc()
    with postgresql.write() as conn:
        ensure_mailboxes(conn, mailboxes(10), now)
    with postgresql.leases() as a:
        held = claim_mailboxes(a, "a", now, 5 * MINUTE, 3)
        with postgresql.leases() as b:
            b.execute(text("SET LOCAL lock_timeout = '10s'"))
            other = claim_mailboxes(b, "b", now, 5 * MINUTE, 10)
    assert [x.mailbox for x in held] == mailboxes(3)
    assert [x.mailbox for x in other] == mailboxes(10)[3:]
    with postgresql.read() as conn:
        owners = Counter(conn.execute(select(mailbox_sync.c.lease_owner)).scalars())
    assert owners == {"a": 3, "b": 7}


def test_four_concurrent_claimers_never_get_the_same_mailbox(postgresql: Store) -> None:
    now = now_utc()
    with postgresql.write() as conn:
        ensure_mailboxes(conn, mailboxes(300), now)
    got: dict[str, list[str]] = {f"w{i}": [] for i in range(4)}
    errors: list[BaseException] = []

    def work(owner: str) -> None:
        try:
            while batch := claim(postgresql, owner, now, 7):
                got[owner] += [x.mailbox for x in batch]
        except BaseException as exc:  # reported below: a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(owner,)) for owner in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    claimed = Counter(m for batch in got.values() for m in batch)
    assert sorted(claimed) == mailboxes(300) and set(claimed.values()) == {1}
    with postgresql.read() as conn:
        rows = {r.mailbox: r.lease_owner for r in conn.execute(select(mailbox_sync))}
    assert rows == {m: owner for owner, batch in got.items() for m in batch}


def columns(store: Store) -> tuple[list[tuple[str, str, bool]], list[tuple[str, tuple[str, ...]]]]:
    """mailbox_sync's columns (name, type, nullable) and indexes (name, columns), as the database reports them."""
    with store.read() as conn:
        found = inspect(conn)
        listed = [
            (c["name"], str(c["type"]), bool(c["nullable"])) for c in found.get_columns(mailbox_sync.name)
        ]
        indexes = sorted(
            (str(i["name"]), tuple(str(c) for c in i["column_names"]))
            for i in found.get_indexes(mailbox_sync.name)
        )
    return listed, indexes


def to_v11(store: Store) -> None:
    """The database as schema 11 made it: mailbox_sync without the lease columns and their index (and without
    the later schemas' room_asks and sync_notices)."""
    with store.write() as conn:
        conn.execute(text("DROP TABLE room_asks"))
        conn.execute(text("DROP TABLE sync_notices"))
        conn.execute(text("DROP INDEX ix_mailbox_sync_next_run_utc"))
        for name in ("next_run_utc", "lease_owner", "lease_until_utc", "lease_token"):
            conn.execute(text(f"ALTER TABLE mailbox_sync DROP COLUMN {name}"))
        conn.execute(text("DELETE FROM schema_version WHERE version >= 12"))
        if conn.execute(text("SELECT count(*) FROM schema_version")).scalar() == 0:  # created at 12 or later
            conn.execute(
                text("INSERT INTO schema_version VALUES (11, '0.1.0', :now)"),
                {"now": now_utc().replace(tzinfo=None)},
            )


@pytest.mark.both_databases
def test_the_v11_to_v12_step_gives_the_columns_a_new_database_has(
    rooms_database: str, tmp_path: Path
) -> None:
    url = rooms_database or f"sqlite:///{tmp_path / 'rooms.db'}"
    if not rooms_database:
        shutil.copyfile(V1_FIXTURE, tmp_path / "rooms.db")  # SQLite: up from schema 1, through every step
    fresh = open_store(url)
    made = columns(fresh)
    to_v11(fresh)
    with fresh.write() as conn:
        ensure_mailboxes(conn, ["old@contoso.com"], now_utc())  # a mailbox synced before the upgrade
    fresh.close()
    upgraded = open_store(url)
    try:
        assert columns(upgraded) == made
        with upgraded.read() as conn:
            assert conn.execute(text("SELECT max(version) FROM schema_version")).scalar() == SCHEMA_VERSION
        assert [x.mailbox for x in claim(upgraded, "w", now_utc(), 5)] == ["old@contoso.com"]  # due, unleased
    finally:
        upgraded.close()


def test_workers_starting_together_both_queue_the_mailboxes_without_a_failure(postgresql: Store) -> None:
    """pg27c (the bench's finding: three of four workers started at once failed): worker A's ensure has inserted
    the rows, not committed; worker B's ensure saw none of them and inserts too: it waits for A's rows, then
    leaves them (ON CONFLICT DO NOTHING) instead of failing on the primary key. B is seen waiting for the lock
    before A commits (polled in pg_stat_activity: a condition, not a duration)."""
    people = mailboxes(5)
    now = now_utc()
    failures: list[BaseException] = []
    added: list[int] = []

    def worker_b() -> None:
        try:
            with postgresql.leases() as conn:
                added.append(ensure_mailboxes(conn, people, now))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    with postgresql.leases() as a:
        assert ensure_mailboxes(a, people, now) == 5
        b = threading.Thread(target=worker_b)
        b.start()
        # Bounded by polls, not by a duration: under a loaded machine (CI beside soaks) B may take seconds to
        # reach the lock (2,000 polls once did not see it); only sessions on mailbox_sync count, not other tests'.
        for _ in range(20000):
            with (
                postgresql.read() as probe
            ):  # a transaction each: pg_stat_activity is read once per transaction
                waiting = probe.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query ILIKE '%mailbox_sync%'"
                    )
                ).scalar_one()
            if waiting or not b.is_alive():
                break
            threading.Event().wait(0.01)
        assert waiting >= 1, "worker B never waited for A's rows"
    b.join(timeout=60)
    assert failures == [] and added == [5], (failures, added)  # B meant to add them; A's stand
    with postgresql.read() as conn:
        assert sorted(conn.execute(select(mailbox_sync.c.mailbox)).scalars()) == people
