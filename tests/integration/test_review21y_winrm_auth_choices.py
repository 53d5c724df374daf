"""review21y: `powershell.auth` accepts six values (docs/settings.md: negotiate, kerberos, ntlm, credssp, basic,
certificate; README's `insecure_transport` remedy even says "or use negotiate/kerberos"). Three of them end every
admin command in a crash line, exit 1: `kerberos` → "Error: unexpected ImportError: GSSAPIProxy requires the Python
gssapi library … run again with --debug for the traceback, and report it"; `credssp` → "unexpected ImportError:
Cannot use CredSSP auth as requests-credssp is not installed"; `certificate` → "unexpected ValueError: For
certificate auth, the path to the certificate key pem file must be specified with certificate_key_pem" (no setting
names that file at all). These are configuration errors: an administrator expects exit 2 with one line
`Error: <problem> — <remedy>` (install the extra, or choose another powershell.auth), not a request to report a bug
(issue 21, Deliver 7: configuration errors → 2; README "Error codes": 1 is for something that failed)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("auth", ["kerberos", "credssp", "certificate"])
def test_a_winrm_auth_that_cannot_be_used_here_is_a_configuration_error(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], auth: str
) -> None:
    assert invoke("policy", "list", env=env).code == 0  # the lab's own settings (basic) work
    run = invoke("policy", "list", env=env | {"ROOMSOPS_POWERSHELL_AUTH": auth})
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert "unexpected" not in line and "report it" not in line, line
