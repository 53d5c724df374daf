"""Opening the ROOMS database: engine set-up, one transaction per command, schema version check.

Concurrency: each command runs its changes in one `Store.write()` transaction. On SQLite that
transaction starts with ``BEGIN IMMEDIATE``, which takes the database's single write lock at once,
so a second writer waits (``busy_timeout``) until the first commits, and every check made inside
the transaction (a free room, an unknown address) still holds when its insert commits. Readers use
a deferred ``BEGIN`` and, in WAL mode, neither block nor are blocked by the writer. On other
databases, `queries.lock_room` takes a row lock (``SELECT ... FOR UPDATE``) for the same purpose.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import NullPool

from roomsops import __version__
from roomsops.adapters.store import migrations
from roomsops.adapters.store.schema import SCHEMA_VERSION, installation, metadata, schema_version
from roomsops.core.errors import InputError, OperationFailed

#: How long a writer waits for another writer before giving up (SQLite's busy handler).
BUSY_TIMEOUT_MS = 15_000
_WRITE = "roomsops_write"


def now_utc() -> datetime:
    """The timestamp written into created/updated columns (whole seconds: readable, enough)."""
    return datetime.now(UTC).replace(microsecond=0)


def _sqlite_connect(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # The driver's own transaction handling starts transactions late and never for SELECTs;
        # turn it off and let `_sqlite_begin` issue BEGIN, so reads and writes are real transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # WAL: readers never wait for the writer; NORMAL is durable enough with WAL, and fast.
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    return on_connect


def _sqlite_begin(connection: Connection) -> None:
    mode = "IMMEDIATE" if connection.get_execution_options().get(_WRITE) else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


def parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise InputError(
            f"rooms.database {url!r} is not a database URL", "write it as e.g. sqlite:///rooms.db"
        ) from None


def create_store_engine(url: str | URL, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    parsed = parse_url(url) if isinstance(url, str) else url
    try:
        if parsed.get_backend_name() == "sqlite":
            # No pool: a command uses one connection; nothing lingers holding the file open.
            engine = create_engine(parsed, poolclass=NullPool)
            event.listen(engine, "connect", _sqlite_connect(busy_timeout_ms))
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise InputError(
            f"rooms.database: no driver for {parsed.drivername!r} ({exc})",
            "use an sqlite:/// URL, or install the database's driver",
        ) from None
    return engine


class Store:
    """One ROOMS database. Every command uses one `read()` or one `write()` transaction."""

    def __init__(self, engine: Engine, label: str) -> None:
        self.engine = engine
        self.label = label

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: a consistent snapshot, never blocking the writer."""
        with self._translated(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """The one write transaction of a command: committed at the end, rolled back on any error."""
        with self._translated(), self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Database errors become roomsops errors with a remedy (exit 1 or 2), never a traceback."""
        try:
            yield
        except OperationalError as exc:
            text = str(exc.orig)
            if "locked" in text or "busy" in text:
                raise OperationFailed(
                    f"the database {self.label} is busy: another roomsops command is writing to it",
                    "try again in a moment",
                    code="database_busy",
                ) from None
            if "unable to open" in text:
                raise InputError(
                    f"cannot open the database {self.label}",
                    "check that its folder exists and is writable, or set rooms.database",
                ) from None
            raise OperationFailed(f"database error in {self.label}: {text}") from None
        except DBAPIError as exc:
            text = str(exc.orig)
            if "not a database" in text:
                raise InputError(
                    f"{self.label} is not an SQLite database",
                    "point rooms.database at a roomsops database or at a new file",
                ) from None
            raise OperationFailed(f"database error in {self.label}: {text}") from None

    def prepare(self) -> None:
        """Create a new database, or check and upgrade an existing one (refusing a newer one)."""
        with self.read() as conn:
            found = self._version(conn)
        if found == SCHEMA_VERSION:
            return
        with self.write() as conn:
            # Again under the write lock: another process may have created or upgraded it meanwhile.
            found = self._version(conn)
            if found is None:
                metadata.create_all(conn)
                now = now_utc()
                conn.execute(
                    insert(schema_version).values(
                        version=SCHEMA_VERSION, roomsops_version=__version__, applied_utc=now
                    )
                )
                conn.execute(
                    insert(installation).values(slot=1, installation_id=str(uuid.uuid4()), created_utc=now)
                )
            elif found < SCHEMA_VERSION:
                migrations.upgrade(conn, found, SCHEMA_VERSION, now_utc())

    def _version(self, conn: Connection) -> int | None:
        """The database's schema version; None for an empty database. A newer one is refused."""
        tables = set(inspect(conn).get_table_names())
        if not tables:
            return None
        if schema_version.name not in tables:
            raise InputError(
                f"{self.label} is not a roomsops database (it has tables, but no schema_version)",
                "point rooms.database at a roomsops database or at a new file",
            )
        found = conn.execute(select(func.max(schema_version.c.version))).scalar()
        if not isinstance(found, int) or found < 1:
            raise InputError(
                f"{self.label} has no valid schema version",
                "point rooms.database at a roomsops database or at a new file",
            )
        if found > SCHEMA_VERSION:
            writer = conn.execute(
                select(schema_version.c.roomsops_version).where(schema_version.c.version == found)
            ).scalar()
            raise InputError(
                f"the database {self.label} has schema version {found} (written by roomsops {writer}), "
                f"but this roomsops {__version__} knows schema versions up to {SCHEMA_VERSION}",
                f"upgrade roomsops to {writer} or newer; a database is never downgraded",
                code="database_too_new",
            )
        return found


def open_store(url: str | URL, label: str | None = None, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Store:
    """Open the database at `url`, creating or upgrading its schema; the caller closes it."""
    parsed = parse_url(url) if isinstance(url, str) else url
    shown = label or (parsed.database if parsed.get_backend_name() == "sqlite" else None) or str(parsed)
    store = Store(create_store_engine(parsed, busy_timeout_ms), shown)
    try:
        store.prepare()
    except BaseException:
        store.close()
        raise
    return store
