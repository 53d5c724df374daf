"""Opening the ROOMS database: engine set-up, one transaction per command, schema version check.

Concurrency: each command runs its changes in one `Store.write()` transaction. On SQLite that
transaction starts with ``BEGIN IMMEDIATE``, which takes the database's single write lock at once,
so a second writer waits (``busy_timeout``) until the first commits, and every check made inside
the transaction (a free room, an unknown address) still holds when its insert commits. Readers use
a deferred ``BEGIN`` and, in WAL mode, neither block nor are blocked by the writer. On other
databases, `queries.lock_room` takes a row lock (``SELECT ... FOR UPDATE``) for the same purpose.

PostgreSQL (``postgresql+psycopg://``, issue 27) keeps the same rules: a write transaction first takes one
transaction-scoped advisory lock (`WRITE_LOCK_KEY`), so writers are serialised as SQLite's BEGIN IMMEDIATE
serialises them and every check made inside the transaction still holds at its commit (READ COMMITTED: each
statement after the lock sees what the previous writer committed); a read transaction is REPEATABLE READ, one
consistent snapshot like SQLite's WAL reader. A server that cannot be reached is exit 3.

The installation id (tagged on every meeting the sync writes) is also remembered in a file beside an
SQLite database, `rooms.db.installation-id`: a database deleted, emptied or replaced by another is refused
(exit 2) until `adopt_installation_id` settles which id holds, so meetings never silently become foreign.
Beside it, `rooms.db.booking-ids` remembers the highest booking id this installation gave: a database
re-created (`db adopt-id --use remembered`) or restored from an older copy starts above it, so a booking id
(which the sync's tag carries) is never given again to another booking while its old meeting may still exist.
A new database file is created owner-only (0600; SQLite gives its -wal and -shm files the same mode).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, inspect, select, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool, QueuePool

from roomsops import __version__
from roomsops.adapters.appsettings.document import write_atomic
from roomsops.adapters.store import migrations
from roomsops.adapters.store.schema import (
    SCHEMA_VERSION,
    bookings,
    id_high_water,
    installation,
    metadata,
    schema_version,
)
from roomsops.core.errors import ConnectError, InputError, OperationFailed
from roomsops.core.secrets import mask_url_secrets
from roomsops.core.secure_files import create_private
from roomsops.core.settings import SYNC_CONCURRENCY_MAX

#: How long a writer waits for another writer before giving up (SQLite's busy handler).
BUSY_TIMEOUT_MS = 15_000
_WRITE = "roomsops_write"
#: The PostgreSQL advisory lock every write transaction takes first (`pg_advisory_xact_lock`): one writer at a
#: time, as on SQLite. Any fixed 64-bit number; this one spells "roomsops" in ASCII.
WRITE_LOCK_KEY = 0x726F6F6D736F7073
#: A server database's connection pool: every mailbox of a sync at the highest `sync.concurrency` at once, and a
#: margin for the rest of the process (`roomsops serve`'s listeners, a worker's lease renewals, the status reads).
#: Five stay open between uses; the rest are opened when needed and closed when given back.
POOL_CONNECTIONS = SYNC_CONCURRENCY_MAX + 8
POOL_KEPT = 5
#: Seconds a connection is waited for when all POOL_CONNECTIONS are in use (then a one-line error, exit 1).
POOL_TIMEOUT_S = 30.0
ID_FILE_SUFFIX = ".installation-id"
HIGH_WATER_SUFFIX = ".booking-ids"
ADOPT_COMMAND = "roomsops db adopt-id"
_RESTORE = "restore it from a backup (with roomsops stopped)"


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


#: `sqlite://rooms.db`, `sqlite://C:/ROOMS/rooms.db`: a file written after two slashes, where SQLite takes three
#: (two slashes make it a host name, which SQLite has none of; `sqlite://` alone is an in-memory database).
_SQLITE_TWO_SLASHES = re.compile(r"(?i)^(sqlite(?:\+\w+)?)://(?![/?])(.+)$")


def parse_url(url: str) -> URL:
    shown = mask_url_secrets(url)
    two_slashes = _SQLITE_TWO_SLASHES.match(shown)
    if two_slashes:
        raise InputError(
            f"rooms.database {shown!r} has two slashes after '{two_slashes[1]}:'; an SQLite file takes three, "
            "then its path",
            f"write it as {two_slashes[1]}:///{two_slashes[2]} (an absolute path on Linux takes four: "
            "sqlite:////var/lib/roomsops/rooms.db)",
            code="bad_database_url",
        )
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number (`host:/db`)
        raise InputError(
            f"rooms.database {shown!r} is not a database URL",
            "write it as e.g. sqlite:///rooms.db",
        ) from None
    _refuse_server_spelling(url, parsed, shown, f"rooms.database {shown!r}")
    if _sqlite_in_memory(parsed):
        # Each command (each connection: no pool) would get a new, empty database: "no such table" every time.
        raise InputError(
            f"rooms.database {shown!r} names no database file (an in-memory database keeps nothing between "
            "commands); nothing was changed",
            f"write it as {parsed.drivername}:///rooms.db, or with an absolute path (on Linux four slashes: "
            "sqlite:////var/lib/roomsops/rooms.db; on Windows sqlite:///C:/ROOMS/rooms.db)",
            code="bad_database_url",
        )
    return parsed


_SERVER_URL_EXAMPLE = "postgresql+psycopg://roomsops@dbhost/rooms"
#: `postgres://`, the scheme psql, libpq and hosting panels hand out, which SQLAlchemy does not take (review27w).
_POSTGRES_SCHEME = re.compile(r"(?i)^postgres(?:\+\w+)?://")


#: The user name and password of a URL as SQLAlchemy reads them: the password runs to the first "@" after it.
_USERINFO_WITH_PASSWORD = re.compile(r"^[\w+]+://[^:/]*:[^@]*@")


def _refuse_server_spelling(raw: str, parsed: URL, shown: str, what: str) -> None:
    """A server URL spelt as other tools spell it, or with a port no server listens on: bad input (exit 2) with
    the URL to write, before any connection is tried (review27w: libpq's "invalid port number" read as a server
    that is not reached, exit 3; `postgres://` sent to SQLite or a driver to install; review2627: a password with
    an unescaped "@", whose tail libpq quotes as the host it cannot resolve)."""
    userinfo = _USERINFO_WITH_PASSWORD.match(raw)
    if userinfo and "@" in raw[userinfo.end() :]:
        # SQLAlchemy ends the password at its first "@" and takes the rest for the host (or database): nothing of
        # it may be shown, so no host, port or database is named either.
        raise InputError(
            f"{what} has an '@' in its password (or another '@' after it): the password would end at its first "
            "'@' and the rest be taken as the host name",
            "percent-encode the password: write each '@' in it as %40 (and ':' as %3A, '/' as %2F), e.g. "
            "postgresql+psycopg://roomsops:p%40ss@dbhost/rooms",
            code="bad_database_url",
        )
    if _POSTGRES_SCHEME.match(shown):
        raise InputError(
            f"{what} uses the scheme 'postgres://', which roomsops does not read",
            f"write it as {_POSTGRES_SCHEME.sub('postgresql+psycopg://', shown)} (postgresql+psycopg://: the "
            "driver roomsops installs is psycopg)",
            code="bad_database_url",
        )
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise InputError(
            f"{what} has the port {parsed.port}, which is out of range (1 to 65535)",
            "correct the port after the host name (PostgreSQL's default is 5432; leave it out for that)",
            code="bad_database_url",
        )
    _refuse_query_ports(parsed, what)


def _query_values(parsed: URL, key: str) -> list[str]:
    value = parsed.query.get(key)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _refuse_query_ports(parsed: URL, what: str) -> None:
    """The ports of libpq's query form (`?host=/var/run/postgresql&port=5433`, `?host=h1:5432&host=h2:5433`,
    `?host=h1,h2&port=5432,5433`): each a number from 1 to 65535, and as many ports as hosts (review2627: out of
    range was libpq's "invalid port number", exit 3; no number an unexpected ArgumentError of SQLAlchemy)."""
    if parsed.get_backend_name() != "postgresql":
        return
    hosts = [h for value in _query_values(parsed, "host") for h in value.split(",")]
    ports = [p for value in _query_values(parsed, "port") for p in value.split(",")]
    # `host=h:5432` (a host name's port; a Unix socket's directory starts with "/" and has none)
    host_ports = [h.partition(":")[2] for h in hosts if h.count(":") == 1 and not h.startswith("/")]
    for port in ports + host_ports:
        if port.strip() and not (port.strip().isdigit() and 1 <= int(port) <= 65535):
            raise InputError(
                f"{what} has the port {port!r} in its query, which is no port (a number from 1 to 65535)",
                "correct the port in the URL's query (PostgreSQL's default is 5432; leave port= out for that)",
                code="bad_database_url",
            )
    if host_ports and ports:
        raise InputError(
            f"{what} gives ports both in its query's host= (host:port) and as port=",
            "give them one way: host=h1:5432&host=h2:5433, or host=h1,h2&port=5432,5433",
            code="bad_database_url",
        )
    if (len(ports) > 1 and len(ports) != len(hosts)) or (len(hosts) > 1 and len(ports) == 1):
        raise InputError(
            f"{what} has {len(ports)} port(s) for {len(hosts)} host(s) in its query",
            "give one port per host (host=h1,h2&port=5432,5433), or one host and one port",
            code="bad_database_url",
        )


def parse_target_url(to: str) -> URL:
    """`db copy --to URL`: parsed, and its driver loadable; errors name --to and give a server URL (the copy's
    target is a database server, never an SQLite file: the caller refuses one)."""
    shown = mask_url_secrets(to)
    try:
        parsed = make_url(to)
    except (ArgumentError, ValueError):
        raise InputError(
            f"--to {shown!r} is not a database URL",
            f"give a server URL such as {_SERVER_URL_EXAMPLE}",
            code="bad_database_url",
        ) from None
    _refuse_server_spelling(to, parsed, shown, f"--to {shown!r}")
    try:
        parsed.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError):
        raise InputError(
            f"--to {shown!r}: no driver for {parsed.drivername!r}",
            f"give a server URL such as {_SERVER_URL_EXAMPLE} (the driver roomsops installs is psycopg)",
            code="bad_database_url",
        ) from None
    return parsed


def _sqlite_in_memory(parsed: URL) -> bool:
    """An SQLite URL without a file: `sqlite://`, `sqlite:///` (an empty ${DB} in `sqlite:///${DB}`),
    `sqlite:///:memory:`, and the URI forms `file::memory:`, `file:` and `?mode=memory`."""
    if parsed.get_backend_name() != "sqlite":
        return False
    name = parsed.database or ""
    if name.startswith("file:"):
        name = name.removeprefix("file:")
        if parsed.query.get("mode") == "memory":
            return True
    return name in ("", ":memory:")


def without_nul(value: Any) -> Any:
    """`value` with NUL characters taken out of its strings (a dict, list or tuple of parameters: each)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_nul(v) for v in value)
    return value


def _strip_nul(
    _conn: Connection, _cursor: object, statement: str, parameters: Any, _context: object, _many: bool
) -> tuple[str, Any]:
    """PostgreSQL's text cannot hold a NUL character (U+0000), which SQLite and Exchange take (a meeting subject
    from Microsoft Graph may have one): every string sent to PostgreSQL loses its NULs here, the store's boundary,
    so such a value is stored without them instead of failing the write (README "Scaling out")."""
    return statement, without_nul(parameters)


#: The application_name of the store connections a process opens while it holds a server database's exclusive
#: run lock (`runlock.database_lock`): a process that lost that lock is still seen working by the next to take it.
run_session_name: str | None = None


def _named_session(_dialect: object, _record: object, _args: object, params: dict[str, Any]) -> None:
    if run_session_name is not None:
        params.setdefault("application_name", run_session_name)


def create_store_engine(
    url: str | URL,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    pool_connections: int = POOL_CONNECTIONS,
    pool_timeout_s: float = POOL_TIMEOUT_S,
) -> Engine:
    parsed = parse_url(url) if isinstance(url, str) else url
    try:
        if parsed.get_backend_name() == "sqlite":
            # No pool: a command uses one connection; nothing lingers holding the file open.
            engine = create_engine(parsed, poolclass=NullPool)
            event.listen(engine, "connect", _sqlite_connect(busy_timeout_ms))
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(
                parsed,
                pool_pre_ping=True,
                pool_size=min(POOL_KEPT, pool_connections),
                max_overflow=max(0, pool_connections - POOL_KEPT),
                pool_timeout=pool_timeout_s,
            )
            if parsed.get_backend_name() == "postgresql":
                event.listen(engine, "before_cursor_execute", _strip_nul, retval=True)
                event.listen(engine, "do_connect", _named_session)
    except (NoSuchModuleError, ImportError) as exc:
        raise InputError(
            f"rooms.database: no driver for {parsed.drivername!r} ({exc})",
            "use an sqlite:/// URL, or install the database's driver",
        ) from None
    return engine


class Store:
    """One ROOMS database. Every command uses one `read()` or one `write()` transaction."""

    def __init__(self, engine: Engine, label: str, setting: str = "rooms.database") -> None:
        self.engine = engine
        self.label = label
        #: What gave this database's URL, for messages and remedies: rooms.database, or `db copy`'s --to.
        self.setting = setting
        #: The SQLite file whose booking-id high-water mark is remembered beside it, and the mark written.
        self.high_water_path: Path | None = None
        self.high_water_remembered = 0

    @property
    def _its(self) -> str:
        """Whose URL, in a remedy: "rooms.database's", "the --to URL's"."""
        return f"{self.setting}'s" if self.setting.startswith("rooms.") else f"the {self.setting} URL's"

    @property
    def _another(self) -> str:
        """The remedy for a database that is not a roomsops one."""
        if self.setting.startswith("rooms."):
            return f"point {self.setting} at a roomsops database or at a new file"
        return f"give {self.setting} an empty database (or schema) or an earlier copy of this installation"

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: a consistent snapshot, never blocking the writer."""
        with self._translated(), self._connect() as conn:
            if self.is_postgresql:
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """The one write transaction of a command: committed at the end, rolled back on any error."""
        with self._translated(), self._connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                if self.is_postgresql:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
                yield conn
                if self.high_water_path is not None:
                    # Before the commit: a mark that cannot be written rolls the change back.
                    self._remember_high_water(conn, self.high_water_path)

    @contextmanager
    def leases(self) -> Iterator[Connection]:
        """A write transaction for statements that keep themselves apart with row locks (`leases.claim_mailboxes`:
        ``FOR UPDATE SKIP LOCKED``): on PostgreSQL without the writers' advisory lock, so many workers claim at once;
        on SQLite the same as `write` (its one write lock). Commit at once: rows stay locked until then."""
        if not self.is_postgresql:
            with self.write() as conn:
                yield conn
            return
        with self._translated(), self._connect() as conn, conn.begin():
            yield conn

    def _remember_high_water(self, conn: Connection, path: Path) -> None:
        highest = booking_high_water(conn)
        if highest > self.high_water_remembered:
            _write_beside(high_water_file(path), f"{highest}\n")
            self.high_water_remembered = highest

    def close(self) -> None:
        self.engine.dispose()

    def _connect(self) -> Connection:
        """A connection; a database server that cannot be reached (or refuses the login) is exit 3."""
        if self.is_sqlite:
            return self.engine.connect()
        try:
            return self.engine.connect()
        except PoolTimeout:
            pool = self.engine.pool
            size, waited = (
                (pool.size() + max(0, pool._max_overflow), pool._timeout)
                if isinstance(pool, QueuePool)
                else (POOL_CONNECTIONS, POOL_TIMEOUT_S)
            )
            raise OperationFailed(
                f"all {size} connections to the database {self.label} stayed in use for {waited:g} s",
                "run the command again; if it recurs, lower sync.concurrency and report it (the pool holds "
                f"{SYNC_CONCURRENCY_MAX} mailboxes at once and a margin)",
                code="database_pool_exhausted",
            ) from None
        except DBAPIError as exc:
            first = (
                str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
            )
            if _BAD_URL_OPTION.search(first):  # libpq refused the URL's query before connecting: bad input
                raise InputError(
                    f"{self.setting} {self.label} has a bad connection option: {mask_url_secrets(first)}",
                    "correct that option in the URL's query (libpq's connection parameters, e.g. sslmode=require, "
                    "connect_timeout=10)",
                    code="database_url_option",
                ) from None
            raise ConnectError(
                f"cannot connect to the database {self.label}: {mask_url_secrets(first)}",
                f"check that the database server runs and accepts connections, and {self._its} host, port, "
                "user, password and database name",
                code="database_unreachable",
            ) from None

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Database errors become roomsops errors with a remedy (exit 1 or 2), never a traceback."""
        try:
            yield
        except OperationalError as exc:
            text = str(exc.orig)
            if "readonly" in text or "read-only" in text:
                raise InputError(
                    f"the database {self.label} is read-only for this account",
                    f"give the account that runs roomsops write access to {self.label} and to its folder "
                    "(SQLite writes its -wal and -shm files beside it), or point rooms.database at a writable copy",
                    code="database_read_only",
                ) from None
            if "malformed" in text:
                raise _corrupt(self.label, text) from None
            if "locked" in text or "busy" in text:
                raise OperationFailed(
                    f"the database {self.label} is busy: another roomsops command is writing to it",
                    "try again in a moment",
                    code="database_busy",
                ) from None
            if self.is_postgresql and _CONNECTION_LOST.search(text):
                raise ConnectError(
                    f"the connection to the database {self.label} was lost: {mask_url_secrets(text.splitlines()[0])}",
                    "check that the database server runs (a restart or failover ends sessions), then run the "
                    "command again: what was not committed is done again",
                    code="database_unreachable",
                ) from None
            if "unable to open" in text:
                raise InputError(
                    f"cannot open the database {self.label}",
                    "check that its folder exists and is writable, or set rooms.database",
                ) from None
            raise OperationFailed(f"database error in {self.label}: {mask_url_secrets(text)}") from None
        except DBAPIError as exc:
            text = str(exc.orig)
            if self.is_postgresql and "no schema has been selected" in text:
                wanted = re.search(
                    r"search_path\s*=\s*([^\s&]+)", str(self.engine.url.query.get("options", ""))
                )
                schema = wanted.group(1) if wanted else "of search_path"
                raise InputError(
                    f"the schema {schema} that {self._its} search_path names does not exist in {self.label}",
                    f"create it (CREATE SCHEMA {schema if wanted else '<name>'}) or correct search_path in the "
                    "URL's options",
                    code="database_schema_missing",
                ) from None
            if "not a database" in text:
                raise InputError(
                    f"{self.label} is not an SQLite database",
                    self._another,
                ) from None
            if "malformed" in text:
                raise _corrupt(self.label, text) from None
            raise OperationFailed(f"database error in {self.label}: {mask_url_secrets(text)}") from None

    def prepare(self, new_installation_id: str | None = None) -> None:
        """Create a new database (with `new_installation_id`, else a new one), or check and upgrade an
        existing one (refusing a newer one)."""
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
                    insert(installation).values(
                        slot=1, installation_id=new_installation_id or str(uuid.uuid4()), created_utc=now
                    )
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
                self._another,
            )
        found = conn.execute(select(func.max(schema_version.c.version))).scalar()
        if not isinstance(found, int) or found < 1:
            raise InputError(
                f"{self.label} has no valid schema version",
                self._another,
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


def _corrupt(label: str, text: str) -> InputError:
    return InputError(
        f"the database {label} is damaged ({text})",
        f"{_RESTORE}; `sqlite3 {label} .recover` can save what is left into a new file",
        code="database_corrupt",
    )


def open_store(
    url: str | URL,
    label: str | None = None,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    setting: str = "rooms.database",
) -> Store:
    """Open the database at `url`, creating or upgrading its schema; the caller closes it.

    An SQLite file whose installation id differs from the one remembered beside it, or that is missing
    or empty (0 bytes) while an id is remembered, is refused (exit 2)."""
    parsed = parse_url(url) if isinstance(url, str) else url
    shown = _label(parsed, label)
    path = sqlite_file(parsed)
    if path is not None:
        _check_before_open(path, shown)
    store = _open(parsed, shown, busy_timeout_ms, setting=setting)
    try:
        if path is not None:
            _check_installation_id(store, path)
            _apply_high_water(store, path)
    except BaseException:
        store.close()
        raise
    return store


def db_label(parsed: URL) -> str:
    """How messages name the database: an SQLite file's path; a server URL without its password."""
    return _label(parsed, None)


def _label(parsed: URL, label: str | None) -> str:
    if label:
        return label
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or str(parsed)
    return mask_url_secrets(parsed.render_as_string(hide_password=True))


def _open(
    parsed: URL,
    shown: str,
    busy_timeout_ms: int,
    new_installation_id: str | None = None,
    setting: str = "rooms.database",
) -> Store:
    store = Store(create_store_engine(parsed, busy_timeout_ms), shown, setting)
    try:
        try:
            store.prepare(new_installation_id)
        except OperationFailed as exc:
            if exc.code != "database_busy":
                raise
            # Not even the schema could be read: something holds the whole file (a sqlite3 shell in an
            # exclusive transaction, a backup tool). Nothing was done.
            raise InputError(
                f"the database {shown} is locked by another program",
                "close what holds it (a sqlite3 shell, a backup or copy tool, another roomsops command), "
                "then run the command again",
                code="database_locked",
            ) from None
    except BaseException:
        store.close()
        raise
    return store


# ---------------------------------------------------------------- the installation id beside the file


def sqlite_file(parsed: URL) -> Path | None:
    """The file of an SQLite URL (None for in-memory and URI databases, and for other databases)."""
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def id_file(path: Path) -> Path:
    """Where the installation id of the database at `path` is remembered."""
    return path.with_name(path.name + ID_FILE_SUFFIX)


#: A UUID and a line break; more is not an id file (read no further: it may be a link to /dev/zero).
_ID_FILE_MAX_BYTES = 256


def _read_id_file(target: Path) -> str:
    """The id file's text: a regular file only (a FIFO would block for ever), at most 256 bytes read."""
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(
            f"{target} is not a regular file",
            f"remove it and run `{ADOPT_COMMAND} --use database`, or restore it from a backup",
        )
    with os.fdopen(fd, "rb") as stream:
        return stream.read(_ID_FILE_MAX_BYTES + 1).decode("utf-8")


def remembered_id(path: Path) -> str | None:
    try:
        text = _read_id_file(id_file(path)).strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read {id_file(path)}: {exc}",
            "give the account that runs roomsops read access to it; it holds this installation's id",
        ) from None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise InputError(
            f"{id_file(path)} does not hold an installation id (a UUID)",
            f"restore it from a backup, or remove it and run `{ADOPT_COMMAND} --use database`",
        ) from None


def _remember(path: Path, installation_id: str) -> None:
    _write_beside(id_file(path), installation_id + "\n")


def high_water_file(path: Path) -> Path:
    """Where the highest booking id the installation of the database at `path` ever gave is remembered."""
    return path.with_name(path.name + HIGH_WATER_SUFFIX)


def remembered_high_water(path: Path) -> int:
    """The remembered booking-id high-water mark (0: none remembered yet)."""
    target = high_water_file(path)
    try:
        text = _read_id_file(target).strip()
    except FileNotFoundError:
        return 0
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read {target}: {exc}",
            "give the account that runs roomsops read access to it; it holds the highest booking id given",
        ) from None
    if not text.isdigit():
        raise InputError(
            f"{target} does not hold a booking id (a whole number)",
            "restore it from a backup; or, if the database is the newest one, remove it (the database's "
            "own mark is remembered again)",
        )
    return int(text)


def booking_high_water(conn: Connection) -> int:
    """The highest booking id the database has or ever gave."""
    highest = conn.execute(select(func.max(bookings.c.id))).scalar() or 0
    ever = conn.execute(select(id_high_water.c.value).where(id_high_water.c.name == "bookings")).scalar() or 0
    return max(int(highest), int(ever))


def _apply_high_water(store: Store, path: Path) -> None:
    """The database gives no booking id at or below the remembered mark (it was re-created or restored from
    an older copy), and the mark follows the database's from now on."""
    remembered = remembered_high_water(path)
    with store.read() as conn:
        current = booking_high_water(conn)
    if remembered > current:
        with store.write() as conn:
            raised = conn.execute(
                update(id_high_water)
                .where(id_high_water.c.name == "bookings", id_high_water.c.value < remembered)
                .values(value=remembered)
            )
            if raised.rowcount == 0 and (
                conn.execute(select(id_high_water.c.value).where(id_high_water.c.name == "bookings")).first()
                is None
            ):
                conn.execute(insert(id_high_water).values(name="bookings", value=remembered))
    elif current > remembered:
        _write_beside(high_water_file(path), f"{current}\n")
        remembered = current
    store.high_water_remembered = remembered
    store.high_water_path = path


def _write_beside(target: Path, text: str) -> None:
    """Replace `target` (a file beside the database) with `text` atomically: a new file owner-only,
    an existing one keeping its access rules; a symbolic link stays a link, its target is written."""
    write_atomic(target, text.encode("utf-8"), backup=False, create_target=True)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None
    except OSError:
        return -1  # let SQLite say what is wrong


def _refuse_special_file(path: Path, shown: str) -> None:
    """A FIFO or device where the database should be: SQLite would fail on it with "disk I/O error" (exit 1)
    or block; it is bad configuration (exit 2)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # missing or unreachable: the callers say what is wrong
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise InputError(
            f"the database {shown} is not a regular file",
            "point rooms.database at the SQLite database file",
            code="database_not_a_file",
        )


def _check_before_open(path: Path, shown: str) -> None:
    _refuse_special_file(path, shown)
    size = _size(path)
    remembered = remembered_id(path)
    if size not in (None, 0):
        return
    state = "does not exist" if size is None else "is empty (0 bytes)"
    if remembered is not None:
        raise InputError(
            f"the database {shown} {state}, but this installation's id {remembered} is remembered in "
            f"{id_file(path).name}: the meetings the sync wrote carry it, and a new database would treat "
            "them as foreign for ever",
            f"{_RESTORE}, or point rooms.database at it; to start an empty database that keeps this id, "
            f"run `{ADOPT_COMMAND} --use remembered`",
            code="database_missing",
        )
    # Empty with nothing remembered: new (another command may be creating it right now; `prepare` waits
    # for it under the write lock), or emptied before this roomsops ever opened it (undetectable).
    with contextlib.suppress(OSError):  # a missing folder: SQLite reports it as "cannot open the database"
        create_private(path)


def _database_id(store: Store) -> str:
    with store.read() as conn:
        return str(conn.execute(select(installation.c.installation_id)).scalar_one())


def _check_installation_id(store: Store, path: Path) -> None:
    current = _database_id(store)
    remembered = remembered_id(path)
    if remembered is None:
        _remember(path, current)  # a new database, or one from before the id was remembered
    elif remembered != current:
        raise InstallationIdChanged(store.label, current, remembered, id_file(path).name)


class InstallationIdChanged(InputError):
    """The database carries another installation id than the one remembered beside it (exit 2)."""

    code = "installation_id_changed"

    def __init__(self, label: str, current: str, remembered: str, id_file_name: str) -> None:
        super().__init__(
            f"the database {label} has installation id {current}, but {remembered} is remembered in "
            f"{id_file_name}: the database was re-created or replaced, and the meetings the sync wrote "
            f"with {remembered} would be foreign to it (never updated or cancelled again)",
            f"restore the database that has id {remembered}; or run `{ADOPT_COMMAND} --use remembered` "
            f"to give this database that id, or `{ADOPT_COMMAND} --use database` to keep {current}",
        )


# libpq's refusals of a URL's query, before any connection: "invalid connection option "x"", "invalid sslmode
# value: "requir"", "bad value for connect_timeout: 'ten'" (psycopg 3).
_BAD_URL_OPTION = re.compile(r"invalid connection option|invalid \w+ value|bad value for ")
# A PostgreSQL session that ended under the command (server restart, failover, pg_terminate_backend).
_CONNECTION_LOST = re.compile(
    r"terminating connection|server closed the connection|connection is (lost|closed|bad)|consuming input failed"
)


@dataclass(frozen=True)
class InstallationIds:
    """What the database and the file beside it say (None: no database, or nothing remembered)."""

    path: Path
    database: str | None
    remembered: str | None


def installation_ids(url: str | URL) -> InstallationIds:
    """Both installation ids of an SQLite database, read without creating, upgrading or checking anything."""
    parsed = parse_url(url) if isinstance(url, str) else url
    path = sqlite_file(parsed)
    if path is None:
        raise InputError(
            "the installation id is remembered beside SQLite database files only",
            "rooms.database is no SQLite file: there is nothing to adopt",
        )
    database = None
    _refuse_special_file(path, str(path))
    if _size(path):
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
                row = conn.execute("SELECT installation_id FROM installation").fetchone()
        except sqlite3.Error as exc:
            raise InputError(
                f"cannot read the installation id of {path}: {exc}",
                f"{_RESTORE}, or point rooms.database at it",
            ) from None
        database = str(row[0]) if row else None
    return InstallationIds(path, database, remembered_id(path))


def adopt_installation_id(
    url: str | URL, use: Literal["database", "remembered"], busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> InstallationIds:
    """Make the database and the file beside it agree; returns the ids as they were before.

    `remembered`: the database takes the remembered id (an empty or missing one is created with it);
    `database`: the database's id is remembered."""
    parsed = parse_url(url) if isinstance(url, str) else url
    before = installation_ids(parsed)
    path, shown = before.path, _label(parsed, None)
    if use == "database":
        if before.database is None:
            raise InputError(
                f"the database {shown} has no installation id to keep (it is missing or empty)",
                f"{_RESTORE}, or run `{ADOPT_COMMAND} --use remembered`",
            )
        _open(parsed, shown, busy_timeout_ms).close()  # upgraded and checked like any open
        _remember(path, before.database)
        return before
    if before.remembered is None:
        raise InputError(
            f"no installation id is remembered beside {shown} ({id_file(path).name} does not exist)",
            f"run `{ADOPT_COMMAND} --use database`, or open the database once: its id is remembered then",
        )
    if before.database is None:
        with contextlib.suppress(OSError):
            create_private(path)
    store = _open(parsed, shown, busy_timeout_ms, new_installation_id=before.remembered)
    try:
        with store.write() as conn:
            conn.execute(update(installation).values(installation_id=before.remembered))
    finally:
        store.close()
    return before
