"""Issue 21.5: `config set|unset` know ROOMS' keys: a mistyped key is refused with the closest one (file
byte-identical), a case variant is that key (never a second spelling), `config check` names unknown,
duplicate and case-variant keys."""

from __future__ import annotations

import json
from pathlib import Path

from roomsops.adapters.appsettings.document import read_document
from tests.conftest import APP, SAMPLE, TENANT, Invoke, one_line_error

NEW_TENANT = "d7f0c3a1-2b4e-4c6d-8e9f-0a1b2c3d4e5f"


def test_a_mistyped_key_is_refused_with_the_closest_and_nothing_changes(
    invoke: Invoke, app_settings: Path, tmp_path: Path
) -> None:
    for args in (("set", "ExchangTenantId", NEW_TENANT), ("unset", "ExchangeAppID2")):
        run = invoke("--app-settings", str(app_settings), "config", *args)
        assert run.code == 2
        line = one_line_error(run)
        assert "is not a key ROOMS documents for RoomsAppSettings.config (closest: Exchange" in line
        assert f"add --force to {args[0]} a key ROOMS does not document" in line
    assert app_settings.read_bytes() == SAMPLE
    assert not (tmp_path / "RoomsAppSettings.config.bak").exists()


def test_a_case_variant_sets_the_documented_key_in_place(invoke: Invoke, app_settings: Path) -> None:
    run = invoke(
        "--app-settings",
        str(app_settings),
        "--json",
        "config",
        "set",
        "exchangetenantID",
        NEW_TENANT,
        "--yes",
    )
    assert run.code == 0, run.err
    assert json.loads(run.out)["changed"] == ["ExchangeTenantId"]
    doc = read_document(app_settings)
    assert [k for k in doc.keys() if k.casefold() == "exchangetenantid"] == ["ExchangeTenantId"]
    assert doc.get("ExchangeTenantId") == NEW_TENANT


def test_setting_the_key_replaces_a_variant_already_in_the_file(invoke: Invoke, app_settings: Path) -> None:
    app_settings.write_bytes(SAMPLE.replace(b'key="BatchGetEventsSize"', b'key="batchgeteventssize"'))
    run = invoke("--app-settings", str(app_settings), "--json", "config", "set", "BatchGetEventsSize", "50")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert (doc["changed"], doc["removed"]) == (["BatchGetEventsSize"], ["batchgeteventssize"])
    assert "replaced batchgeteventssize (the same key in another case) by BatchGetEventsSize" in run.err
    file = read_document(app_settings)
    assert ("batchgeteventssize" in file, file.get("BatchGetEventsSize")) == (False, "50")


def test_unset_removes_every_spelling(invoke: Invoke, app_settings: Path) -> None:
    app_settings.write_bytes(
        SAMPLE.replace(
            b"</RoomsAppSettings>", b'    <add key="BATCHGETEVENTSSIZE" value="7" />\r\n</RoomsAppSettings>'
        )
    )
    run = invoke("--app-settings", str(app_settings), "--json", "config", "unset", "batchGetEventsSize")
    assert run.code == 0, run.err
    assert json.loads(run.out)["removed"] == ["BatchGetEventsSize", "BATCHGETEVENTSSIZE"]
    assert not any(k.casefold() == "batchgeteventssize" for k in read_document(app_settings).keys())


def test_force_writes_a_key_rooms_does_not_document(invoke: Invoke, app_settings: Path) -> None:
    run = invoke("--app-settings", str(app_settings), "config", "set", "MyOwnKey", "1", "--force")
    assert run.code == 0, run.err
    assert read_document(app_settings).get("MyOwnKey") == "1"


def test_check_reports_unknown_duplicate_and_case_variant_keys(invoke: Invoke, app_settings: Path) -> None:
    extra = (
        f'    <add key="ExchangeTenantID" value="{TENANT}" />\r\n'
        '    <add key="ExchangTenantId" value="x" />\r\n'
        f'    <add key="ExchangeAppId" value="{APP}" />\r\n'
    ).encode()
    app_settings.write_bytes(SAMPLE.replace(b"</RoomsAppSettings>", extra + b"</RoomsAppSettings>"))
    run = invoke("--app-settings", str(app_settings), "--json", "config", "check")
    assert run.code == 1
    checks = {c["name"]: c for c in json.loads(run.out)["checks"]}
    assert checks["duplicate keys"]["status"] == "failed"
    assert "ExchangeAppId" in checks["duplicate keys"]["message"]
    variant = checks["case variants"]
    assert variant["status"] == "failed"
    assert "ExchangeTenantID (is ExchangeTenantId)" in variant["message"]
    assert variant["remedy"].startswith("run 'roomsops config set ExchangeTenantId VALUE' (it replaces")
    unknown = checks["unknown keys"]
    assert unknown["status"] == "warning"
    assert (
        unknown["message"] == "keys ROOMS does not document: ExchangTenantId (did you mean ExchangeTenantId?)"
    )
    # The remedy works: the named command removes the mistyped key.
    assert (
        invoke("--app-settings", str(app_settings), "config", "unset", "ExchangTenantId", "--force").code == 0
    )
    assert "ExchangTenantId" not in read_document(app_settings)


def test_check_of_a_clean_file_has_no_key_findings(invoke: Invoke, app_settings: Path) -> None:
    run = invoke("--app-settings", str(app_settings), "--json", "config", "check")
    names = {c["name"] for c in json.loads(run.out)["checks"]}
    assert not names & {"case variants", "unknown keys", "duplicate keys"}
