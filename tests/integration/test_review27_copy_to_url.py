"""review27: a misspelt `db copy --to URL` is refused (exit 2, one line) but the line blames rooms.database (the
source, which is fine) and its remedy says to use an sqlite:/// URL, which `--to` refuses (the copy moves an
installation to a database server). Nothing is created; no server is needed."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok, one_line_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "to", ["postgres://roomsops@127.0.0.1/rooms", "postgressql+psycopg://r@127.0.0.1/rooms", "foo"]
)
def test_review27_a_misspelt_copy_target_is_named_as_the_target_with_a_remedy_that_works(
    invoke: Invoke, to: str
) -> None:
    # The SQLite source exists and is fine (a listing no longer creates a database: fix21u, `no_database`).
    ok(invoke("persons", "add", "someone@example.com", "--no-check"))
    run = invoke("db", "copy", "--to", to)
    line = one_line_error(run)
    assert run.code == 2, line
    problem, _, remedy = line.partition(" — ")
    assert "--to" in problem and "rooms.database" not in problem, (
        line
    )  # actual: "rooms.database: no driver ..."
    assert "sqlite:///" not in remedy and "postgresql+psycopg://" in remedy, (
        line
    )  # actual: "use an sqlite:/// URL"
