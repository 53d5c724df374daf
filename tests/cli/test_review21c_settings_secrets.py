"""review21c: passwords in settings (issue 21.9 `config settings`; "secrets in output"), in the URL forms the
review21b fix (06ca158) does not recognise."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke

PASSWORD = "Sup3rS3cretPw"


@pytest.mark.parametrize(
    ("variable", "value", "leaked"),
    [
        # SQLAlchemy takes a password with "/" as it is (make_url: password 'Sup3r/S3cretPw').
        ("ROOMSOPS_ROOMS_DATABASE", "postgresql://sa:Sup3r/S3cretPw@db.example/rooms", "S3cretPw"),
        # ... and with a space.
        ("ROOMSOPS_ROOMS_DATABASE", "postgresql://sa:Sup3r S3cretPw@db.example/rooms", "S3cretPw"),
        # A proxy password with "@" (requests/urllib3 take the userinfo up to the last "@"): half of it shown.
        ("ROOMSOPS_NETWORK_PROXY", "http://proxyuser:Sup3r@S3cretPw@proxy.example:8080", "S3cretPw"),
        # The password as a query parameter (SQLAlchemy hands it to the driver: psycopg's password=).
        ("ROOMSOPS_ROOMS_DATABASE", "postgresql://sa@db.example/rooms?password=Sup3rS3cretPw", PASSWORD),
        # SQL Server through ODBC (ROOMS' own database is SQL Server): the password inside odbc_connect.
        (
            "ROOMSOPS_ROOMS_DATABASE",
            "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC+Driver+18+for+SQL+Server%7D%3BSERVER%3Dsql%3B"
            "UID%3Dsa%3BPWD%3DSup3rS3cretPw",
            PASSWORD,
        ),
        # A proxy written without its scheme, as on many proxy settings pages.
        ("ROOMSOPS_NETWORK_PROXY", f"proxyuser:{PASSWORD}@proxy.example:8080", PASSWORD),
    ],
    ids=["db-slash", "db-space", "proxy-at", "db-query", "db-odbc", "proxy-no-scheme"],
)
@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_config_settings_masks_every_form_of_url_password(
    invoke: Invoke, variable: str, value: str, leaked: str, json_output: bool
) -> None:
    args = ("--json", "config", "settings") if json_output else ("config", "settings")
    run = invoke(*args, env={variable: value})
    assert leaked not in run.out + run.err, run.out + run.err


def test_a_malformed_database_url_is_refused_without_its_password(invoke: Invoke) -> None:
    """A typo in the scheme (`postgresql//` without the colon) is refused, exit 2, but the error line quotes the
    whole value: "rooms.database 'postgresql//sa:Sup3rS3cretPw@db/rooms' is not a database URL". The line goes to
    stderr, the scheduler's log and (with --json) stdout."""
    for args in (("rooms", "list"), ("--json", "rooms", "list")):
        run = invoke(*args, env={"ROOMSOPS_ROOMS_DATABASE": f"postgresql//sa:{PASSWORD}@db.example/rooms"})
        assert run.code == 2, run.out + run.err
        assert PASSWORD not in run.out + run.err, run.out + run.err
