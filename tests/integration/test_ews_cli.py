"""EWS diagnostics against the lab with the real msal and exchangelib: sync test, probes, throttling, doctor."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, Run

pytestmark = pytest.mark.integration


def steps(run: Run) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(run.out)["checks"]}


def sync_test(invoke: Invoke, env: dict[str, str], address: str) -> tuple[Run, dict[str, dict[str, Any]]]:
    run = invoke("--json", "sync", "test", address, env=env)
    return run, steps(run)


def first_failure(checks: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    return next((name, c) for name, c in checks.items() if c["status"] == "failed")


def org(lab: Any, **changes: Any) -> None:
    with lab.lab.tenant.change() as state:
        for key, value in changes.items():
            setattr(state.organization, key, value)


def test_sync_test_all_green(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    run, checks = sync_test(invoke, env, addr("DiegoS"))
    assert run.code == 0, run.out
    assert list(checks) == [
        "token",
        "EWS connection",
        "impersonation",
        "primary SMTP address",
        "calendar folder",
        "pull subscription",
    ]
    assert {c["status"] for c in checks.values()} == {"ok"}


def test_sync_test_names_the_failing_step(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    assert invoke("policy", "restrict", "--member", addr("DiegoS"), env=env).code == 0
    cases = {
        addr("AdeleV"): ("impersonation", "application access policy", "policy restrict"),
        "diego.siciliani@" + addr("x").split("@")[1]: (
            "primary SMTP address",
            f"primary SMTP address is {addr('DiegoS')}",
            "use the primary SMTP address",
        ),
        addr("nobody"): ("impersonation", "no such mailbox", "check the address"),
    }
    for address, (step, message, remedy) in cases.items():
        run, checks = sync_test(invoke, env, address)
        assert run.code == 1, run.out
        name, failed = first_failure(checks)
        assert (name, message in failed["message"], remedy in failed["remedy"]) == (step, True, True), failed
    org(fresh_lab, ews_enabled=False)
    run, checks = sync_test(invoke, env, addr("DiegoS"))
    assert run.code == 1
    name, failed = first_failure(checks)
    assert name == "impersonation"
    assert "EWS is disabled for this user or tenant" in failed["message"]
    assert "roomsops ews allow" in failed["remedy"]


@pytest.mark.slow
def test_policy_test_live_shows_the_propagation_lag(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    # A delay no run outlasts; its end is then brought forward in the lab's state, so the test does not
    # depend on how fast this machine runs two commands.
    fresh_lab.settings(policy_delay=600)
    try:
        assert invoke("policy", "restrict", "--member", addr("DiegoS"), env=env).code == 0
        run = invoke("--json", "policy", "test", addr("AdeleV"), "--live", env=env)
        assert run.code == 0
        (test,) = json.loads(run.out)["tests"]
        assert (test["access_check_result"], test["live"]) == ("Denied", "Granted")
        assert "EWS does not reflect the policy yet" in run.err
        with fresh_lab.lab.tenant.change() as state:  # the delay is over
            for policy in state.application_access_policies:
                policy["effective_at"] = time.time()
        run = invoke("--json", "policy", "test", addr("AdeleV"), "--live", env=env)
        (test,) = json.loads(run.out)["tests"]
        assert (test["access_check_result"], test["live"]) == ("Denied", "Denied")
    finally:
        fresh_lab.settings(policy_delay=0)


def test_policy_test_live_with_a_wrong_sync_secret_is_no_success(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    """Review finding (issue 16): the live probe failed on the token, yet the run said ok and exited 0."""
    copy = tmp_path / "RoomsAppSettings.config"
    copy.write_bytes((Path(fresh_lab.dir) / "RoomsAppSettings.config").read_bytes())
    wrong = env | {"ROOMSOPS_APP_SETTINGS": str(copy)}
    assert (
        invoke("config", "set", "ExchangeClientSecret", "wrong~secret.value.1", "--yes", env=wrong).code == 0
    )
    run = invoke("--json", "policy", "test", addr("DiegoS"), "--live", env=wrong)
    doc = json.loads(run.out)
    assert run.code == 1, run.out
    assert doc["ok"] is False
    (test,) = doc["tests"]
    assert test["live"] not in ("Granted", "Denied")
    good = invoke("--json", "policy", "test", addr("DiegoS"), "--live", env=env)
    assert good.code == 0 and json.loads(good.out)["tests"][0]["live"] == "Granted"


def test_ews_status_and_allow(invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any) -> None:
    other_app = "0f0e0d0c-0b0a-4909-8807-060504030201"
    org(fresh_lab, ews_enabled=True, ews_allowed_app_ids=[other_app])
    run, checks = sync_test(invoke, env, addr("DiegoS"))
    assert run.code == 1 and first_failure(checks)[0] == "impersonation"
    status = invoke("--json", "ews", "status", "--mailbox", addr("DiegoS"), env=env)
    doc = json.loads(status.out)
    assert status.code == 1
    assert (doc["ews_enabled"], doc["allowed_app_ids"], doc["sync_app_allowed"]) == (True, [other_app], False)
    assert doc["mailboxes"] == [[addr("DiegoS"), True]]
    allow = invoke("--json", "ews", "allow", "--yes", env=env)
    assert allow.code == 0, allow.err
    sync_app = fresh_lab.info["apps"]["rooms"]["app_id"]
    assert json.loads(allow.out)["allowed_after"] == [other_app, sync_app]
    assert invoke("ews", "status", env=env).code == 0
    run, _ = sync_test(invoke, env, addr("DiegoS"))
    assert run.code == 0, run.out


def test_ews_allow_enable_needs_confirmation(invoke: Invoke, fresh_lab: Any, env: dict[str, str]) -> None:
    run = invoke("ews", "allow", "--enable", env=env)
    assert run.code == 2
    assert "Set EwsEnabled to True? From then on only these apps may use EWS" in run.err
    with fresh_lab.lab.tenant.read() as state:
        assert state.organization.ews_enabled is None


# --- the adapter's retry rules ------------------------------------------------------------------------------


@pytest.fixture
def client(fresh_lab: Any, env: dict[str, str]) -> Any:
    from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings
    from roomsops.adapters.ews.client import EwsClient
    from roomsops.core.settings import app_settings_path, load_settings

    settings = load_settings(env["ROOMSOPS_SETTINGS"], environ={})
    provider = TokenProvider(
        credentials_from_app_settings(app_settings_path(None, settings, {}), settings, os.environ), settings
    )
    return EwsClient(settings, provider, retry_budget=5.0)


def test_server_busy_is_retried_with_its_back_off(fresh_lab: Any, client: Any, addr: Any) -> None:
    client.calendar(addr("DiegoS"))
    fresh_lab.fault(protocol="ews", operation="*", kind="server_busy", back_off_ms=200, count=3)
    started = time.monotonic()
    assert client.resolve_primary(addr("DiegoS")) == addr("DiegoS")
    assert time.monotonic() - started >= 0.6
    assert fresh_lab.requests()["ews:ResolveNames"] == 4


def test_back_off_beyond_the_budget_fails_clearly(fresh_lab: Any, client: Any, addr: Any) -> None:
    from roomsops.adapters.ews.client import EwsError

    fresh_lab.fault(protocol="ews", operation="*", kind="server_busy", back_off_ms=60_000, count=1)
    started = time.monotonic()
    with pytest.raises(EwsError) as info:
        client.calendar(addr("DiegoS"))
    assert info.value.reason == "throttled"
    assert "throttled beyond the retry budget of 5s (the server asked to wait 60s)" in info.value.message
    assert fresh_lab.requests()["ews:GetFolder"] == 1  # refused once, not sent again
    assert time.monotonic() - started < 30  # did not wait: far below the 60 s asked (no speed assumed)


def test_a_401_fails_within_a_second(fresh_lab: Any, client: Any, addr: Any) -> None:
    from roomsops.adapters.ews.client import EwsUnauthorized

    client.calendar(addr("DiegoS"))
    tokens = fresh_lab.requests().get("token:client_credentials", 0)
    fresh_lab.fault(protocol="ews", operation="*", kind="http_401", count=1)
    resolves = fresh_lab.requests().get("ews:ResolveNames", 0)
    started = time.monotonic()
    with pytest.raises(EwsUnauthorized):
        client.resolve_primary(addr("DiegoS"))
    assert fresh_lab.requests()["ews:ResolveNames"] == resolves + 1  # not retried, so not waited for
    assert time.monotonic() - started < 10  # no back-off slept (a bound a loaded machine meets)
    client.resolve_primary(addr("DiegoS"))  # the dropped token is replaced by a fresh one
    assert fresh_lab.requests()["token:client_credentials"] == tokens + 1


def test_a_dropped_create_is_not_resent(fresh_lab: Any, client: Any, addr: Any) -> None:
    from exchangelib import EWSDateTime
    from exchangelib.items import SEND_TO_NONE, CalendarItem

    from roomsops.adapters.ews.client import WriteOutcomeUnknown

    calendar = client.calendar(addr("DiegoS"))
    start = EWSDateTime.from_datetime(datetime.now(UTC).replace(microsecond=0) + timedelta(days=1))
    item = CalendarItem(
        folder=calendar,
        account=client.account(addr("DiegoS")),
        subject="Dropped answer",
        start=start,
        end=start + timedelta(hours=1),
        roomsops_booking="42",
    )
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_after", count=1)
    with pytest.raises(WriteOutcomeUnknown):
        client.call(addr("DiegoS"), lambda: item.save(send_meeting_invitations=SEND_TO_NONE), write=True)
    items = fresh_lab.admin("GET", f"/lab/mailboxes/{addr('DiegoS')}/calendar").json()["items"]
    assert [i["subject"] for i in items] == ["Dropped answer"]
    assert fresh_lab.requests()["ews:CreateItem"] == 1


# --- doctor ------------------------------------------------------------------------------------------------


def doctor(
    invoke: Invoke, env: dict[str, str], mailbox: str, **extra: str
) -> tuple[Run, dict[str, dict[str, Any]]]:
    run = invoke("--json", "doctor", "--mailbox", mailbox, env=env | extra)
    return run, steps(run)


def test_doctor_passes_on_the_lab(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    run, checks = doctor(invoke, env, addr("DiegoS"))
    assert run.code == 0, run.out
    assert [n for n, c in checks.items() if c["status"] == "failed"] == []
    assert list(checks) == [
        "config",
        "token",
        "admin app",
        "Exchange connection",
        "EWS readiness",
        "rooms",
        "EWS probe",
    ]


def test_doctor_names_each_failing_check(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    copy = tmp_path / "RoomsAppSettings.config"
    copy.write_bytes((Path(fresh_lab.dir) / "RoomsAppSettings.config").read_bytes())
    wrong = env | {"ROOMSOPS_APP_SETTINGS": str(copy)}
    assert (
        invoke("config", "set", "ExchangeClientSecret", "wrong~secret.value.1", "--yes", env=wrong).code == 0
    )
    # Could not authenticate or connect: exit 3 (README's table, issue 21.7); a finding: exit 1.
    cases: list[tuple[dict[str, str], str, int]] = [
        (wrong, "token", 3),
        ({"ROOMSOPS_POWERSHELL_PORT": "9"}, "Exchange connection", 3),
        # The sync app as the admin app: a finding, and doctor does not sign in as the sync app (review21w).
        ({"ROOMSOPS_EXO_APP_ID": fresh_lab.info["apps"]["rooms"]["app_id"]}, "admin app", 1),
    ]
    for extra, failing, code in cases:
        run, checks = doctor(invoke, env | extra, addr("DiegoS"))
        assert run.code == code, (failing, run.out)
        assert checks[failing]["status"] == "failed", (failing, checks)
    org(fresh_lab, ews_enabled=False)
    run, checks = doctor(invoke, env, addr("DiegoS"))
    assert run.code == 1
    assert checks["EWS readiness"]["status"] == "failed" and checks["EWS probe"]["status"] == "failed"
    org(fresh_lab, ews_enabled=None)
    assert invoke("policy", "restrict", "--member", addr("DiegoS"), env=env).code == 0
    run, checks = doctor(invoke, env, addr("AdeleV"))
    assert run.code == 1
    assert [n for n, c in checks.items() if c["status"] == "failed"] == ["EWS probe"]
    assert invoke("doctor", "--mailbox", addr("AdeleV"), env=env).out.startswith("failing: EWS probe")
