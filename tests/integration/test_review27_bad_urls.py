"""review27: misspelt or bad options in a PostgreSQL rooms.database URL are bad input (exit 2, one line with a
remedy naming the option), not "cannot connect" (exit 3, whose remedy sends the administrator to look at the server,
the network and the credentials). Real parts: the PostgreSQL server of tests/postgres.py; nothing is created."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL

from tests import postgres
from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


def _url(database: URL, query: str) -> str:
    return database.render_as_string(hide_password=False) + "?" + query


@pytest.mark.parametrize(
    "query", ["sslmode=requir", "connect_timout=10", "connect_timeout=ten"], ids=["sslmode", "name", "value"]
)
def test_review27_a_bad_option_in_the_postgresql_url_is_bad_input(
    invoke: Invoke, postgres_database: URL, query: str
) -> None:
    if not postgres.server_url():
        pytest.skip("no PostgreSQL server")
    run = invoke("persons", "list", env={"ROOMSOPS_ROOMS_DATABASE": _url(postgres_database, query)})
    line = one_line_error(run)
    assert run.code == 2, (
        run.code,
        line,
    )  # actual: 3, "cannot connect ... — check that the database server runs"
    assert "server runs" not in line, line


def test_review27_a_search_path_to_a_missing_schema_is_bad_input_with_a_remedy(
    invoke: Invoke, postgres_database: URL
) -> None:
    if not postgres.server_url():
        pytest.skip("no PostgreSQL server")
    url = _url(postgres_database, "options=-csearch_path%3Dno_such_schema_r27")
    run = invoke("persons", "list", env={"ROOMSOPS_ROOMS_DATABASE": url})
    line = one_line_error(run)
    assert run.code == 2, (run.code, line)  # actual: 1
    assert " — " in line and "no_such_schema_r27" in line, line  # actual: no remedy, the SQL text instead
