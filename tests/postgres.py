"""The PostgreSQL server the tests use (issue 27): where it is, and a throwaway database per test session.

`PGTEST_URL` (an SQLAlchemy URL) names the server's maintenance database; by default the one this project's
machines start before each session (127.0.0.1:5432, trust authentication, database `test`). `scripts/test` sets it
when it started a throwaway server itself, and sets it empty when there is none: the PostgreSQL tests are then
skipped with a notice, unless `PGTEST_REQUIRED=1` (`.ci/run`) makes them fail. The names are not ROOMSOPS_*: the
tests clear those.

Each session (each pytest-xdist worker) creates its own database, `roomsops_test_<pid>_<random>`, and drops it at
the end; each test gets its own schema in it (the URL's `options=-csearch_path=...`), dropped after the test. So
parallel workers and other sessions on the same server never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import URL, make_url

URL_VARIABLE = "PGTEST_URL"
REQUIRED_VARIABLE = "PGTEST_REQUIRED"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    """The server's URL ("" when `scripts/test` found none)."""
    return os.environ.get(URL_VARIABLE, DEFAULT_URL)


def required() -> bool:
    return os.environ.get(REQUIRED_VARIABLE, "") not in ("", "0")


def libpq(url: URL | str) -> str:
    """The URL as psycopg takes it (a libpq URI: no `+psycopg`)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def admin(url: URL | str) -> Iterator[psycopg.Connection]:
    """An autocommit connection (CREATE/DROP DATABASE cannot run in a transaction)."""
    with psycopg.connect(libpq(url), autocommit=True, connect_timeout=5) as conn:
        yield conn


def quoted(name: str) -> str:
    assert name.replace("_", "").isalnum(), name
    return f'"{name}"'


def create_database(server: str) -> URL:
    """A new, empty database on the server, for this session."""
    name = f"roomsops_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin(server) as conn:
        conn.execute(f"CREATE DATABASE {quoted(name)}".encode())
    return make_url(server).set(database=name)


def drop_database(server: str, database: URL) -> None:
    with admin(server) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {quoted(str(database.database))} WITH (FORCE)".encode())


def create_schema(database: URL) -> tuple[str, str]:
    """A new schema in the session's database; (its name, the roomsops URL whose tables live in it)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with admin(database) as conn:
        conn.execute(f"CREATE SCHEMA {quoted(name)}".encode())
    url = database.update_query_dict({"options": f"-csearch_path={name}"})
    return name, url.render_as_string(hide_password=False)


def drop_schema(database: URL, name: str) -> None:
    with admin(database) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {quoted(name)} CASCADE".encode())
