"""review21g: `config init` on an existing RoomsAppSettings.config whose credential keys are spelled in another case
(issue 21.5: "a key that differs only in case is treated as that key"; .NET reads appSettings keys
case-insensitively). `config set` replaces the other spelling; `config init` adds the documented spelling beside
it: the file then holds two tenant ids, app ids and client secrets (the replaced secret stays on disk, and `config
check` fails on the case variants init itself left), and replacing the existing client secret is not confirmed —
README: "Replacing or removing credentials asks for confirmation on a terminal; without one it needs --yes"."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Invoke, Run

OLD_SECRET = "Old~sEcReT.vAlUe_0001"
NEW_SECRET = "New~sEcReT.vAlUe_0002"
TENANT = "9edebb28-f765-4766-858e-a33aa5c0870a"
APP = "e75be079-75f0-496b-88bd-768ed62e0b8e"

FILE = (
    '<?xml version="1.0" encoding="utf-8"?>\r\n'
    "<RoomsAppSettings>\r\n"
    '  <add key="exchangetenantid" value="11111111-1111-1111-1111-111111111111" />\r\n'
    '  <add key="EXCHANGEAPPID" value="22222222-2222-2222-2222-222222222222" />\r\n'
    f'  <add key="exchangeclientsecret" value="{OLD_SECRET}" />\r\n'
    "</RoomsAppSettings>\r\n"
)


def _init(invoke: Invoke, path: Path, *extra: str) -> Run:
    return invoke(
        "--app-settings", str(path), "config", "init", "--tenant-id", TENANT, "--app-id", APP,
        "--client-secret-stdin", *extra, input=NEW_SECRET + "\n",
    )  # fmt: skip


def test_init_without_yes_does_not_replace_a_secret_spelled_in_another_case(
    invoke: Invoke, tmp_path: Path
) -> None:
    path = tmp_path / "RoomsAppSettings.config"
    path.write_bytes(FILE.encode())
    run = _init(invoke, path)  # no terminal, no --yes
    assert run.code == 2, run.out + run.err
    assert path.read_bytes() == FILE.encode()


def test_init_replaces_the_keys_spelled_in_another_case(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "RoomsAppSettings.config"
    path.write_bytes(FILE.encode())
    run = _init(invoke, path, "--yes")
    assert run.code == 0, run.out + run.err
    text = path.read_text(encoding="utf-8")
    assert OLD_SECRET not in text, text
    keys = [line.split('"')[1] for line in text.splitlines() if "<add key=" in line]
    assert sorted(keys) == ["ExchangeAppId", "ExchangeClientSecret", "ExchangeTenantId"], keys
    check = invoke("--app-settings", str(path), "--json", "config", "check")
    assert '"case variants"' not in check.out, check.out
