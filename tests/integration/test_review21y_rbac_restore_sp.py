"""review21y: `policy remove --engine rbac --with-service-principal` removes the app's service principal pointer,
whose object id roomsops has just read (`policy list --engine rbac --json` shows it as "service_principal"). Its way
back — `restore` in --json (README's JSON section) and in the audit log — is `roomsops policy restrict --engine rbac
… --member …` without `--sp-object-id`; run as given it is refused (exit 2: "app … has no service principal in
Exchange Online yet … pass --sp-object-id"), and the text output only appends the placeholder "--sp-object-id ID
(the Object ID under Enterprise applications → the app → Overview)". An administrator (or a script reading
--json) expects the printed way back to be exact and to work as printed, with the object id that was removed
(issue 21, Deliver 10: undo; the review brief: "whether the printed undo/finish is exact and works")."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_the_restore_of_an_rbac_removal_with_the_service_principal_works_as_printed(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    sp = str(fresh_lab.app("rooms")["object_id"])
    restrict = (
        "policy",
        "restrict",
        "--engine",
        "rbac",
        "--member",
        addr("DiegoS"),
        "--sp-object-id",
        sp,
        "--yes",
    )
    ok(invoke(*restrict, env=env))
    removed = ok(
        invoke(
            "--json", "policy", "remove", "--engine", "rbac", "--group", "SyncIsAllowed",
            "--with-group", "--with-service-principal", "--yes", env=env,
        )
    )  # fmt: skip
    document = json.loads(removed.out)
    assert document["removed_service_principal"], document
    words = shlex.split(document["restore"])
    assert words[0] == "roomsops", words
    again = invoke(*words[1:], "--yes", env=env)
    assert again.code == 0, again.out + again.err
    test = ok(invoke("--json", "policy", "test", "--engine", "rbac", addr("DiegoS"), env=env))
    assert "Granted" in test.out, test.out
