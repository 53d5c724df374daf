"""Issue 17 D9 (the rest): path settings are checked where they are first used, and booking ids, times and
reminders have bounds; each failure is exit 2 with one line naming the key (or value), and changes nothing."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import APP, TENANT, Invoke, Run

THUMBPRINT = "A" * 40
CERT_CONFIG = (
    '<?xml version="1.0" encoding="utf-8"?>\n<RoomsAppSettings>\n'
    f'  <add key="ExchangeTenantId" value="{TENANT}" />\n'
    f'  <add key="ExchangeAppId" value="{APP}" />\n'
    f'  <add key="ExchangeCertThumbprint" value="{THUMBPRINT}" />\n'
    "</RoomsAppSettings>\n"
)


def one_error(run: Run, expected: str) -> None:
    assert run.code == 2, run.err
    assert run.err == f"Error: {expected}\n"


@pytest.mark.parametrize("source", ["env", "file"])
def test_a_missing_ca_bundle_is_exit_2_naming_key_value_and_source(
    invoke: Invoke, app_settings: Path, tmp_path: Path, source: str
) -> None:
    env = {"ROOMSOPS_APP_SETTINGS": str(app_settings)}
    if source == "env":
        env["ROOMSOPS_NETWORK_CA_BUNDLE"] = "missing-ca.pem"
        origin = "$ROOMSOPS_NETWORK_CA_BUNDLE"
    else:
        settings = tmp_path / "roomsops.toml"
        settings.write_text('[network]\nca_bundle = "missing-ca.pem"\n', encoding="utf-8")
        env["ROOMSOPS_SETTINGS"] = str(settings)
        origin = str(settings)
    run = invoke("auth", "test", env=env)
    # Relative to the settings file's folder, or without one to the data folder (the test's, issue 21.9).
    where = tmp_path / "missing-ca.pem"
    one_error(
        run,
        f"network.ca_bundle = 'missing-ca.pem' (from {origin}): {where} "
        f"does not exist — correct network.ca_bundle in {origin}",
    )


@pytest.mark.parametrize("key", ["log.file", "log.audit"])
def test_a_log_path_that_is_a_folder_is_exit_2(invoke: Invoke, tmp_path: Path, key: str) -> None:
    (tmp_path / "logs").mkdir()
    variable = "$ROOMSOPS_" + key.upper().replace(".", "_")
    name = {"log.file": "roomsops.log", "log.audit": "audit.jsonl"}[key]
    run = invoke("persons", "add", "diego@contoso.com", env={variable[1:]: "logs"})
    one_error(
        run,
        f"{key} = 'logs' (from {variable}) is a folder, not a file — set {key} in {variable} to a file, "
        f"e.g. {tmp_path / 'logs' / name}",  # relative to the data folder (the test's)
    )
    assert not (tmp_path / "rooms.db").exists() or not _persons(tmp_path)  # nothing was written


def _persons(folder: Path) -> list[tuple[str]]:
    with closing(sqlite3.connect(folder / "rooms.db")) as conn:
        return list(conn.execute("SELECT email FROM persons"))


def test_a_missing_certificate_file_is_exit_2_naming_the_key(invoke: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "RoomsAppSettings.config"
    config.write_text(CERT_CONFIG, encoding="utf-8")
    env = {"ROOMSOPS_APP_SETTINGS": str(config), "ROOMSOPS_AUTH_CERTIFICATE_FILE": "rooms.pfx"}
    one_error(
        invoke("auth", "test", env=env),
        f"auth.certificate_file = 'rooms.pfx' (from $ROOMSOPS_AUTH_CERTIFICATE_FILE): {tmp_path / 'rooms.pfx'} does "
        "not exist — correct auth.certificate_file in $ROOMSOPS_AUTH_CERTIFICATE_FILE",
    )


def test_a_missing_winrm_ca_bundle_and_an_out_of_range_port_are_exit_2(
    invoke: Invoke, app_settings: Path, tmp_path: Path
) -> None:
    env = {
        "ROOMSOPS_APP_SETTINGS": str(app_settings),
        "ROOMSOPS_POWERSHELL_HOST": "127.0.0.1",
        # negotiate with a password, not kerberos: a missing gssapi library is an error of its own (review21y)
        "ROOMSOPS_POWERSHELL_AUTH": "negotiate",
        "ROOMSOPS_WINRM_PASSWORD": "not-used",
        "ROOMSOPS_POWERSHELL_CA_BUNDLE": "winrm-ca.pem",
        "ROOMSOPS_EXO_APP_ID": "c0566bca-561f-4ef8-8f39-0e56cc12bd86",
        "ROOMSOPS_EXO_CERTIFICATE_THUMBPRINT": THUMBPRINT,
        "ROOMSOPS_EXO_ORGANIZATION": "contoso.onmicrosoft.com",
    }
    one_error(
        invoke("policy", "list", env=env),
        f"powershell.ca_bundle = 'winrm-ca.pem' (from $ROOMSOPS_POWERSHELL_CA_BUNDLE): {tmp_path / 'winrm-ca.pem'} "
        "does not exist — correct powershell.ca_bundle in $ROOMSOPS_POWERSHELL_CA_BUNDLE",
    )
    one_error(
        invoke("policy", "list", env=env | {"ROOMSOPS_POWERSHELL_PORT": "70000"}),
        "powershell.port in $ROOMSOPS_POWERSHELL_PORT must be a whole number from 0 to 65535, got '70000' — "
        "correct powershell.port in $ROOMSOPS_POWERSHELL_PORT",
    )


# --- bookings ------------------------------------------------------------------------------------------------------


@pytest.fixture
def booked(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("ROOMSOPS_ROOMS_TIME_ZONE", "UTC")
    assert invoke("persons", "add", "diego@contoso.com").code == 0
    assert invoke("rooms", "add", "eiger@contoso.com", "--name", "Eiger").code == 0
    run = invoke("bookings", "add", *_booking(datetime.now(UTC) + timedelta(days=1), timedelta(hours=1)))
    assert run.code == 0, run.err
    return 1


def _booking(start: datetime, length: timedelta, *more: str) -> list[str]:
    end = start + length
    return [
        "--organizer",
        "diego@contoso.com",
        "--room",
        "eiger@contoso.com",
        "--start",
        start.strftime("%Y-%m-%dT%H:%M"),
        "--end",
        end.strftime("%Y-%m-%dT%H:%M"),
        "--title",
        "Planning",
        *more,
    ]


def _dump() -> str:
    with closing(sqlite3.connect("rooms.db")) as conn:
        return "\n".join(conn.iterdump())


@pytest.mark.parametrize("command", [("cancel", "--yes"), ("update", "--title", "x")])
def test_a_booking_id_of_2_to_the_70_is_exit_2_not_a_crash(
    invoke: Invoke, booked: int, command: tuple[str, ...]
) -> None:
    before = _dump()
    one_error(
        invoke("bookings", command[0], str(2**70), *command[1:]),
        f"there is no booking {2**70} — see 'roomsops bookings list'",
    )
    assert _dump() == before


NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.mark.parametrize(
    ("start", "length", "more", "message"),
    [
        (
            NOW.replace(year=1900),
            timedelta(hours=1),
            (),
            "is more than a year in the past or ten years ahead",
        ),
        (
            NOW - timedelta(days=400),
            timedelta(hours=1),
            (),
            "is more than a year in the past or ten years ahead",
        ),
        (
            NOW + timedelta(days=3700),
            timedelta(hours=1),
            (),
            "is more than a year in the past or ten years ahead",
        ),
        (NOW + timedelta(days=1), timedelta(days=36525), (), "lasts more than 14 days"),
        (NOW + timedelta(days=1), timedelta(days=15), (), "lasts more than 14 days"),
        (
            NOW + timedelta(days=1),
            timedelta(hours=1),
            ("--reminder", str(2**70)),
            "is more than 20160 minutes",
        ),
    ],
)
def test_bookings_out_of_bounds_are_exit_2_and_change_nothing(
    invoke: Invoke, booked: int, start: datetime, length: timedelta, more: tuple[str, ...], message: str
) -> None:
    before = _dump()
    run = invoke("bookings", "add", *_booking(start, length, *more))
    assert run.code == 2 and run.err.startswith("Error: ") and run.err.count("\n") == 1, run.err
    assert message in run.err
    assert _dump() == before
    moved = invoke("bookings", "update", "1", "--start", start.strftime("%Y-%m-%dT%H:%M"), "--end",
                   (start + length).strftime("%Y-%m-%dT%H:%M"), *more)  # fmt: skip
    assert moved.code == 2 and message in moved.err
    assert _dump() == before


def test_the_bounds_still_take_a_booking_at_their_edges(invoke: Invoke, booked: int) -> None:
    run = invoke(
        "bookings", "add", *_booking(NOW + timedelta(days=3600), timedelta(days=14), "--reminder", "20160")
    )
    assert run.code == 0, run.err
