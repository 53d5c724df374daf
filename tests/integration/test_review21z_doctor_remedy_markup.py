"""review21z: fix21z's configuration error for powershell.auth = kerberos / credssp tells the administrator to
"pip install 'pypsrp[kerberos]'" ('pypsrp[credssp]'). `ews status`, `policy …` and `doctor --json` print that. The
text of `doctor` — the command an administrator runs first when something does not work — prints the remedy through
a rich table, which takes "[kerberos]" for a style tag and drops it: the remedy reads "pip install 'pypsrp', with
the system's Kerberos libraries …". pypsrp is installed already (roomsops depends on it); that command changes
nothing and the library stays missing. An administrator expects the remedy doctor prints to be the one that works,
as printed everywhere else (issue 21, Deliver 6: every remedy sentence points at a command that works for that
situation)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("auth", ["kerberos", "credssp"])
def test_doctor_prints_the_pip_extra_of_the_remedy(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], auth: str
) -> None:
    settings = env | {"ROOMSOPS_POWERSHELL_AUTH": auth}
    status = invoke("ews", "status", env=settings)
    assert status.code == 2 and f"pypsrp[{auth}]" in status.err, status.err  # the remedy as it is meant
    run = invoke("doctor", env=settings)
    text = " ".join((run.out + run.err).replace("│", " ").split())
    assert "pip install 'pypsrp" in text, text  # the check is reported...
    assert f"pypsrp[{auth}]" in text, text  # ...with the extra that installs the library
