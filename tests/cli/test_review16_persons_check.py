"""Review of issue 16: `persons check` when the token service cannot be reached.

Each address was reported FAILED with the EWS connection's remedy ("check ... cloud.ews_url") although the
URL in the line was the token service's, and the exit code was 1. As in `sync`: no token, no check — exit 3
with the token service's own line, before any address is looked up.
"""

from __future__ import annotations

import json
from pathlib import Path

from roomsops.core.errors import AuthError, ConnectError
from roomsops.services.diagnose.probe import failed_probe
from tests.conftest import Invoke, one_line_error

DEAD = (
    '[cloud]\nname = "lab"\nauthority_host = "https://127.0.0.1:9"\n'
    'ews_url = "https://127.0.0.1:9/EWS/Exchange.asmx"\n[rooms]\ndatabase = "sqlite:///rooms.db"\n'
)


def test_persons_check_without_a_token_service_is_exit_3_naming_the_authority(
    invoke: Invoke, tmp_path: Path, app_settings: Path
) -> None:
    (tmp_path / "roomsops.toml").write_text(DEAD, encoding="utf-8")
    run = invoke("--app-settings", str(app_settings), "persons", "check", "diego@contoso.com")
    assert (run.code, run.out) == (3, ""), run.out + run.err
    line = one_line_error(run)
    assert line.startswith("Error: cannot reach https://127.0.0.1:9/")
    assert line.endswith("check the network, network.proxy and cloud.authority_host")
    run = invoke("--json", "--app-settings", str(app_settings), "persons", "check", "diego@contoso.com")
    assert run.code == 3
    assert json.loads(run.out)["error"]["code"] == "connect_failed"


def test_persons_check_of_nobody_needs_no_token(invoke: Invoke, tmp_path: Path, app_settings: Path) -> None:
    (tmp_path / "roomsops.toml").write_text(DEAD, encoding="utf-8")
    # a database whose only person roomsops does not sync (without one, persons check is no_database: review21w)
    added = invoke(
        "--app-settings",
        str(app_settings),
        "persons",
        "add",
        "x@example.com",
        "--sync-mode",
        "None",
        "--no-check",
    )
    assert added.code == 0, added.err
    run = invoke("--app-settings", str(app_settings), "persons", "check")
    assert (run.code, run.out) == (0, "no persons to check\n"), run.err


def test_a_probe_stopped_before_ews_keeps_the_remedy_of_what_stopped_it() -> None:
    """doctor's and policy test --live's probes: a token failure's remedy, not cloud.ews_url's."""
    refused = failed_probe("diego@contoso.com", ConnectError("cannot reach X", "check cloud.authority_host"))
    assert (refused.outcome, refused.remedy) == ("connection", "check cloud.authority_host")
    denied = failed_probe("diego@contoso.com", AuthError("AADSTS7000215: invalid secret", "renew the secret"))
    assert (denied.outcome, denied.remedy) == ("unauthorized", "renew the secret")
