"""The shipped certificate-key script (issue 17 D13): Deny entries count, and the lab emulates this version.

No Windows PowerShell runs here: the script's text is checked to parse and to carry the Deny rule, and the
lab's emulation (tests/integration/test_exo.py::test_on_host_names_cause_and_remedy) answers as it would.
"""

from __future__ import annotations

import tree_sitter
import tree_sitter_powershell

from roomsops.adapters.exo.hostcert import key_access_script
from roomsops.lab import certstore
from roomsops.lab.cmdlets.host import KEY_ACCESS_SCRIPT_HEADER

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def test_the_script_parses_and_the_lab_emulates_this_version() -> None:
    script = key_access_script()
    assert not PARSER.parse(script.encode("utf-8")).root_node.has_error
    assert script.splitlines()[0] == KEY_ACCESS_SCRIPT_HEADER == "# roomsops:Test-CertificateKeyAccess v2"
    assert script.isascii()


def test_the_script_stops_at_a_deny_of_any_read_right() -> None:
    script = key_access_script()
    assert "if ($rule.AccessControlType -eq 'Deny') {" in script
    assert "if (($rights -band -bnot $granted) -ne 0) { break }" in script
    # v1 granted on any matching Allow entry, whatever came before it.
    assert "$rule.AccessControlType -eq 'Allow' -and" not in script


def test_the_labs_key_acl_lets_a_deny_win() -> None:
    cert = {"has_private_key": True, "key_readers": ["LAB\\svc-rooms"], "key_denied": []}
    assert certstore.key_readable(cert, "LAB\\svc-rooms") is True
    assert certstore.key_readable(cert | {"key_denied": ["lab\\SVC-ROOMS"]}, "LAB\\svc-rooms") is False
    assert certstore.key_readable(cert | {"key_denied": ["Everyone"]}, "LAB\\svc-rooms") is False
    assert certstore.key_readable(cert | {"key_denied": ["LAB\\other"]}, "LAB\\svc-rooms") is True
    assert certstore.key_readable(cert | {"key_denied": ["LAB\\g"]}, "LAB\\svc-rooms", ["LAB\\g"]) is False
