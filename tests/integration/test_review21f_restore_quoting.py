"""review21f: the restore lines of `policy remove` (issue 21.10 undo) read back by the shells they are run in."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.powershell_tokens import Token, tokenize

pytestmark = pytest.mark.integration

GROUP = "Sync $Rooms"


def _powershell_argument(line: str, option: str) -> str | None:
    """What PowerShell passes for the argument after `option`: None when it would expand a variable in it."""
    tokens = [t for t in tokenize(line) if t.kind != "newline"]
    index = next(i for i, t in enumerate(tokens) if t.text == option)
    token: Token = tokens[index + 1]
    if token.kind == "verbatim":
        return token.value
    if token.kind == "expandable":
        return None if "$" in token.value else token.value
    return token.text if "$" not in token.text else None


def _bash_argument(line: str, option: str) -> str:
    """What bash passes for the argument after `option`."""
    bash = shutil.which("bash")
    assert bash is not None
    words = subprocess.run(
        [bash, "-c", f"printf '%s\\0' {line}"], capture_output=True, check=True, text=True
    ).stdout.split("\0")
    return words[words.index(option) + 1]


def test_restore_lines_give_the_group_name_back_as_powershell_and_bash_read_them(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: `policy restrict --group 'Sync $Rooms' --member DiegoS --yes` (Exchange takes a `$` in a group's
    name; roomsops' validate_group too); `--json policy remove --group 'Sync $Rooms' --yes` (restore: the `roomsops
    policy restrict ...` line), then `--json policy remove --group 'Sync $Rooms' --with-group --yes` (restore: the
    `New-DistributionGroup -Name ...` line, a PowerShell command). The administrator pastes each line into the ROOMS
    server's PowerShell (README: "Running it on the ROOMS server", "In an administrator's PowerShell") or a Linux
    host's bash.
    Expected (README undo table: "the way back with the same app, access right and members"; roomsops' own
    `psquote` exists so that "nothing expands"): each line passes the group name `Sync $Rooms` as it is.
    Actual: both lines quote it as "Sync $Rooms" (double quotes, backslash escapes): PowerShell and bash expand
    `$Rooms` to nothing, so the way back makes (and scopes the policy to) a group "Sync " — not the group removed;
    a `"` in a name is escaped as \\", which PowerShell does not read as an escape at all."""
    ok(invoke("policy", "restrict", "--group", GROUP, "--member", addr("DiegoS"), "--yes", env=env))
    plain = json.loads(ok(invoke("--json", "policy", "remove", "--group", GROUP, "--yes", env=env)).out)
    dropped = json.loads(
        ok(invoke("--json", "policy", "remove", "--group", GROUP, "--with-group", "--yes", env=env)).out
    )
    restrict_line, group_line = plain["restore"], dropped["restore"]
    assert restrict_line.startswith("roomsops policy restrict ") and group_line.startswith(
        "New-DistributionGroup "
    ), (restrict_line, group_line)
    read = {
        "PowerShell, roomsops line": _powershell_argument(restrict_line, "--group"),
        "PowerShell, New-DistributionGroup line": _powershell_argument(group_line, "-Name"),
        "bash, roomsops line": _bash_argument(restrict_line, "--group"),
    }
    wrong = {where: value for where, value in read.items() if value != GROUP}
    assert not wrong, (wrong, restrict_line, group_line)
