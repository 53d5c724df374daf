"""rooms.database on PostgreSQL (issue 27): `db upgrade`, `db copy --to URL` from SQLite, an unreachable server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from roomsops.adapters.store import open_store
from roomsops.adapters.store.queries import installation_id
from roomsops.adapters.store.schema import SCHEMA_VERSION, bookings, persons, schema_version
from tests.conftest import Invoke, ok, one_line_error

V1_FIXTURE = Path(__file__).resolve().parents[1] / "data" / "rooms-v1.db"
DIEGO, ADELE = "diego@contoso.com", "adele@contoso.com"
EIGER, MOENCH = "eiger@contoso.com", "moench@contoso.com"


@pytest.fixture(autouse=True)
def zurich(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMSOPS_ROOMS_TIME_ZONE", "Europe/Zurich")


def on(url: str) -> dict[str, str]:
    return {"ROOMSOPS_ROOMS_DATABASE": url}


def seed(invoke: Invoke, env: dict[str, str] | None = None) -> None:
    """Two persons, two rooms, three bookings (the second cancelled, the third deleted with its room)."""
    for args in (
        ("persons", "add", DIEGO, "--name", "Diego"),
        ("persons", "add", ADELE),
        ("rooms", "add", EIGER, "--name", "Eiger"),
        ("rooms", "add", MOENCH, "--name", "Mönch"),
    ):
        ok(invoke(*args, env=env))
    book = ("bookings", "add", "--organizer", DIEGO, "--attendee", ADELE, "--title")
    ok(
        invoke(
            *book, "One", "--room", EIGER, "--start", "2031-03-31T09:00", "--end", "2031-03-31T10:00", env=env
        )
    )
    ok(
        invoke(
            *book, "Two", "--room", EIGER, "--start", "2031-04-01T09:00", "--end", "2031-04-01T10:00", env=env
        )
    )
    ok(invoke("bookings", "cancel", "2", "--yes", env=env))


def listed(invoke: Invoke, env: dict[str, str] | None = None) -> dict[str, Any]:
    run = ok(invoke("--json", "bookings", "list", env=env))
    persons_run = ok(invoke("--json", "persons", "list", env=env))
    rooms_run = ok(invoke("--json", "rooms", "list", env=env))
    return {
        "bookings": json.loads(run.out),
        "persons": json.loads(persons_run.out),
        "rooms": json.loads(rooms_run.out),
    }


def counts(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        with store.read() as conn:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (persons, bookings, schema_version)
            } | {"installation": 0}
    finally:
        store.close()


def the_id(url: str) -> str:
    store = open_store(url)
    try:
        with store.read() as conn:
            return installation_id(conn)
    finally:
        store.close()


def test_upgrade_creates_the_schema_of_an_empty_postgresql_database(
    invoke: Invoke, postgres_url: str
) -> None:
    run = ok(invoke("db", "upgrade", env=on(postgres_url)))
    assert run.out.endswith(f": schema version {SCHEMA_VERSION} (created)\n"), run.out
    assert "/" in run.out and "search_path" in run.out  # the server URL names it
    again = ok(invoke("db", "upgrade", env=on(postgres_url)))
    assert again.out.endswith(f": schema version {SCHEMA_VERSION} (up to date)\n")
    assert counts(postgres_url)["schema_version"] == 1


def test_upgrade_of_an_old_sqlite_database_and_of_none(invoke: Invoke, tmp_path: Path) -> None:
    assert one_line_error(invoke("db", "upgrade")) == (
        f"Error: there is no database at {tmp_path / 'rooms.db'} — check rooms.database (and ROOMSOPS_SETTINGS, the "
        "data folder) leads to the database; a new one is made by 'roomsops persons add EMAIL' or 'roomsops rooms "
        "add EMAIL --name NAME'"
    )
    assert invoke("db", "upgrade").code == 2 and not (tmp_path / "rooms.db").exists()
    shutil.copyfile(V1_FIXTURE, tmp_path / "rooms.db")
    run = ok(invoke("db", "upgrade"))
    assert run.out == f"{tmp_path / 'rooms.db'}: schema version 1 -> {SCHEMA_VERSION} (upgraded)\n"


def test_copy_moves_an_sqlite_installation_to_postgresql_once(
    invoke: Invoke, postgres_url: str, tmp_path: Path
) -> None:
    seed(invoke)
    before = listed(invoke)
    sqlite_url = f"sqlite:///{tmp_path / 'rooms.db'}"
    run = ok(invoke("--json", "db", "copy", "--to", postgres_url))
    doc = json.loads(run.out)
    figures = {t["table"]: t for t in doc["figures"]}
    assert (figures["persons"]["source"], figures["persons"]["copied"], figures["persons"]["target"]) == (
        2,
        2,
        2,
    )
    assert (figures["bookings"]["copied"], figures["booking_attendees"]["copied"]) == (2, 2)
    assert (figures["schema_version"]["source"], figures["schema_version"]["present"]) == (1, 1)
    assert all(t["copied"] + t["present"] == t["source"] for t in doc["figures"])

    assert listed(invoke, on(postgres_url)) == before
    assert the_id(postgres_url) == the_id(sqlite_url)  # the meetings' tags stay this installation's

    again = json.loads(ok(invoke("--json", "db", "copy", "--to", postgres_url)).out)
    assert sum(t["copied"] for t in again["figures"]) == 0
    assert counts(postgres_url) == counts(sqlite_url)

    # On PostgreSQL the sequences were moved past the copied ids: the next booking is 3, as on SQLite.
    add = (
        "--json", "bookings", "add", "--organizer", ADELE, "--room", MOENCH, "--title", "Three",
        "--start", "2031-04-02T09:00", "--end", "2031-04-02T10:00",
    )  # fmt: skip
    assert json.loads(ok(invoke(*add, env=on(postgres_url))).out)["booking"]["id"] == 3
    assert json.loads(ok(invoke("--json", "persons", "add", "lee@contoso.com", env=on(postgres_url))).out)


def test_copy_refuses_another_installation_and_changed_rows(
    invoke: Invoke, postgres_url: str, tmp_path: Path
) -> None:
    seed(invoke)
    ok(
        invoke("persons", "add", "lee@contoso.com", env=on(postgres_url))
    )  # another installation, on PostgreSQL
    theirs = the_id(postgres_url)
    run = invoke("db", "copy", "--to", postgres_url)
    assert run.code == 2
    line = one_line_error(run)
    assert (
        f"holds another installation ({theirs}, 1 record(s))" in line and " — point --to at an empty" in line
    )
    assert counts(postgres_url)["persons"] == 1 and the_id(postgres_url) == theirs


def test_copy_refuses_a_row_changed_after_an_earlier_copy(invoke: Invoke, postgres_url: str) -> None:
    seed(invoke)
    ok(invoke("db", "copy", "--to", postgres_url))
    ok(invoke("persons", "set", ADELE, "--name", "Adele V.", env=on(postgres_url)))
    ok(invoke("rooms", "add", "jungfrau@contoso.com", "--name", "Jungfrau"))  # new in the source
    run = invoke("db", "copy", "--to", postgres_url)
    assert run.code == 2
    assert "already holds 1 row(s) of persons with other values than the source (" in one_line_error(run)
    rooms = json.loads(ok(invoke("--json", "rooms", "list", env=on(postgres_url))).out)
    assert "jungfrau@contoso.com" not in json.dumps(rooms)  # nothing was copied


@pytest.mark.parametrize(
    ("to", "says"),
    [
        ("sqlite:///other.db", "is an SQLite database; the copy moves an installation to a database server"),
        ("not a url", "is not a database URL"),
    ],
)
def test_copy_bad_targets(invoke: Invoke, to: str, says: str) -> None:
    seed(invoke)
    run = invoke("db", "copy", "--to", to)
    assert run.code == 2 and says in one_line_error(run)
    assert not Path("other.db").exists()


def test_an_unreachable_server_is_exit_3_without_its_password(invoke: Invoke) -> None:
    url = "postgresql+psycopg://roomsops:S3cret-Pw@127.0.0.1:1/rooms"
    run = invoke("persons", "list", env=on(url))
    assert run.code == 3
    line = one_line_error(run)
    assert line.startswith(
        "Error: cannot connect to the database postgresql+psycopg://roomsops:********@127.0.0.1:1/rooms"
    )
    assert "S3cret" not in run.out + run.err


def test_copy_of_an_upgraded_v1_database_keeps_its_schema_history(
    invoke: Invoke, postgres_url: str, tmp_path: Path
) -> None:
    shutil.copyfile(V1_FIXTURE, tmp_path / "rooms.db")
    before = listed(invoke)
    doc = json.loads(ok(invoke("--json", "db", "copy", "--to", postgres_url)).out)
    figures = {t["table"]: t for t in doc["figures"]}
    assert (figures["schema_version"]["source"], figures["schema_version"]["copied"]) == (
        SCHEMA_VERSION,
        SCHEMA_VERSION - 1,
    )
    assert figures["bookings"]["copied"] == len(before["bookings"]["bookings"]) > 0
    assert listed(invoke, on(postgres_url)) == before


def _sqlite_set(tmp_path: Path, statement: str, *values: object) -> None:
    """Change the source SQLite file behind roomsops' back (as an older version, or a sync, could have written)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(tmp_path / "rooms.db")) as conn, conn:
        conn.execute(statement, values)


def test_fix27a_copy_of_a_value_longer_than_its_postgresql_column_names_it_and_copies_nothing(
    invoke: Invoke, postgres_url: str, tmp_path: Path
) -> None:
    seed(invoke)
    _sqlite_set(tmp_path, "UPDATE bookings SET title = ? WHERE id = 2", "x" * 300)  # SQLite keeps any length
    run = invoke("db", "copy", "--to", postgres_url)
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert "row 2 of table bookings has a title of 300 characters, longer than the 255" in line, line
    assert "nothing was copied — shorten that title to at most 255 characters" in line, line
    assert counts(postgres_url) == {"persons": 0, "bookings": 0, "schema_version": 1, "installation": 0}


def test_fix27a_copy_of_a_nul_character_stores_the_value_without_it_and_stays_idempotent(
    invoke: Invoke, postgres_url: str, tmp_path: Path
) -> None:
    seed(invoke)
    _sqlite_set(tmp_path, "UPDATE persons SET name = ? WHERE email = ?", "Die\x00go", DIEGO)
    ok(invoke("db", "copy", "--to", postgres_url))
    names = {p["email"]: p["name"] for p in listed(invoke, on(postgres_url))["persons"]["persons"]}
    assert names[DIEGO] == "Diego", names
    again = json.loads(ok(invoke("--json", "db", "copy", "--to", postgres_url)).out)  # not "other values"
    assert sum(t["copied"] for t in again["figures"]) == 0
