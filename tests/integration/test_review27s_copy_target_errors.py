"""review27s: `db copy --to URL` whose target is refused at connection time (a bad libpq option, a search_path to
a missing schema, a server that does not answer) blames rooms.database — the source, which is fine — and its remedy
sends the administrator to correct rooms.database. The parse-time --to errors were fixed in review27; the errors
raised when the target is opened (`Store._connect`, `Store._translated`) still name rooms.database. Real parts: the
PostgreSQL server of tests/postgres.py; nothing is created."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL

from tests import postgres
from tests.conftest import Invoke, ok, one_line_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("query", "code"),
    [("sslmode=requir", 2), ("options=-csearch_path%3Dno_such_schema_r27s", 2)],
    ids=["bad-option", "missing-schema"],
)
def test_review27s_a_copy_target_refused_when_opened_is_named_as_the_target(
    invoke: Invoke, postgres_database: URL, query: str, code: int
) -> None:
    if not postgres.server_url():
        pytest.skip("no PostgreSQL server")
    ok(invoke("persons", "add", "someone@example.com", "--no-check"))  # the SQLite source exists and is fine
    to = postgres_database.render_as_string(hide_password=False) + "?" + query
    run = invoke("db", "copy", "--to", to)
    line = one_line_error(run)
    assert run.code == code, (run.code, line)
    # actual: "rooms.database postgresql+psycopg://... has a bad connection option ... — correct that option ..."
    # and "the schema ... that rooms.database's search_path names does not exist ..."
    assert "rooms.database" not in line and "--to" in line, line


def test_review27s_an_unreachable_copy_target_is_named_as_the_target(invoke: Invoke) -> None:
    ok(invoke("persons", "add", "someone@example.com", "--no-check"))  # a listing makes no database (fix21u)
    run = invoke("db", "copy", "--to", "postgresql+psycopg://roomsops:s3cretpw@127.0.0.1:1/rooms")
    line = one_line_error(run)
    assert run.code == 3, (run.code, line)
    assert "s3cretpw" not in run.out + run.err, line
    # actual: "... — check that the database server runs ..., and rooms.database's host, port, user, password ..."
    assert "rooms.database" not in line and "--to" in line, line


def test_review27s_a_copy_target_of_another_application_is_named_as_the_target(
    invoke: Invoke, postgres_database: URL
) -> None:
    ok(invoke("persons", "add", "someone@example.com", "--no-check"))  # a listing makes no database (fix21u)
    name, to = postgres.create_schema(postgres_database)
    try:
        with postgres.admin(postgres_database) as conn:  # the DBA's other application's table
            conn.execute(f"CREATE TABLE {postgres.quoted(name)}.invoices (id integer PRIMARY KEY)".encode())
        run = invoke("db", "copy", "--to", to)
    finally:
        postgres.drop_schema(postgres_database, name)
    line = one_line_error(run)
    assert run.code == 2, (run.code, line)
    # actual: "... is not a roomsops database (it has tables, but no schema_version) — point rooms.database at a
    # roomsops database or at a new file" (a new file: --to refuses SQLite)
    assert "rooms.database" not in line and "--to" in line, line
