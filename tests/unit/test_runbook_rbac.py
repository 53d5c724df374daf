"""The RBAC for Applications runbook (--engine rbac --print-script): the AAP runbook's parser and quoting checks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from roomsops.core.errors import InputError
from roomsops.core.templates import psquote
from roomsops.services.policy.rbac import RbacRequest, runbook
from tests.unit.test_runbook import HOSTILE, PARSER, assert_one_literal_for_powershell, literals

APP = "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f"
SP = "7c7599b2-23af-45e3-99ff-0025d148e929"


BASE = RbacRequest(
    app_id=APP,
    group="SyncIsAllowed",
    members=("DiegoS@contoso.com",),
    probes=("AdeleV@contoso.com",),
    sp_object_id=SP,
    exact=True,
)


def render(admin_upn: str | None = None, **values: Any) -> str:
    return runbook(replace(BASE, **values), admin_upn)


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("where", ["group", "scope", "member", "probe", "admin_upn"])
def test_hostile_values_stay_literals(value: str, where: str) -> None:
    if where == "scope" and "\n" in value:
        with pytest.raises(InputError):  # a scope name is 1 to 64 printable characters, like a group's
            render(scope=value)
        return
    if where == "member":
        text = render(members=("DiegoS@contoso.com", value))
    elif where == "probe":
        text = render(probes=(value,))
    elif where == "admin_upn":
        text = render(admin_upn=value)
    else:
        text = render(**{where: value})
    tree = PARSER.parse(text.encode("utf-8"))
    assert not tree.root_node.has_error, text
    quoted = psquote(value)
    found = literals(tree)
    # The scope's name defaults to the group's (the role assignment's name is another literal).
    expected = 2 if where == "group" else 1
    if (
        value.isascii() and value.isprintable()
    ):  # one literal; else an ASCII concatenation (the oracle reads it)
        assert found.count(quoted) == expected, (quoted, found)
    assert text.count(quoted) == expected
    stripped = text
    for literal in found:
        stripped = stripped.replace(literal, "")
    assert value not in stripped, "the value also stands outside a literal"
    assert_one_literal_for_powershell(text, value, times=expected)


def test_every_value_is_one_literal_and_the_filter_is_built_at_run_time() -> None:
    text = render()
    tree = PARSER.parse(text.encode("utf-8"))
    assert not tree.root_node.has_error, text
    found = literals(tree)
    for value in (APP, SP, "Application EWS.AccessAsApp", "DiegoS@contoso.com", "AdeleV@contoso.com"):
        assert found.count(psquote(value)) == 1, value
    # The group's DN is only known on the host: the OPATH filter doubles its quotes there, typographic ones too.
    escape = r"""-replace '[''\u2018\u2019\u201A\u201B]', '$0$0'"""
    assert f"""$Filter = 'MemberOfGroup -eq ''' + ($group.DistinguishedName {escape}) + ''''""" in text
    assert "New-ServicePrincipal -AppId $AppId -ObjectId $SpObjectId" in text
    assert "New-ManagementRoleAssignment -Name $AssignmentName -App $sp.ObjectId -Role $Role" in text


def test_no_secret_interactive_sign_in_and_the_object_id_asked_when_unknown() -> None:
    text = render(sp_object_id=None)
    assert "$SpObjectId = ''" in text and "Read-Host -Prompt 'Object ID of the enterprise application" in text
    assert "$AdminUpn = Read-Host" in text and "Connect-ExchangeOnline -UserPrincipalName $AdminUpn" in text
    assert "AccessToken" not in text and "ClientSecret" not in text
    assert "Revoke admin consent" in text  # the Entra steps, as a literal for Write-Warning
    assert not PARSER.parse(text.encode()).root_node.has_error


def test_the_graph_role_runbook_names_graphs_grant() -> None:
    text = render(role="Application Calendars.ReadWrite")
    assert not PARSER.parse(text.encode("utf-8")).root_node.has_error, text
    assert literals(PARSER.parse(text.encode("utf-8"))).count(psquote("Application Calendars.ReadWrite")) == 1
    assert "tenant-wide Calendars.ReadWrite" in text and "reach Microsoft Graph" in text
    assert "full_access_as_app" not in text and "Microsoft Graph, Application" in text


def test_exact_compares_primary_addresses_and_stops_before_the_scope_when_an_addition_failed() -> None:
    """As the AAP runbook (fix21o): --exact keeps a member given by an alias (the group lists primary addresses),
    and a member that could not be added stops the runbook before any removal, scope or role assignment."""
    script = render(members=("diego.siciliani@contoso.com",))
    assert "$Members -notcontains" not in script
    assert "if ($Wanted -notcontains $current.PrimarySmtpAddress)" in script
    stop = script.index("if ($NotAdded.Count -gt 0)")
    assert stop < script.index("Remove-DistributionGroupMember") < script.index("New-ManagementScope")
    assert not PARSER.parse(script.encode("utf-8")).root_node.has_error
