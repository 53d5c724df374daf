"""The lab's WinRM endpoint driven by the real pypsrp 0.9.1 client: authentication, WS-Man, PSRP, faults.

Also the helpers the cmdlet tests share (`winrm`, `runspace`, `invoke`, `connect_app`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from pypsrp.complex_objects import ErrorRecord, GenericComplexObject
from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.wsman import WSMan

from roomsops.lab.pki import certificate_pem, generate_self_signed

from .conftest import LabHelper

pytestmark = pytest.mark.integration

OPERATION_TIMEOUT = 5


# --- helpers shared with test_lab_cmdlets*.py ----------------------------------------------------------------------


def winrm(lab: LabHelper, *, auth: str = "basic", password: str | None = None, **kwargs: Any) -> WSMan:
    account = lab.info["winrm"]
    kwargs.setdefault("cert_validation", lab.ca)
    return WSMan(
        "127.0.0.1",
        port=lab.lab.port,
        ssl=True,
        auth=auth,
        username=account["username"],
        password=account["password"] if password is None else password,
        no_proxy=True,
        operation_timeout=OPERATION_TIMEOUT,
        **kwargs,
    )


@contextmanager
def runspace(lab: LabHelper, **kwargs: Any) -> Iterator[RunspacePool]:
    with RunspacePool(winrm(lab, **kwargs)) as pool:
        yield pool


def props(obj: Any) -> dict[str, Any]:
    """An output object's properties: extended (note properties) and adapted (.NET / deserialized) merged."""
    assert isinstance(obj, GenericComplexObject), obj
    return {**obj.extended_properties, **obj.adapted_properties}


@dataclass
class Result:
    objects: list[Any]
    errors: list[ErrorRecord]
    warnings: list[str]
    had_errors: bool
    state: int
    ps: PowerShell

    @property
    def output(self) -> list[dict[str, Any]]:
        return [props(o) for o in self.objects]

    @property
    def error_ids(self) -> list[str]:
        return [str(e.fq_error) for e in self.errors]

    def message(self, index: int = 0) -> str:
        return exception_message(self.errors[index])


Statement = tuple[str, dict[str, Any]]


def invoke(pool: RunspacePool, *statements: Statement) -> Result:
    """Run cmdlets with bound parameters, one statement each (add_statement between them)."""
    ps = PowerShell(pool)
    for index, (name, params) in enumerate(statements):
        if index:
            ps.add_statement()
        ps.add_cmdlet(name)
        for key, value in params.items():
            ps.add_parameter(key, value)
    objects = ps.invoke()
    warnings = [str(w.message) for w in ps.streams.warning]
    return Result(objects, list(ps.streams.error), warnings, ps.had_errors, ps.state, ps)


def run(pool: RunspacePool, name: str, **params: Any) -> Result:
    return invoke(pool, (name, params))


def exception_message(record: ErrorRecord) -> str:
    exception = record.exception
    if isinstance(exception, GenericComplexObject):
        return str(
            exception.adapted_properties.get("Message") or exception.extended_properties.get("Message")
        )
    return str(exception)


def connect_app(pool: RunspacePool, lab: LabHelper, **overrides: Any) -> Result:
    """Connect-ExchangeOnline as the admin app with its certificate from the host's store."""
    admin = lab.app("admin")
    params = {
        "AppId": admin["app_id"],
        "CertificateThumbprint": admin["thumbprint"],
        "Organization": lab.info["tenant"]["domain"],
        "ShowBanner": False,
        **overrides,
    }
    return run(pool, "Connect-ExchangeOnline", **{k: v for k, v in params.items() if v is not None})


@contextmanager
def exchange(lab: LabHelper, **kwargs: Any) -> Iterator[RunspacePool]:
    """A runspace connected to Exchange Online as the admin app (what `roomsops policy` opens)."""
    with runspace(lab, **kwargs) as pool:
        connected = connect_app(pool, lab)
        assert not connected.errors and not connected.had_errors, connected.errors
        yield pool


def winrm_state(lab: LabHelper) -> dict[str, Any]:
    response = lab.admin("GET", "winrm")
    assert response.status_code == 200
    return dict(response.json())


# --- authentication -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["basic", "negotiate", "ntlm"])
def test_each_auth_mode_opens_a_runspace_and_runs_a_cmdlet(fresh_lab: LabHelper, auth: str) -> None:
    with runspace(fresh_lab, auth=auth) as pool:
        result = run(pool, "Get-ChildItem", Path="Cert:\\LocalMachine\\My")
        shell_id = pool.shell.id
        owners = {s["id"]: s["owner"] for s in winrm_state(fresh_lab)["open_shells"]}
    assert not result.errors and result.state == PSInvocationState.COMPLETED
    assert {o["Thumbprint"] for o in result.output} == {
        fresh_lab.app("admin")["thumbprint"],
        fresh_lab.app("rooms")["thumbprint"],
    }
    assert owners[shell_id] == fresh_lab.info["winrm"]["username"]
    counts = fresh_lab.requests()
    # NTLM authenticates the connection once (two 401 legs); Basic sends credentials with every request.
    assert counts.get("wsman:Auth", 0) == (0 if auth == "basic" else 2)
    assert counts["wsman:Create"] == counts["wsman:Delete"] == 1


@pytest.mark.parametrize("auth", ["negotiate", "ntlm"])
def test_message_encryption_is_accepted_when_the_client_asks_for_it(fresh_lab: LabHelper, auth: str) -> None:
    # pypsrp encrypts over HTTPS only with encryption="always" (ssl=True, "auto" → TLS alone protects it).
    with runspace(fresh_lab, auth=auth, encryption="always") as pool:
        result = run(pool, "Get-ChildItem", Path="Cert:\\LocalMachine\\My")
    assert len(result.output) == 2


@pytest.mark.parametrize("auth", ["basic", "negotiate", "ntlm"])
def test_a_wrong_password_is_http_401_and_an_authentication_error(fresh_lab: LabHelper, auth: str) -> None:
    with pytest.raises(AuthenticationError, match="Failed to authenticate the user"):
        with runspace(fresh_lab, auth=auth, password="not-the-password"):
            pass
    assert winrm_state(fresh_lab)["open_shells"] == []


def test_an_unauthenticated_request_is_offered_negotiate_and_basic(fresh_lab: LabHelper) -> None:
    response = fresh_lab.session.post(f"{fresh_lab.base_url}/wsman", data=b"<x/>", timeout=10)
    assert response.status_code == 401
    offered = response.raw.headers.getlist("WWW-Authenticate")
    assert offered == ["Negotiate", 'Basic realm="WSMAN"']
    assert fresh_lab.requests() == {"wsman:Auth": 1}


def test_cert_validation_path_wins_over_requests_ca_bundle(
    fresh_lab: LabHelper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pypsrp's session has trust_env=True, but it sends with Session.send(), which uses session.verify as set
    # from cert_validation=<path>; only cert_validation=True takes the bundle from REQUESTS_CA_BUNDLE.
    other = tmp_path / "other-ca.pem"
    other.write_text(certificate_pem(generate_self_signed("not the lab CA")[1]), encoding="ascii")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with runspace(fresh_lab, cert_validation=fresh_lab.ca) as pool:
        assert len(run(pool, "Get-ChildItem", Path="Cert:\\LocalMachine\\My").output) == 2
    with pytest.raises(requests.exceptions.SSLError):
        with runspace(fresh_lab, cert_validation=True):
            pass
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fresh_lab.ca)
    with runspace(fresh_lab, cert_validation=True) as pool:
        assert len(run(pool, "Get-ChildItem", Path="Cert:\\LocalMachine\\My").output) == 2


# --- WS-Man and PSRP --------------------------------------------------------------------------------------------


def test_requests_are_counted_per_wsman_action_and_cmdlet(fresh_lab: LabHelper) -> None:
    with exchange(fresh_lab) as pool:
        run(pool, "Get-Mailbox", Identity="DiegoS")
        run(pool, "Disconnect-ExchangeOnline", Confirm=False)
    counts = fresh_lab.requests()
    assert counts["wsman:Create"] == 1
    assert counts["wsman:Command"] == 3
    assert counts["wsman:Receive"] >= 4  # the pool's opening, then at least one per pipeline
    assert counts.get("wsman:Signal", 0) == 0  # invoke() without close(): no Terminate signal
    assert counts["wsman:Delete"] == 1
    assert counts["cmdlet:Connect-ExchangeOnline"] == 1
    assert counts["cmdlet:Get-Mailbox"] == 1
    assert counts["cmdlet:Disconnect-ExchangeOnline"] == 1


def test_an_empty_pipeline_receive_answers_the_operation_timeout_fault(fresh_lab: LabHelper) -> None:
    with runspace(fresh_lab) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Start-Sleep").add_parameter("Seconds", 30)
        ps.begin_invoke()
        command_id = str(ps.id).upper()
        first = pool.shell.receive("stdout", command_id=command_id, timeout=1)  # the "Running" state message
        assert first[0].endswith("/CommandState/Running") and first[2]["stdout"]
        started = time.monotonic()
        with pytest.raises(WSManFaultError) as caught:
            pool.shell.receive("stdout", command_id=command_id, timeout=1)
        assert caught.value.code == 2150858793
        assert time.monotonic() - started < 15  # the operation timeout (1 s), not the pipeline's 30 s
        ps.stop()


def test_ctrl_c_stops_the_pipeline_and_closing_the_pool_deletes_the_shell(fresh_lab: LabHelper) -> None:
    with runspace(fresh_lab) as pool:
        shell_id = pool.shell.id
        ps = PowerShell(pool)
        ps.add_cmdlet("Start-Sleep").add_parameter("Seconds", 30)
        ps.begin_invoke()
        started = time.monotonic()
        ps.stop()  # the Ctrl-C signal (powershell/signal/ctrl_c)
        assert time.monotonic() - started < 15  # stopped, not waited out (the sleep is 30 s)
        assert ps.state == PSInvocationState.STOPPED
        shells = {s["id"]: s for s in winrm_state(fresh_lab)["open_shells"]}
        assert shells[shell_id]["running_pipelines"] == 0
        # The runspace survives a stopped pipeline: roomsops still disconnects through it.
        assert not run(pool, "Disconnect-ExchangeOnline", Confirm=False).errors
    state = winrm_state(fresh_lab)
    assert shell_id not in {s["id"] for s in state["open_shells"]}
    assert shell_id in {d["id"] for d in state["deleted"]}
    assert fresh_lab.requests()["wsman:Signal"] == 1


def test_closing_the_pool_while_a_pipeline_runs_deletes_the_shell(fresh_lab: LabHelper) -> None:
    before = winrm_state(fresh_lab)["deleted_shells"]
    pool = RunspacePool(winrm(fresh_lab))
    pool.open()
    shell_id = pool.shell.id
    ps = PowerShell(pool)
    ps.add_cmdlet("Start-Sleep").add_parameter("Seconds", 30)
    ps.begin_invoke()
    pool.close()
    state = winrm_state(fresh_lab)
    assert state["deleted_shells"] == before + 1
    assert shell_id in {d["id"] for d in state["deleted"]}
    assert shell_id not in {s["id"] for s in state["open_shells"]}


def test_an_unknown_session_configuration_is_a_wsman_fault(fresh_lab: LabHelper) -> None:
    with pytest.raises(WSManFaultError) as caught:
        with RunspacePool(winrm(fresh_lab), configuration_name="Microsoft.Exchange"):
            pass
    assert "Microsoft.Exchange" in str(caught.value.reason)


def test_script_text_is_refused(fresh_lab: LabHelper) -> None:
    with runspace(fresh_lab) as pool:
        ps = PowerShell(pool)
        ps.add_script("Get-Mailbox | Remove-Mailbox -Confirm:$false")
        ps.invoke()
    assert ps.had_errors and ps.state == PSInvocationState.FAILED
    assert [e.fq_error for e in ps.streams.error] == ["ScriptsNotAllowed"]
    assert fresh_lab.requests()["script:refused"] == 1


def test_an_unknown_command_is_command_not_found(fresh_lab: LabHelper) -> None:
    with runspace(fresh_lab) as pool:
        result = run(pool, "Get-Nothing", Identity="x")
    assert result.had_errors and result.state == PSInvocationState.FAILED
    assert result.error_ids == ["CommandNotFoundException"]
    assert result.errors[0].reason == "CommandNotFoundException"
    assert "The term 'Get-Nothing' is not recognized as the name of a cmdlet" in result.message()


def test_statements_run_in_order_and_a_failing_statement_does_not_stop_the_next(fresh_lab: LabHelper) -> None:
    with exchange(fresh_lab) as pool:
        result = invoke(
            pool,
            ("Get-Mailbox", {"Identity": "DiegoS"}),
            ("Get-Mailbox", {"Identity": "nobody@roomslab.onmicrosoft.com"}),  # non-terminating
            ("Get-Nothing", {}),  # terminating for its statement
            ("Get-Mailbox", {"Bogus": 1}),  # ParameterBindingException, terminating for its statement
            ("Get-Mailbox", {"Identity": "AdeleV"}),
        )
        # PowerShell's batch: the invocation ends as its last statement does.
        failing_last = invoke(pool, ("Get-Mailbox", {"Identity": "DiegoS"}), ("Get-Nothing", {}))
        stopped = invoke(
            pool,
            ("Get-Mailbox", {"Identity": "nobody@roomslab.onmicrosoft.com", "ErrorAction": "Stop"}),
            ("Get-Mailbox", {"Identity": "AdeleV"}),
        )
    assert [o["Name"] for o in result.output] == ["DiegoS", "AdeleV"]
    assert [e.reason for e in result.errors] == [
        "ManagementObjectNotFoundException",
        "CommandNotFoundException",
        "ParameterBindingException",
    ]
    assert result.state == PSInvocationState.COMPLETED and not result.had_errors
    assert [o["Name"] for o in failing_last.output] == ["DiegoS"]
    assert failing_last.state == PSInvocationState.FAILED and failing_last.had_errors
    assert stopped.output == [] and stopped.state == PSInvocationState.FAILED
    assert stopped.errors[0].reason == "ManagementObjectNotFoundException"


# --- faults -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "kind", "raised"),
    [
        ("Create", "http_503", WinRMTransportError),
        ("Command", "http_500", WinRMTransportError),
        ("Receive", "http_401", AuthenticationError),
        ("Command", "drop_before", requests.exceptions.ConnectionError),
    ],
)
def test_faults_on_wsman_reach_pypsrp(
    fresh_lab: LabHelper, operation: str, kind: str, raised: type[Exception]
) -> None:
    fresh_lab.fault(protocol="wsman", operation=operation, kind=kind)
    with pytest.raises(raised) as caught:
        with runspace(fresh_lab) as pool:
            run(pool, "Get-ChildItem", Path="Cert:\\LocalMachine\\My")
    if isinstance(caught.value, WinRMTransportError):
        assert caught.value.code == int(kind.removeprefix("http_"))
    assert fresh_lab.admin("GET", "faults").json() == []


def test_a_fault_dropped_after_delete_still_deletes_the_shell(fresh_lab: LabHelper) -> None:
    fresh_lab.fault(protocol="wsman", operation="Delete", kind="drop_after")
    pool = RunspacePool(winrm(fresh_lab))
    pool.open()
    shell_id = pool.shell.id
    with pytest.raises(requests.exceptions.ConnectionError):
        pool.close()
    assert shell_id in {d["id"] for d in winrm_state(fresh_lab)["deleted"]}
