"""Issue 21.9: defaults that do not depend on the working folder (a per-machine data folder; a settings file or
variable still wins), nothing created when a command fails on its configuration, and `roomsops config settings`
listing every setting from core.settings (the same source docs/settings.md is checked against)."""

from __future__ import annotations

import json
from pathlib import Path

import platformdirs
import pytest

from roomsops.core.settings import KEYS, data_dir, setting_infos
from tests.cli.test_readme_json import assert_documented
from tests.conftest import Invoke, ok


def test_the_data_folder_follows_the_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert data_dir({"ROOMSOPS_DATA_DIR": str(tmp_path)}, "win32") == tmp_path  # the variable wins
    # Windows: one folder for the machine (ProgramData), whoever the scheduled task runs as.
    assert data_dir({}, "win32") == Path(platformdirs.site_data_dir("roomsops", appauthor=False))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir({}, "linux") == tmp_path / "xdg" / "roomsops"  # elsewhere: the XDG rules


def test_without_a_settings_file_the_database_goes_to_the_data_folder(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, machine = tmp_path / "System32", tmp_path / "ProgramData" / "roomsops"
    work.mkdir()
    monkeypatch.chdir(work)  # Task Scheduler starts in System32
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(machine))
    ok(invoke("persons", "add", "diego@contoso.com"))
    assert (machine / "rooms.db").is_file()  # created with its folder on first use
    assert list(work.iterdir()) == []  # nothing in the working folder

    # A roomsops.toml in the data folder is read; a relative path in it is relative to it.
    (machine / "roomsops.toml").write_text('[rooms]\ndatabase = "sqlite:///other.db"\n', encoding="utf-8")
    doc = json.loads(ok(invoke("--json", "config", "settings")).out)
    assert doc["settings_file"] == str(machine / "roomsops.toml")
    # An explicit settings file still wins over the data folder's. Its relative data paths go into the data folder
    # that $ROOMSOPS_DATA_DIR names (review21c: a systemd unit's /etc/roomsops/roomsops.toml with
    # ROOMSOPS_DATA_DIR=/var/lib/roomsops), and beside the file when the data folder is the platform's default
    # (here: $XDG_DATA_HOME/roomsops, as on a Linux host without the variable).
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('[rooms]\ndatabase = "sqlite:///explicit.db"\n', encoding="utf-8")
    ok(invoke("--settings", str(explicit), "persons", "add", "adele@contoso.com"))
    assert (machine / "explicit.db").is_file() and list(work.iterdir()) == []
    monkeypatch.delenv("ROOMSOPS_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    ok(invoke("--settings", str(explicit), "persons", "add", "adele@contoso.com"))
    assert (tmp_path / "explicit.db").is_file() and list(work.iterdir()) == []


def test_a_command_failing_on_configuration_creates_nothing(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = tmp_path / "machine"
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(machine))
    before = sorted(p.name for p in tmp_path.iterdir())
    run = invoke("sync")  # no RoomsAppSettings.config
    assert run.code == 2 and run.err.startswith("Error: RoomsAppSettings.config does not exist"), run.err
    bad = invoke("sync", env={"ROOMSOPS_SYNC_CONCURRENCY": "0"})
    assert bad.code == 2
    assert not machine.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_config_settings_lists_every_setting(invoke: Invoke) -> None:
    run = ok(invoke("config", "settings", env={"ROOMSOPS_SYNC_CONCURRENCY": "8"}))
    for label, key in KEYS.items():
        assert f"ROOMSOPS_{key.section.upper()}_{key.name.upper()}" in run.out, label
    assert any(
        line.startswith("sync.concurrency ") and line.endswith("now 8 from $ROOMSOPS_SYNC_CONCURRENCY")
        for line in run.out.splitlines()
    )
    doc = json.loads(ok(invoke("--json", "config", "settings")).out)
    assert_documented("config settings", doc)
    assert [row["key"] for row in doc["settings"]] == list(KEYS)
    by_key = {row["key"]: row for row in doc["settings"]}
    assert by_key["log.format"] == {
        "key": "log.format",
        "variable": "ROOMSOPS_LOG_FORMAT",
        "default": "text",
        "allowed": "one of text, json",
        "value": "text",
        "origin": "the built-in defaults",
    }


def test_docs_settings_md_defaults_come_from_the_code() -> None:
    text = (Path(__file__).parents[2] / "docs" / "settings.md").read_text(encoding="utf-8")
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| `")]
    defaults = {info.key: info.default for info in setting_infos()}
    shown = {True: "true", False: "false"}
    for row in rows:
        key = row[0].strip("| `")
        value = defaults[key]
        expected = (
            shown[value] if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else value
        )
        assert row[2] == str(expected), key
