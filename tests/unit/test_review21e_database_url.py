"""review21e: issue 21.7 "configuration errors → 2" for rooms.database written with two slashes."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke


@pytest.mark.parametrize("url", ["sqlite://rooms.db", "sqlite://C:/ROOMS/rooms.db"])
def test_a_sqlite_url_with_two_slashes_is_a_configuration_error(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """Steps: rooms.database (here $ROOMSOPS_ROOMS_DATABASE) is written with two slashes — `sqlite://rooms.db`, or
    on the ROOMS server `sqlite://C:/ROOMS/rooms.db` — then `roomsops persons list`.
    Expected (issue 21.7: "configuration errors → 2"; README: errors are one line "Error: <problem> — <remedy>";
    `sqlite:rooms.db` already gets "rooms.database 'sqlite:rooms.db' is not a database URL — write it as e.g.
    sqlite:///rooms.db", exit 2): exit 2 naming rooms.database and the form to write.
    Actual: "Error: unexpected ArgumentError: Invalid SQLite URL ... report it" (the Windows form: "unexpected
    ValueError: invalid literal for int() with base 10: ''"), exit 1 — a mistyped setting reads as a roomsops bug,
    and a scheduler sees "ran but failed"."""
    monkeypatch.setenv("ROOMSOPS_ROOMS_DATABASE", url)
    run = invoke("persons", "list")
    assert "unexpected" not in run.err and "report it" not in run.err, run.err
    assert run.code == 2 and "rooms.database" in run.err, (run.code, run.err)
