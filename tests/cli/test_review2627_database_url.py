"""review2627: rooms.database and `db copy --to` URLs an administrator writes.

A PostgreSQL password with an unescaped '@' (`postgresql+psycopg://roomsops:p@ssw0rd!Secret@db/x`,
as an administrator pastes it from a password manager) puts most of the password on stderr, as a host name:

    Error: cannot connect to the database postgresql+psycopg://roomsops:********@127.0.0.1:5432/test: failed to
    resolve host 'ssw0rd!Secret@127.0.0.1': … — check that the database server runs …

SQLAlchemy takes the password up to the first '@' and the rest as the host; the URL shown is masked by another
reading (up to the last '@'), so the mask looks right while libpq's own message quotes the host it was given. The
same through `db copy --to`. Secrets never appear in output (style), and this is bad input (exit 2, a remedy:
write '@' as %40), not a server to check (exit 3). Nothing is connected: the host with '@' is no host name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error

SECRET = "ssw0rd!Secret"
URL = f"postgresql+psycopg://roomsops:p@{SECRET}@127.0.0.1:5432/test"


@pytest.mark.parametrize("command", ["rooms.database", "db copy --to"])
def test_review2627_an_at_sign_in_the_password_is_bad_input_and_never_printed(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    if command == "rooms.database":
        monkeypatch.setenv("ROOMSOPS_ROOMS_DATABASE", URL)
        run = invoke("persons", "list")
    else:
        monkeypatch.setenv("ROOMSOPS_ROOMS_DATABASE", f"sqlite:///{tmp_path / 'rooms.db'}")
        assert invoke("persons", "add", "diego@contoso.com", "--no-check").code == 0
        run = invoke("db", "copy", "--to", URL)
    line = one_line_error(run)
    leaked = [p.name for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert SECRET not in run.out + run.err and "Secret" not in line, line
    assert leaked == [], leaked
    assert run.code == 2, (run.code, line)
    remedy = line.split(" — ", 1)[-1]
    assert "%40" in remedy or "percent" in remedy, line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg:///rooms?host=/var/run/postgresql&port=99999",
        "postgresql+psycopg://127.0.0.1/rooms?port=5432x",
        # fix2627b: the host:port form of the query, and ports that do not pair up with the hosts
        "postgresql+psycopg:///rooms?host=127.0.0.1:99999",
        "postgresql+psycopg:///rooms?host=db1,db2&port=5432",
    ],
)
def test_review2627_a_bad_port_in_the_query_is_bad_input(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """libpq takes host and port as query parameters too (a Unix socket's directory can only be written so:
    `?host=/var/run/postgresql&port=5433`). fix27w refuses an out-of-range port in the URL's authority (exit 2, "correct
    the port"); the same typo in the query reaches libpq ("invalid port number", exit 3, the remedy sends the
    administrator to the server), and a port that is no number crashes in SQLAlchemy (exit 1, "report it")."""
    monkeypatch.setenv("ROOMSOPS_ROOMS_DATABASE", url)
    run = invoke("persons", "list")
    line = one_line_error(run)
    assert run.code == 2, (run.code, line)
    assert "unexpected" not in line and "server runs" not in line, line
    assert "port" in line.split(" — ", 1)[-1], line
