"""`roomsops config ...` through the real CLI: exact exit codes and messages; files untouched on error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tests.conftest import APP, SAMPLE, SECRET, TENANT, CertFiles, Invoke, MakeCert, SettingsFile

NEW_TENANT = "d7f0c3a1-2b4e-4c6d-8e9f-0a1b2c3d4e5f"
THUMB = "3A7F5C19D26B8E440F1A2B3C4D5E6F708192A3B4"


def test_init_creates_the_file_from_the_template(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "new" / "RoomsAppSettings.config"
    path.parent.mkdir()
    run = invoke(
        "--app-settings",
        str(path),
        "config",
        "init",
        "--tenant-id",
        TENANT,
        "--app-id",
        APP,
        "--client-secret-stdin",
        input=SECRET + "\n",
    )
    assert run.code == 0, run.err
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf<?xml")
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert f'<add key="ExchangeClientSecret" value="{SECRET}" />'.encode() in data
    assert b"ExchangeCertThumbprint" not in data
    assert "Restart the ROOMS service" in run.err
    assert SECRET not in run.out + run.err


def test_init_updates_in_place_and_keeps_everything_else(invoke: Invoke, app_settings: Path) -> None:
    run = invoke(
        "--app-settings",
        str(app_settings),
        "config",
        "init",
        "--tenant-id",
        TENANT,
        "--app-id",
        APP,
        "--cert-thumbprint",
        THUMB,
        "--yes",
    )
    assert run.code == 0, run.err
    expected = SAMPLE.replace(
        f'<add key="ExchangeClientSecret" value="{SECRET}" />'.encode(),
        f'<add key="ExchangeCertThumbprint" value="{THUMB}" />'.encode(),
    )
    # the thumbprint takes the secret's place? No: the secret's line goes, the thumbprint is appended.
    data = app_settings.read_bytes()
    assert f'value="{SECRET}"'.encode() not in data
    assert f'<add key="ExchangeCertThumbprint" value="{THUMB}" />\r\n</RoomsAppSettings>'.encode() in data
    assert data.startswith(b"\xef\xbb\xbf") and b"<!-- Exchange Online -->" in data
    assert len(data.splitlines()) == len(expected.splitlines())
    backup = app_settings.with_name("RoomsAppSettings.config.bak")
    assert backup.read_bytes() == SAMPLE


def test_init_with_the_same_values_changes_nothing(invoke: Invoke, app_settings: Path) -> None:
    run = invoke(
        "--app-settings",
        str(app_settings),
        "--json",
        "config",
        "init",
        "--tenant-id",
        TENANT,
        "--app-id",
        APP,
        "--client-secret-env",
        "S",
        env={"S": SECRET},
    )
    assert run.code == 0, run.err
    assert json.loads(run.out)["action"] == "unchanged"
    assert app_settings.read_bytes() == SAMPLE


def test_thumbprint_with_invisible_mark_is_accepted_with_a_warning(
    invoke: Invoke, app_settings: Path
) -> None:
    copied = "\u200e3a 7f 5c 19 d2 6b 8e 44 0f 1a 2b 3c 4d 5e 6f 70 81 92 a3 b4"
    run = invoke(
        "--app-settings", str(app_settings), "config", "set", "ExchangeCertThumbprint", copied, "--yes"
    )
    assert run.code == 0, run.err
    assert "U+200E LEFT-TO-RIGHT MARK" in run.err
    assert f'value="{THUMB}"'.encode() in app_settings.read_bytes()


def test_show_masks_the_secret(invoke: Invoke, app_settings: Path) -> None:
    run = invoke("--app-settings", str(app_settings), "config", "show")
    assert run.code == 0
    assert "ExchangeClientSecret      ********" in run.out
    assert f"ExchangeTenantId          {TENANT}" in run.out
    assert SECRET not in run.out + run.err


def test_show_json_shape(invoke: Invoke, app_settings: Path) -> None:
    run = invoke("--app-settings", str(app_settings), "--json", "config", "show")
    assert run.code == 0
    assert json.loads(run.out) == {
        "path": str(app_settings),
        "entries": [
            {"key": "ExchangeUseImpersonation", "value": "true", "secret": False},
            {"key": "ExchangeTenantId", "value": TENANT, "secret": False},
            {"key": "ExchangeAppId", "value": APP, "secret": False},
            {"key": "ExchangeClientSecret", "value": "********", "secret": True},
            {"key": "BatchGetEventsSize", "value": "100", "secret": False},
        ],
        "ok": True,
    }


def test_set_and_unset_other_keys(invoke: Invoke, app_settings: Path) -> None:
    assert invoke("--app-settings", str(app_settings), "config", "set", "BatchGetEventsSize", "50").code == 0
    assert b'<add key="BatchGetEventsSize" value="50" />' in app_settings.read_bytes()
    assert invoke("--app-settings", str(app_settings), "config", "unset", "BatchGetEventsSize").code == 0
    assert app_settings.read_bytes() == SAMPLE.replace(
        b'    <add key="BatchGetEventsSize" value="100" />\r\n', b""
    )


def test_check_passes_on_a_good_file(invoke: Invoke, app_settings: Path) -> None:
    run = invoke("--app-settings", str(app_settings), "config", "check")
    assert run.code == 0, run.out
    assert "failed" not in run.out


def test_check_prints_a_folder_with_brackets_as_it_is(invoke: Invoke, tmp_path: Path) -> None:
    """fix21aa (review21z's doctor finding, the same table): the report's title is the file's path, which rich
    took for markup, so a folder "[backup]" vanished from it."""
    path = tmp_path / "[backup]" / "RoomsAppSettings.config"
    path.parent.mkdir()
    path.write_bytes(SAMPLE)
    run = invoke("--app-settings", str(path), "config", "check")
    assert run.code == 0, run.out
    assert "[backup]" in run.out, run.out


def test_check_json_shape(invoke: Invoke, app_settings: Path) -> None:
    run = invoke("--app-settings", str(app_settings), "--json", "config", "check")
    doc = json.loads(run.out)
    assert doc["ok"] is True and doc["subject"] == str(app_settings)
    assert [c["name"] for c in doc["checks"]] == ["file", "ExchangeTenantId", "ExchangeAppId", "credential"]
    assert set(doc["checks"][0]) == {"name", "status", "message", "remedy"}
    assert {c["status"] for c in doc["checks"]} == {"ok"}


def test_error_json_shape(invoke: Invoke, tmp_path: Path) -> None:
    missing = tmp_path / "nope.config"
    run = invoke("--app-settings", str(missing), "--json", "config", "show")
    assert run.code == 2
    assert json.loads(run.out) == {
        "error": {
            "code": "bad_input",
            "message": f"{missing} does not exist",
            "remedy": "create it with 'roomsops config init', or point --app-settings at ROOMS' file",
        },
        "ok": False,
    }


# --- bad input: exit 2 with one exact line, the file byte-for-byte unchanged ---------------------------

BAD_INPUTS: list[tuple[str, list[str], str | None, dict[str, str] | None, str]] = [
    (
        "wrong tenant GUID",
        [
            "config",
            "init",
            "--tenant-id",
            "6e9157a8-801c-4f5c-9522",
            "--app-id",
            APP,
            "--cert-thumbprint",
            THUMB,
        ],
        None,
        None,
        "Error: tenant id '6e9157a8-801c-4f5c-9522' is not a GUID",
    ),
    (
        "wrong app GUID in set",
        ["config", "set", "ExchangeAppId", "not-a-guid"],
        None,
        None,
        "Error: app id 'not-a-guid' is not a GUID",
    ),
    (
        "thumbprint too short",
        ["config", "init", "--tenant-id", TENANT, "--app-id", APP, "--cert-thumbprint", THUMB[:-2]],
        None,
        None,
        "Error: thumbprint has 38 hex digits, a SHA-1 thumbprint has 40",
    ),
    (
        "thumbprint not hex",
        ["config", "set", "ExchangeCertThumbprint", THUMB[:-1] + "X"],
        None,
        None,
        "Error: thumbprint contains 'X' at position 40, which is not a hex digit",
    ),
    (
        "secret and thumbprint",
        [
            "config",
            "init",
            "--tenant-id",
            TENANT,
            "--app-id",
            APP,
            "--client-secret-stdin",
            "--cert-thumbprint",
            THUMB,
        ],
        "s\n",
        None,
        "Error: --client-secret-stdin and --cert-thumbprint exclude each other — give exactly one of "
        "--client-secret-stdin, --client-secret-env VAR, --cert-thumbprint HEX",
    ),
    (
        "no credential",
        ["config", "init", "--tenant-id", TENANT, "--app-id", APP],
        None,
        None,
        "Error: no credential given — give exactly one of --client-secret-stdin, --client-secret-env VAR, "
        "--cert-thumbprint HEX",
    ),
    (
        "secret variable unset",
        ["config", "init", "--tenant-id", TENANT, "--app-id", APP, "--client-secret-env", "NO_SUCH_VAR_X"],
        None,
        None,
        "Error: environment variable NO_SUCH_VAR_X is not set — set NO_SUCH_VAR_X to the client secret, "
        "or use --client-secret-stdin",
    ),
    (
        "empty secret on stdin",
        ["config", "init", "--tenant-id", TENANT, "--app-id", APP, "--client-secret-stdin"],
        "\n",
        None,
        "Error: nothing on standard input — pipe the value into the command",
    ),
    (
        "unknown key for unset",
        ["config", "unset", "ExchangeNoSuchKey", "--force"],
        None,
        None,
        "Error: key 'ExchangeNoSuchKey' is not in",
    ),
    (
        "replacing credentials without a terminal",
        ["config", "init", "--tenant-id", NEW_TENANT, "--app-id", APP, "--client-secret-env", "S"],
        None,
        {"S": "other"},
        "Error: Replace the Exchange credentials in",
    ),
    (
        "removing a credential without a terminal",
        ["config", "unset", "ExchangeClientSecret"],
        None,
        None,
        "Error: Remove ExchangeClientSecret from",
    ),
    (
        "empty secret",
        ["config", "set", "ExchangeClientSecret", " ", "--yes"],
        None,
        None,
        "Error: the client secret is empty",
    ),
    (
        "missing option",
        ["config", "init", "--app-id", APP],
        None,
        None,
        "Error: Missing option '--tenant-id'.",
    ),
    ("unknown command", ["config", "frobnicate"], None, None, "Error: No such command 'frobnicate'."),
    (
        "settings file not TOML",
        ["--settings", "SETTINGS", "config", "check"],
        None,
        None,
        "is not valid TOML",
    ),
]


@pytest.mark.parametrize(
    ("args", "stdin", "env", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
@pytest.mark.usefixtures("unchanged")
def test_bad_input_exits_2_and_changes_nothing(
    invoke: Invoke,
    app_settings: Path,
    tmp_path: Path,
    args: list[str],
    stdin: str | None,
    env: dict[str, str] | None,
    message: str,
) -> None:
    bad_settings = tmp_path / "bad.toml"
    bad_settings.write_text("[cloud\n", encoding="utf-8")
    args = [str(bad_settings) if a == "SETTINGS" else a for a in args]
    run = invoke("--app-settings", str(app_settings), *args, input=stdin, env=env)
    assert run.code == 2, run.err
    assert run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert message in lines[0]
    assert lines[0].startswith("Error: ")


BROKEN_FILES: list[tuple[str, bytes, str]] = [
    (
        "malformed XML",
        b'<RoomsAppSettings>\n  <add key="a" value="b">\n</RoomsAppSettings>\n',
        "malformed XML at line 3, column 3: mismatched tag",
    ),
    (
        "not UTF-8",
        '<RoomsAppSettings><add key="Name" value="Zürich"/></RoomsAppSettings>'.encode("latin-1"),
        "is not UTF-8",
    ),
    ("UTF-16", b"\xff\xfe" + "<RoomsAppSettings/>".encode("utf-16-le"), "UTF-16"),
    ("wrong root", b"<configuration><appSettings/></configuration>", "RoomsAppSettings"),
]


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in BROKEN_FILES], ids=[c[0] for c in BROKEN_FILES])
@pytest.mark.parametrize(
    "command",
    [
        ["config", "show"],
        ["config", "check"],
        ["config", "set", "K", "v", "--force"],
        ["config", "init", "--tenant-id", TENANT, "--app-id", APP, "--cert-thumbprint", THUMB, "--yes"],
    ],
)
def test_broken_file_exits_2_and_is_not_written(
    invoke: Invoke, tmp_path: Path, data: bytes, message: str, command: list[str]
) -> None:
    path = tmp_path / "RoomsAppSettings.config"
    path.write_bytes(data)
    run = invoke("--app-settings", str(path), *command)
    assert run.code == 2, run.err
    assert message in run.err
    assert len(run.err.splitlines()) == 1
    assert path.read_bytes() == data
    assert not path.with_name(path.name + ".bak").exists()


# --- certificate checks: exit 1 naming the failing check, file unchanged -----------------------------


@pytest.fixture
def thumbprint_config(app_settings: Path, invoke: Invoke) -> Callable[[str], None]:
    def configure(thumbprint: str) -> None:
        assert (
            invoke(
                "--app-settings",
                str(app_settings),
                "config",
                "set",
                "ExchangeCertThumbprint",
                thumbprint,
                "--yes",
            ).code
            == 0
        )

    return configure


def check(invoke: Invoke, app_settings: Path, settings: Path, env: dict[str, str] | None = None) -> dict:
    run = invoke(
        "--settings", str(settings), "--app-settings", str(app_settings), "--json", "config", "check", env=env
    )
    doc = json.loads(run.out)
    assert run.code == (0 if doc["ok"] else 1)
    return {c["name"]: c for c in doc["checks"]}


def test_certificate_file_good(
    invoke: Invoke,
    app_settings: Path,
    tmp_path: Path,
    make_cert: MakeCert,
    rsa_key: RSAPrivateKey,
    thumbprint_config: Callable[[str], None],
    settings_file: SettingsFile,
) -> None:
    cert: CertFiles = make_cert()
    pem = cert.pem(tmp_path, rsa_key)
    thumbprint_config(cert.thumbprint)
    checks = check(invoke, app_settings, settings_file(f'[auth]\ncertificate_file = "{pem}"\n'))
    assert checks["certificate thumbprint"]["status"] == "ok"
    assert checks["certificate key"]["status"] == "ok"
    assert checks["certificate validity"]["status"] == "ok"


def test_certificate_pfx_with_password(
    invoke: Invoke,
    app_settings: Path,
    tmp_path: Path,
    make_cert: MakeCert,
    rsa_key: RSAPrivateKey,
    thumbprint_config: Callable[[str], None],
    settings_file: SettingsFile,
) -> None:
    cert: CertFiles = make_cert()
    pfx = cert.pfx(tmp_path, rsa_key, b"pfx-pass-123")
    thumbprint_config(cert.thumbprint)
    settings = settings_file(f'[auth]\ncertificate_file = "{pfx}"\ncertificate_password_env = "PFXPW"\n')
    checks = check(invoke, app_settings, settings, env={"PFXPW": "pfx-pass-123"})
    assert checks["certificate key"]["status"] == "ok"
    wrong = check(invoke, app_settings, settings, env={"PFXPW": "wrong-pass"})
    assert wrong["certificate file"]["status"] == "failed"
    assert "wrong-pass" not in json.dumps(wrong)


@pytest.mark.parametrize(
    "case", ["missing", "mismatch", "encrypted-no-password", "corrupt", "expired", "expiring-soon", "no-key"]
)
def test_certificate_file_problems(
    case: str,
    invoke: Invoke,
    app_settings: Path,
    tmp_path: Path,
    make_cert: MakeCert,
    rsa_key: RSAPrivateKey,
    thumbprint_config: Callable[[str], None],
    settings_file: SettingsFile,
) -> None:
    cert: CertFiles = make_cert(
        days_valid={"expired": -2, "expiring-soon": 10}.get(case, 365),
        days_since=30 if case == "expired" else 1,
    )
    pem = cert.pem(
        tmp_path,
        None if case == "no-key" else rsa_key,
        password=b"pw" if case == "encrypted-no-password" else None,
    )
    if case == "missing":
        pem.unlink()
    if case == "corrupt":
        pem.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    thumbprint_config(THUMB if case == "mismatch" else cert.thumbprint)
    before = app_settings.read_bytes()
    checks = check(invoke, app_settings, settings_file(f'[auth]\ncertificate_file = "{pem}"\n'))
    expected = {
        "missing": ("certificate file", "failed", "does not exist"),
        "mismatch": ("certificate thumbprint", "failed", f"has thumbprint {cert.thumbprint}"),
        "encrypted-no-password": ("certificate file", "failed", "encrypted"),
        "corrupt": ("certificate file", "failed", "not"),
        "expired": ("certificate validity", "failed", "expired on"),
        "expiring-soon": ("certificate validity", "warning", "days left"),
        "no-key": ("certificate key", "failed", "holds no private key"),
    }[case]
    name, status, text = expected
    assert checks[name]["status"] == status, checks
    assert text in checks[name]["message"]
    assert app_settings.read_bytes() == before


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ExchangeClientSecret", "6a1f3c2e-0d4b-4e8f-9a7c-1b2d3e4f5a6b", "looks like a Secret ID"),
        ("ExchangeClientSecret", "xxx", "still a placeholder"),
    ],
)
def test_check_catches_secret_mistakes(
    invoke: Invoke, app_settings: Path, key: str, value: str, message: str
) -> None:
    data = app_settings.read_bytes().replace(SECRET.encode(), value.encode())
    app_settings.write_bytes(data)
    run = invoke("--app-settings", str(app_settings), "config", "check")
    assert run.code == 1
    assert message in run.out


def test_check_fails_on_invisible_character_in_file(invoke: Invoke, app_settings: Path) -> None:
    data = app_settings.read_bytes().replace(
        f'<add key="ExchangeClientSecret" value="{SECRET}" />'.encode(),
        f'<add key="ExchangeCertThumbprint" value="\u200e{THUMB}" />'.encode(),
    )
    app_settings.write_bytes(data)
    run = invoke("--app-settings", str(app_settings), "--json", "config", "check")
    assert run.code == 1
    credential = next(c for c in json.loads(run.out)["checks"] if c["name"] == "credential")
    assert "U+200E" in credential["message"]
    assert credential["remedy"] == f"roomsops config set ExchangeCertThumbprint {THUMB}"


def test_check_both_and_neither_credential(invoke: Invoke, app_settings: Path) -> None:
    both = app_settings.read_bytes().replace(
        b"</RoomsAppSettings>",
        f'  <add key="ExchangeCertThumbprint" value="{THUMB}" />\r\n</RoomsAppSettings>'.encode(),
    )
    app_settings.write_bytes(both)
    run = invoke("--app-settings", str(app_settings), "config", "check")
    assert run.code == 1 and "both ExchangeClientSecret and ExchangeCertThumbprint are set" in run.out
    neither = SAMPLE.replace(f'    <add key="ExchangeClientSecret" value="{SECRET}" />\r\n'.encode(), b"")
    app_settings.write_bytes(neither)
    run = invoke("--app-settings", str(app_settings), "config", "check")
    assert run.code == 1 and "neither ExchangeClientSecret nor ExchangeCertThumbprint is set" in run.out
