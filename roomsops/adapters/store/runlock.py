"""The run lock of a server database (PostgreSQL, issue 27): held in the database itself, so every spelling of the
database's URL and every host that runs roomsops against it meet the same lock.

A session-level advisory lock (`pg_try_advisory_lock`) on a fixed key (`RUN_LOCK_KEY`) and the hash of the schema
the installation's tables are in (`current_schema()`, as the URL's search_path resolves it; advisory locks are per
database), so installations in two schemas of one database do not hold each other up; taken on a connection of its own, kept open for the run and closed after it. PostgreSQL releases it when
that connection ends, however the holder ended (a SIGKILL, a crashed host once the server notices the connection
is gone). The holder is named by the connection's `application_name` (`roomsops-sync|PID|SINCE|RUN|HOST`, RUN the
process's run id (`core/run_id.py`, review27w: PID and host do not tell two containers' processes apart), which
PostgreSQL shows every user in `pg_stat_activity`), found through `pg_locks`; a refused run names it as the file
lock's refusal does. SQLite keeps its lock file beside the database (`services/sync/lock.py`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from roomsops.adapters.store import db
from roomsops.adapters.store.db import Store, db_label
from roomsops.core.run_id import run_id

#: The advisory lock a run holds for its whole length (session level), in its two-key form (key, schema hash),
#: which never meets the writers' one-key `db.WRITE_LOCK_KEY`. Any fixed 32-bit number; this one spells "room".
RUN_LOCK_KEY = 0x726F6F6D
#: The service's own lock (`roomsops serve`: one service per database), beside the run lock: "serv".
SERVE_LOCK_KEY = 0x73657276
#: PostgreSQL keeps the first 63 bytes of application_name (NAMEDATALEN - 1).
_NAME_BYTES = 63
_HOLDER = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid = CAST(:key AS oid) AND l.objid = (hashtext(coalesce(current_schema(), '')))::oid AND l.objsubid = 2"
)
_TRY = text("SELECT pg_try_advisory_lock(CAST(:key AS integer), hashtext(coalesce(current_schema(), '')))")
_UNLOCK = text("SELECT pg_advisory_unlock(CAST(:key AS integer), hashtext(coalesce(current_schema(), '')))")
#: The shared form: sync workers (`sync --worker`, issue 27.2) hold the run lock shared, so any number of them run
#: together while a plain `sync` (exclusive) is refused beside them, and they beside it.
_TRY_SHARED = text(
    "SELECT pg_try_advisory_lock_shared(CAST(:key AS integer), hashtext(coalesce(current_schema(), '')))"
)
#: Whether this session still holds the lock (exclusive or shared): a reconnected session would not.
_MINE = text(
    "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND granted "
    "AND classid = CAST(:key AS oid) AND objid = (hashtext(coalesce(current_schema(), '')))::oid AND objsubid = 2"
)
_SCHEMA_HASH = text("SELECT hashtext(coalesce(current_schema(), ''))")
#: The sessions of processes that held the exclusive run lock of this schema (their store's connections are
#: named `roomsops-run|SCHEMA HASH|PID|HOST`, `db.run_session_name`), but not this one.
_RUNNING = text(
    "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND application_name LIKE :prefix"
)
_UNLOCK_SHARED = text(
    "SELECT pg_advisory_unlock_shared(CAST(:key AS integer), hashtext(coalesce(current_schema(), '')))"
)


@dataclass(frozen=True)
class DatabaseLock:
    """Where a server database's run lock is: the database itself (`url`, shown as `label`)."""

    url: URL
    label: str
    key: int = RUN_LOCK_KEY

    @classmethod
    def of(cls, url: URL) -> DatabaseLock:
        return cls(url, db_label(url))

    @property
    def digest(self) -> str:
        """16 hex digits naming the database (server, port, database name; not the user or password): the files
        an installation keeps per server database in a data folder other installations may share."""
        url = self.url
        where = (
            f"{url.get_backend_name()}://{(url.host or '').casefold()}:{url.port or ''}/{url.database or ''}"
        )
        schema = _search_path(url)
        if schema and schema.casefold() != "public":
            # Installations in two schemas of one database (review27s) keep files of their own; the default
            # schema's names stay as they were, so nothing moves on upgrade.
            where += f"?search_path={schema}"
        return hashlib.sha256(where.encode()).hexdigest()[:16]


def _search_path(url: URL) -> str:
    """The search_path rooms.database's URL sets (`options=-csearch_path=...`), as written, or ""."""
    options = url.query.get("options", "")
    text_ = " ".join(options) if isinstance(options, tuple) else str(options)
    found = re.search(r"search_path\s*=\s*([^\s&]+)", text_)
    return found.group(1) if found else ""


class DatabaseLockHeld(Exception):
    """Another session holds the lock: `holder` says who (`pid`, `host`, `since`; "?" where unknown)."""

    def __init__(self, holder: dict[str, object], kind: str = "?") -> None:
        super().__init__(holder)
        self.holder = holder
        self.kind = kind  # what the holder is: "sync", "worker" (a `sync --worker`), "serve", ...


def holder_name(kind: str) -> str:
    """The application_name of the lock's connection: who holds it (the host last: truncation cuts only it, never
    the run id before it)."""
    since = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    name = f"roomsops-{kind}|{os.getpid()}|{since}|{run_id()}|{socket.gethostname()}"
    return name.encode("ascii", "replace").decode("ascii")[:_NAME_BYTES]


def parse_holder(name: str | None) -> dict[str, object]:
    """Who `holder_name` says holds the lock: `pid`, `host`, `since`, `kind` ("sync", "worker", ...; `sync status`
    tells running sync workers from a plain sync by it) and `run`, the process's run id (None in the name of an
    earlier version's process: `PREFIX|PID|SINCE|HOST`)."""
    parts = (name or "").split("|", 4)
    if len(parts) not in (4, 5) or not parts[0].startswith("roomsops-"):
        return {"pid": "?", "host": "?", "since": "?", "kind": "?", "run": None}
    pid: object = int(parts[1]) if parts[1].isdigit() else parts[1]
    run = parts[3] if len(parts) == 5 else None
    return {"pid": pid, "host": parts[-1] or "?", "since": parts[2], "kind": holder_kind(name), "run": run}


def database_lock_holders(lock: DatabaseLock) -> list[dict[str, object]]:
    """Every session holding the database's run lock now (sync workers hold it shared: one each), from `pg_locks`,
    without taking the lock."""
    store = _store(lock, "status")
    try:
        with store._translated(), store._connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = conn.execute(_HOLDER, {"key": lock.key}).all()
            return [parse_holder(str(row[0] or "")) for row in rows]
    finally:
        store.close()


def _holder(conn: Connection, key: int) -> dict[str, object] | None:
    found = _holder_name(conn, key)
    return None if found is None else parse_holder(found)


def _holder_name(conn: Connection, key: int) -> str | None:
    # pg_locks shows a two-key advisory lock as classid (the first key), objid (the second), objsubid 2.
    row = conn.execute(_HOLDER, {"key": key}).first()
    return None if row is None else str(row[0] or "")


def holder_kind(name: str | None) -> str:
    """The kind `holder_name` wrote ("sync", "worker", ...), or "?"."""
    first = (name or "").split("|", 1)[0]
    return first.removeprefix("roomsops-") if first.startswith("roomsops-") else "?"


def _store(lock: DatabaseLock, kind: str) -> Store:
    """An engine of one connection that is never pooled (closing it ends the session and so the lock)."""
    engine = create_engine(lock.url, poolclass=NullPool, connect_args={"application_name": holder_name(kind)})
    return Store(engine, lock.label)


@contextmanager
def database_lock(
    lock: DatabaseLock, kind: str = "sync", shared: bool = False, named: bool = False
) -> Iterator[Callable[[], bool]]:
    """Hold the database's run lock for the block; `DatabaseLockHeld` when another session holds it (`shared`:
    held beside other shared holders, refused only by an exclusive one). A server that cannot be reached is exit 3
    (`ConnectError`, as any command's first connection). The block gets a check, `held()`: whether the lock's
    connection is still there (an idle timeout, a network failure or a server restart ends it, and PostgreSQL
    releases the lock with it); a long run asks it before each new piece of work. An exclusive holder is refused
    while another process that held it and lost it still has its named store sessions open (`_still_running`);
    `named`: this process's store connections opened in the block are so named (`db.run_session_name`)."""
    store = _store(lock, kind)
    try:
        with store._translated():  # only the lock's own statements: the block's errors pass as they are
            conn = store._connect()
        try:
            with store._translated():
                conn.execution_options(isolation_level="AUTOCOMMIT")  # a session lock; no transaction open
                taken = conn.execute(_TRY_SHARED if shared else _TRY, {"key": lock.key}).scalar()
                name = None if taken else _holder_name(conn, lock.key)
            if not taken:
                raise DatabaseLockHeld(
                    parse_holder(name) if name is not None else {"pid": "?", "host": "?", "since": "?"},
                    holder_kind(name),
                )
            mark: str | None = None
            if not shared:
                with store._translated():
                    mark = _run_mark(conn)
                    orphan = _still_running(conn, mark)
                if orphan is not None:  # the lock goes with its connection, closed below
                    raise DatabaseLockHeld(orphan, LOST)
            guard = threading.Lock()  # the pass's threads ask at once; a connection serves one at a time
            lost = [False]

            def held() -> bool:
                with guard:
                    if lost[0]:
                        return False
                    try:
                        lost[0] = not conn.execute(_MINE, {"key": lock.key}).scalar()
                    except SQLAlchemyError:  # the connection ended (invalidated): the lock went with it
                        lost[0] = True
                    return not lost[0]

            previous = db.run_session_name
            if named and mark is not None:
                # The store's connections opened from now on say who works (a one-shot command's store is opened
                # inside the lock and closed before it is released; a service's pool outlives its rounds: not named).
                db.run_session_name = mark
            try:
                yield held
            finally:
                db.run_session_name = previous
                # A lost connection released it already (SQLAlchemy then refuses the invalidated connection).
                with contextlib.suppress(SQLAlchemyError):
                    conn.execute(_UNLOCK_SHARED if shared else _UNLOCK, {"key": lock.key})
        finally:
            conn.close()
    finally:
        store.close()


#: The kind of a refusal by a process that lost its exclusive run lock (its lock's connection ended) but still
#: works on the database over its store's connections.
LOST = "lost"


def _run_mark(conn: Connection) -> str:
    """The application_name of the store's connections of a process holding the exclusive run lock (the host
    last: truncation cuts only it, never the run id before it)."""
    schema = conn.execute(_SCHEMA_HASH).scalar()
    name = f"roomsops-run|{schema}|{os.getpid()}|{run_id()}|{socket.gethostname()}"
    return name.encode("ascii", "replace").decode("ascii")[:_NAME_BYTES]


def _still_running(conn: Connection, mark: str) -> dict[str, object] | None:
    """Another process that held this schema's exclusive run lock and lost it (its lock's connection ended: an
    idle timeout, a dropped connection, pg_terminate_backend) while its store's connections are still open: it
    may be mid-write to Exchange, so the lock is not taken beside it. Its `pid` and `host`, or None."""
    prefix = mark.split("|", 2)
    pattern = f"{prefix[0]}|{prefix[1]}|%"
    mine = mark.split("|", 4)  # PREFIX|SCHEMA|PID|RUN|HOST
    for (name,) in conn.execute(_RUNNING, {"prefix": pattern}).all():
        parts = str(name or "").split("|", 4)
        if len(parts) == 5:  # named with its run id: this process's own only by it (pods all run as PID 1)
            if parts[3] == mine[3]:
                continue  # this process's own (a service's earlier round)
        elif len(parts) == 4:  # an earlier version's process: PREFIX|SCHEMA|PID|HOST
            if parts[2] == mine[2] and mine[4].startswith(parts[3]):
                continue
        else:
            continue
        pid: object = int(parts[2]) if parts[2].isdigit() else parts[2]
        return {"pid": pid, "host": parts[-1] or "?", "since": "?"}
    return None


def database_lock_holder(lock: DatabaseLock) -> dict[str, object] | None:
    """Who holds the database's run lock now, or None: read from `pg_locks`, without taking the lock."""
    store = _store(lock, "status")
    try:
        with store._translated(), store._connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            return _holder(conn, lock.key)
    finally:
        store.close()


def database_workers_ran(lock: DatabaseLock) -> bool:
    """Whether sync workers have worked this database (review27s): its mailbox queue has a next run or a lease set
    (a plain sync sets neither; a claim clears the next run while it holds the lease). Read without taking the lock; a database without the table (never synced): False."""
    store = _store(lock, "status")
    try:
        with store._translated(), store._connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            try:
                return bool(
                    conn.execute(
                        text(
                            "SELECT EXISTS (SELECT 1 FROM mailbox_sync "
                            "WHERE next_run_utc IS NOT NULL OR lease_token IS NOT NULL)"
                        )
                    ).scalar()
                )
            except SQLAlchemyError:
                return False
    finally:
        store.close()
