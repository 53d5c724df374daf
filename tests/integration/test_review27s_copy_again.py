"""review27s: `db copy --to URL` run again after the SQLite installation went on working (the administrator's trial
copy, then a week of syncs, then the final copy) is refused, and the refusal says the *target* "was changed after
an earlier copy" — it was not touched; the source changed — with the remedy to point --to at an empty database.
The README promises "run again, it copies only what is missing". The administrator is sent to look for who wrote
to the new server. Real parts: the SQLite source, the PostgreSQL server of tests/postgres.py (a schema of its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import URL

from tests import postgres
from tests.conftest import Invoke, ok, one_line_error

pytestmark = pytest.mark.integration


@pytest.fixture
def target(postgres_database: URL) -> Iterator[str]:
    name, url = postgres.create_schema(postgres_database)
    try:
        yield url
    finally:
        postgres.drop_schema(postgres_database, name)


def test_review27s_a_copy_run_again_after_the_source_changed_does_not_blame_the_untouched_target(
    invoke: Invoke, target: str
) -> None:
    ok(invoke("persons", "add", "ada@example.com", "--name", "Ada", "--no-check"))
    first = invoke("db", "copy", "--to", target)
    assert first.code == 0, (first.out, first.err)
    again = invoke("db", "copy", "--to", target)  # idempotent: nothing changed anywhere
    assert again.code == 0, (again.out, again.err)
    ok(
        invoke("persons", "set", "ada@example.com", "--name", "Ada Lovelace", "--no-check")
    )  # the source moves on
    run = invoke("db", "copy", "--to", target)
    line = one_line_error(run)
    assert run.code == 2, (run.code, line)
    # actual: "the target ... already holds 1 row(s) of persons with other values than the source (1): it was
    # changed after an earlier copy; nothing was copied — point --to at an empty database; ..."
    assert "changed after an earlier copy" not in line and "source" in line.partition(" — ")[2], line
