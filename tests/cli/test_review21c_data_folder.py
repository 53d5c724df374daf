"""review21c: the per-machine data folder (issue 21.9) — "nothing created when a command fails on configuration"
(README: "The folder is created when the first thing is written there; a command that fails on its configuration
creates nothing"; exit 2: "nothing was changed"). review21b fixed `persons import`; other commands still create
the data folder, an empty rooms.db and rooms.db.installation-id before they refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


@pytest.mark.parametrize(
    "args",
    [
        ("persons", "check"),  # RoomsAppSettings.config missing: a configuration error
        ("persons", "add", "diego@contoso.com", "--sync-mode", "Bogus", "--no-check"),
        ("persons", "add", "diego@contoso.com", "--sync-mode", "EWS2", "--no-check"),  # EWS2 needs --sync-url
        ("persons", "remove", "nobody@contoso.com", "--yes"),
        ("bookings", "cancel", "5", "--yes"),
    ],
    ids=[
        "persons-check-no-app-settings",
        "bad-sync-mode",
        "ews2-without-url",
        "remove-unknown",
        "cancel-unknown",
    ],
)
def test_a_refused_command_on_a_fresh_machine_creates_nothing(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    machine = tmp_path / "machine"
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(machine))
    run = invoke(*args)
    assert run.code == 2, run.out + run.err
    one_line_error(run)
    assert not machine.exists(), sorted(p.name for p in machine.iterdir())
