"""Review of issue 17: secrets the one rule and the masker still let through.

Before the fixes: `config set SmtpPassphrase …` / `StorageAccountKey …` / `ServiceBusSharedAccessKey …` were
shown by `config show` and written to audit.jsonl in clear (the rule knew "password" and "apikey", not these);
an Entra client secret pasted where roomsops had not registered it yet was echoed on the error line: as an
extra argument after `--client-secret-stdin`, into `config set ExchangeTenantId`, `auth test --mailbox`, an
option that takes a number, and in `--debug` tracebacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from roomsops.core.logs import MASK, mask
from roomsops.core.secrets import is_secret_key
from tests.conftest import APP, TENANT, Invoke, one_line_error

# The shape the portal (and the lab) hand out: 3 characters, a digit, "Q~", 34 more.
ENTRA_SECRET = "eqK8Q~Y56BBT0P5ZwlqRxWkG7Q~NmmiN..z83W~j"


@pytest.mark.parametrize(
    "key",
    [
        "SmtpPassphrase",
        "CertificatePassPhrase",
        "StorageAccountKey",
        "ServiceBusSharedAccessKey",
        "AwsSecretAccessKey",
        "access_key",
        "JwtSigningKey",
        "DataEncryptionKey",
    ],
)
def test_secret_keys_by_other_names(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["AccessRights", "KeyboardLayout", "SigningOffMessage", "BookingKey"])
def test_words_near_those_names_are_no_secrets(key: str) -> None:
    assert not is_secret_key(key)


def test_a_passphrase_and_an_account_key_never_reach_show_or_the_audit_log(
    invoke: Invoke, app_settings: Path, tmp_path: Path, settings_file: Callable[[str], Path]
) -> None:
    settings = settings_file(f'[log]\naudit = "{tmp_path}/audit.jsonl"\nfile = "{tmp_path}/roomsops.log"\n')
    base = ("--settings", str(settings), "--app-settings", str(app_settings))
    values = {"SmtpPassphrase": "correct horse battery", "StorageAccountKey": "c3RvcmFnZS1rZXktdmFsdWU="}
    for key, value in values.items():
        assert invoke(*base, "config", "set", key, "-", "--force", input=value + "\n").code == 0
    shown = {
        e["key"]: e["value"] for e in json.loads(invoke(*base, "--json", "config", "show").out)["entries"]
    }
    assert [shown[key] for key in values] == [MASK, MASK]
    audit = (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    log = (tmp_path / "roomsops.log").read_text(encoding="utf-8")
    for value in values.values():
        assert value not in audit and value not in log


def test_an_entra_shaped_secret_is_masked_wherever_it_is_written() -> None:
    assert mask(f"tenant id '{ENTRA_SECRET}' is not a GUID") == f"tenant id '{MASK}' is not a GUID"
    # Not inside a longer token, and nothing else of that look: ids, thumbprints, paths stay as they are.
    longer = "x" + ENTRA_SECRET + "y" * 5
    assert mask(longer) == longer
    for ordinary in (TENANT, APP, "0123456789abcdef0123456789abcdef01234567", "C:\\Program Files (x86)\\Q~"):
        assert mask(ordinary) == ordinary


@pytest.mark.parametrize(
    "args",
    [
        # The secret pasted after the flag that reads it from stdin: click's "unexpected extra argument".
        ("config", "init", "--tenant-id", TENANT, "--app-id", APP, "--client-secret-stdin", ENTRA_SECRET),
        ("config", "set", "ExchangeTenantId", ENTRA_SECRET),
        ("auth", "test", "--mailbox", ENTRA_SECRET),
        ("sync", "--concurrency", ENTRA_SECRET),
    ],
    ids=["extra-argument", "tenant-id", "mailbox", "concurrency"],
)
def test_a_client_secret_pasted_into_the_wrong_place_is_not_echoed(
    invoke: Invoke, app_settings: Path, args: tuple[str, ...]
) -> None:
    for json_mode in ((), ("--json",)):
        run = invoke("--app-settings", str(app_settings), *json_mode, *args, input=ENTRA_SECRET + "\n")
        assert run.code == 2
        assert ENTRA_SECRET not in run.out + run.err
        assert MASK in run.out + run.err
        if json_mode:
            assert json.loads(run.out)["ok"] is False
        else:
            one_line_error(run)


def test_nor_in_a_debug_traceback(invoke: Invoke, app_settings: Path) -> None:
    run = invoke(
        "--app-settings", str(app_settings), "--debug", "config", "set", "ExchangeAppId", ENTRA_SECRET
    )
    assert run.code == 2
    assert "Traceback" in run.err
    assert ENTRA_SECRET not in run.err
