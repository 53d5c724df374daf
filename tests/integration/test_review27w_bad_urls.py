"""review27w: two rooms.database URLs an administrator writes when setting up PostgreSQL (README "Scaling out") get
an error whose remedy points the wrong way.

- `postgres://...`, the spelling psql, libpq, Heroku and many hosting panels hand out: refused (exit 2), but the
  remedy says "use an sqlite:/// URL, or install the database's driver", while the fix is to write
  `postgresql+psycopg://` (the driver is installed). An operator expects the remedy to name that spelling.
- a port out of range (`:99999`, a typo): bad input, refused before any connection can be tried, but reported as
  exit 3 "cannot connect ... check that the database server runs and accepts connections" (the remedy sends the
  administrator to the server and the network; review27 made other malformed URL options exit 2 for that reason).

Real parts: the PostgreSQL server of tests/postgres.py (its host), nothing is created."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL

from tests import postgres
from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


def test_review27w_a_postgres_scheme_url_is_told_to_write_postgresql_psycopg(
    invoke: Invoke, postgres_database: URL
) -> None:
    if not postgres.server_url():
        pytest.skip("no PostgreSQL server")
    url = postgres_database.set(drivername="postgres").render_as_string(hide_password=False)
    run = invoke("persons", "list", env={"ROOMSOPS_ROOMS_DATABASE": url})
    line = one_line_error(run)
    assert run.code == 2, (run.code, line)
    # actual: "... no driver for 'postgres' ... — use an sqlite:/// URL, or install the database's driver"
    assert "postgresql+psycopg://" in line.split(" — ", 1)[-1], line


def test_review27w_a_port_out_of_range_is_bad_input(invoke: Invoke, postgres_database: URL) -> None:
    if not postgres.server_url():
        pytest.skip("no PostgreSQL server")
    url = postgres_database.set(port=99999).render_as_string(hide_password=False)
    run = invoke("persons", "list", env={"ROOMSOPS_ROOMS_DATABASE": url})
    line = one_line_error(run)
    # actual: 3, "cannot connect ... invalid port number: "99999" — check that the database server runs ..."
    assert run.code == 2, (run.code, line)
    assert "server runs" not in line, line
