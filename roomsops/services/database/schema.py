"""`roomsops db upgrade` and `roomsops db copy --to URL`: the database's schema, and moving an installation to
another database (an SQLite file to PostgreSQL, issue 27)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import URL

from roomsops.adapters.store import db
from roomsops.adapters.store.copy import TableCopy, copy_rows
from roomsops.adapters.store.db import Store, create_store_engine, sqlite_file
from roomsops.adapters.store.schema import SCHEMA_VERSION
from roomsops.core.errors import InputError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.settings import Settings
from roomsops.services.rooms.common import database_url, open_database


@dataclass(frozen=True)
class Upgraded(Result):
    database: str
    before: int | None  # None: the database was empty, its schema created
    after: int

    def lines(self) -> list[str]:
        if self.before == self.after:
            return [f"{self.database}: schema version {self.after} (up to date)"]
        if self.before is None:
            return [f"{self.database}: schema version {self.after} (created)"]
        return [f"{self.database}: schema version {self.before} -> {self.after} (upgraded)"]


def _version_now(url: URL, label: str) -> int | None:
    """The schema version of the database as it is (None: empty), read without creating or upgrading it."""
    store = Store(create_store_engine(url), label)
    try:
        with store.read() as conn:
            return store._version(conn)
    finally:
        store.close()


def upgrade(settings: Settings, audit: AuditLog) -> Upgraded:
    """Create the schema in an empty database, or upgrade an older one to this roomsops' schema version."""
    url = database_url(settings)
    path = sqlite_file(url)
    label = db.db_label(url)
    if path is not None and not path.resolve().exists():
        raise InputError(  # the code of every command that needs a database where there is none (review21w)
            f"there is no database at {path}",
            "check rooms.database (and ROOMSOPS_SETTINGS, the data folder) leads to the database; a new one is "
            "made by 'roomsops persons add EMAIL' or 'roomsops rooms add EMAIL --name NAME'",
            code="no_database",
        )
    before = _version_now(url, label)
    with open_database(settings) as store:
        label = store.label
    if before != SCHEMA_VERSION:
        audit.record("db.upgrade", label, {"from": before, "to": SCHEMA_VERSION}, "ok")
    return Upgraded(database=label, before=before, after=SCHEMA_VERSION)


@dataclass(frozen=True)
class Copied(Result):
    source: str
    target: str
    figures: tuple[TableCopy, ...]  # per table, parents first

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.figures)

    def lines(self) -> list[str]:
        out = [f"{self.source} -> {self.target}"]
        for t in self.figures:
            out.append(
                f"  {t.table}: {t.source} in the source, {t.copied} copied, {t.present} already there, "
                f"{t.target} in the target"
            )
        out.append(f"{self.copied} row(s) copied; every row of the source is in the target")
        return out


def copy(settings: Settings, to: str, audit: AuditLog) -> Copied:
    """Copy the database of these settings into the (server) database at `to`; see `adapters.store.copy`."""
    target_url = db.parse_target_url(to)
    if target_url.get_backend_name() == "sqlite":
        raise InputError(
            f"--to {target_url.render_as_string(hide_password=True)!r} is an SQLite database; the copy moves an "
            "installation to a database server",
            "give a server URL such as postgresql+psycopg://roomsops@dbhost/rooms (copy an SQLite file as a "
            "whole with roomsops stopped)",
            code="bad_database_url",
        )
    source_url = database_url(settings)
    shown_target = db.db_label(target_url)
    if source_url.render_as_string(hide_password=False) == target_url.render_as_string(hide_password=False):
        raise InputError(f"--to {shown_target} is rooms.database itself", "give the URL of another database")
    path = sqlite_file(source_url)
    if path is not None and not path.resolve().exists():
        raise InputError(
            f"there is no database at {path} to copy", "check rooms.database", code="database_missing"
        )
    with open_database(settings) as source:
        target = db.open_store(target_url, setting="--to")
        try:
            figures = copy_rows(source, target)
        finally:
            target.close()
        result = Copied(source=source.label, target=target.label, figures=tuple(figures))
    audit.record(
        "db.copy",
        result.target,
        {"source": result.source, "copied": result.copied},
        "ok",
    )
    return result
