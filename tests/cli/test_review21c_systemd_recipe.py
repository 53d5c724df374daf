"""review21c: README's systemd recipe (issue 21.9: "a systemd timer for Linux hosts"; "defaults that do not depend
on the current folder (a per-machine data folder)")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, ok


def test_the_systemd_recipe_keeps_its_data_in_the_data_folder(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unit sets `Environment=ROOMSOPS_SETTINGS=/etc/roomsops/roomsops.toml`,
    `Environment=ROOMSOPS_DATA_DIR=/var/lib/roomsops` and `WorkingDirectory=/var/lib/roomsops`, and runs as
    `User=roomsops`. But a relative path is resolved against the settings file's folder whenever there is a
    settings file, so the default `rooms.database` (sqlite:///rooms.db), `log.file = "roomsops.log"` and the sync's
    lock and summary all go to /etc/roomsops — root's configuration folder, which User=roomsops may not write (every
    run then fails), and where no administrator looks for a database — while ROOMSOPS_DATA_DIR, set for exactly
    this, is ignored. Following the recipe must put the data into /var/lib/roomsops."""
    etc = tmp_path / "etc" / "roomsops"
    var = tmp_path / "var" / "lib" / "roomsops"
    etc.mkdir(parents=True)
    var.mkdir(parents=True)
    settings = etc / "roomsops.toml"
    settings.write_text('[log]\nfile = "roomsops.log"\n', encoding="utf-8")
    monkeypatch.chdir(var)
    monkeypatch.setenv("ROOMSOPS_SETTINGS", str(settings))
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(var))
    ok(invoke("persons", "add", "diego@contoso.com", "--no-check"))
    assert sorted(p.name for p in etc.iterdir()) == ["roomsops.toml"], sorted(p.name for p in etc.iterdir())
    assert (var / "rooms.db").is_file()
