"""review21f: rooms.database URLs beside the two-slash form fix21f refuses (issue 21.7: configuration errors → 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_a_database_url_without_a_file_is_exit_2_naming_rooms_database(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str
) -> None:
    """Steps: rooms.database (here $ROOMSOPS_ROOMS_DATABASE) names no file — `sqlite:///` (a path variable that was
    empty in `sqlite:///${DB}`), `sqlite://` (the two-slash typo with the name lost) or `sqlite:///:memory:` — then
    `roomsops persons add diego@contoso.com`.
    Expected (README exit codes: 2 configuration; issue 21.7 "configuration errors → 2"; fix21f refuses
    `sqlite://rooms.db` the same way, exit 2 naming rooms.database and the URL meant): exit 2, one line naming
    rooms.database, e.g. "names no database file (an in-memory database keeps nothing between commands) — write it
    as sqlite:///rooms.db".
    Actual: exit 1, "Error: database error in sqlite:///: no such table: persons" — each connection is a new, empty
    in-memory database (no pool), so every command fails with a database error that names neither the setting nor
    a remedy; a scheduler sees "ran but failed"."""
    monkeypatch.setenv("ROOMSOPS_ROOMS_DATABASE", url)
    run = invoke("persons", "add", "diego@contoso.com")
    line = one_line_error(run)
    assert run.code == 2 and "rooms.database" in line, (run.code, line)
