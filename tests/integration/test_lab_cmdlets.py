"""The management host's commands through the real pypsrp: connecting to Exchange Online, the certificate store
and roomsops' key-access script, recipients, groups, the organization's EWS switches, and parameter binding."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import msal
import pytest
from pypsrp.powershell import PowerShell, PSInvocationState

from roomsops.lab.authz import authorize
from roomsops.lab.bearer import issuer_v1
from roomsops.lab.pki import generate_self_signed, sha1_thumbprint

from .conftest import LabHelper
from .test_lab_winrm import connect_app, exchange, invoke, run, runspace

pytestmark = pytest.mark.integration

ROOMS_SERVICE_ACCOUNT = "LAB\\svc-rooms"
KEY_SCRIPT_HEADER = "# roomsops:Test-CertificateKeyAccess v2"


def domain(lab: LabHelper) -> str:
    return str(lab.info["tenant"]["domain"])


def is_datetime(value: Any) -> bool:
    """A <DT> value: pypsrp 0.9.1 hands DateTime properties over as their ISO text."""
    return (
        isinstance(value, str) and dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    )


def certstore(lab: LabHelper, **change: Any) -> dict[str, Any]:
    response = lab.admin("POST", "certstore", json=change)
    assert response.status_code == 200, response.text
    return dict(response.json())


def app_token(lab: LabHelper, name: str) -> str:
    app = lab.app(name)
    client = msal.ConfidentialClientApplication(
        app["app_id"],
        client_credential=app["secret"],
        authority=lab.authority,
        instance_discovery=False,
        http_client=lab.http(),
    )
    result = client.acquire_token_for_client(scopes=[lab.scope])
    assert "access_token" in result, result
    return str(result["access_token"])


def forged_token(lab: LabHelper, **overrides: Any) -> str:
    """A token signed with the lab's key, for cases Entra would not issue (expired, another audience)."""
    now = int(time.time())
    claims = {
        "aud": lab.base_url,
        "iss": issuer_v1(lab.tenant_id),
        "tid": lab.tenant_id,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "appid": lab.app("admin")["app_id"],
        "idtyp": "app",
        "roles": ["Exchange.ManageAsApp"],
        "ver": "1.0",
        **overrides,
    }
    return str(lab.lab.context.pki.signing.sign(claims))


# --- Connect-ExchangeOnline ----------------------------------------------------------------------------------------


def test_exchange_cmdlets_exist_only_between_connect_and_disconnect(fresh_lab: LabHelper) -> None:
    with runspace(fresh_lab) as pool:
        before = run(pool, "Get-Mailbox", Identity="DiegoS")
        assert not run(pool, "Import-Module", Name="ExchangeOnlineManagement").errors
        connected = connect_app(pool, fresh_lab)
        during = run(pool, "Get-Mailbox", Identity="DiegoS")
        unconfirmed = run(pool, "Disconnect-ExchangeOnline")
        disconnected = run(pool, "Disconnect-ExchangeOnline", Confirm=False)
        after = run(pool, "Get-Mailbox", Identity="DiegoS")
    assert before.error_ids == ["CommandNotFoundException"] and before.state == PSInvocationState.FAILED
    assert not connected.errors and connected.objects == []
    assert [o["PrimarySmtpAddress"] for o in during.output] == [f"DiegoS@{domain(fresh_lab)}"]
    # Disconnect asks for confirmation unless -Confirm:$false, and a remote runspace cannot ask.
    assert unconfirmed.error_ids == ["HostFunctionNotImplemented,Disconnect-ExchangeOnline"]
    assert not disconnected.errors
    assert after.error_ids == ["CommandNotFoundException"]
    assert fresh_lab.requests()["cmdlet:Connect-ExchangeOnline"] == 1


def test_connect_shows_the_banner_unless_told_not_to(fresh_lab: LabHelper) -> None:
    with runspace(fresh_lab) as pool:
        shown = connect_app(pool, fresh_lab, ShowBanner=None)
        hidden = connect_app(pool, fresh_lab)
    assert "REST API backed Exchange Online cmdlets" in str(shown.ps.streams.information[0].message_data)
    assert hidden.ps.streams.information == []


def test_import_module_of_an_unknown_module_is_module_not_found(fresh_lab: LabHelper) -> None:
    with runspace(fresh_lab) as pool:
        result = run(pool, "Import-Module", Name="ExchangeOnlineManagementX")
    assert result.error_ids == ["Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand"]
    assert not result.had_errors  # non-terminating


def _unregistered_certificate(lab: LabHelper) -> dict[str, Any]:
    _key, cert = generate_self_signed("unregistered")
    thumbprint = sha1_thumbprint(cert)
    certstore(lab, thumbprint=thumbprint, subject="CN=unregistered")
    return {"CertificateThumbprint": thumbprint}


@pytest.mark.parametrize(
    ("arrange", "overrides", "expected"),
    [
        ("none", {"CertificateThumbprint": "00" * 20}, "No certificate with thumbprint " + "00" * 20),
        ("no_key", {}, "Keyset does not exist"),
        ("key_unreadable", {}, "Keyset does not exist"),
        ("unregistered", {}, "AADSTS700027: The certificate with identifier used to sign the client assertion"),
        ("expired", {}, "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key used is expired."),
        ("none", {"AppId": str(uuid.UUID(int=7))}, "AADSTS700016: Application with identifier"),
        ("none", {"Organization": "contoso.onmicrosoft.com"}, "AADSTS90002: Tenant 'contoso.onmicrosoft.com' not found"),
        ("revoke_manage_as_app", {}, "UnAuthorized"),
    ],
)  # fmt: skip
def test_connect_with_a_certificate_fails_like_entra_and_exchange(
    fresh_lab: LabHelper, arrange: str, overrides: dict[str, Any], expected: str
) -> None:
    admin = fresh_lab.app("admin")
    if arrange == "no_key":
        certstore(fresh_lab, thumbprint=admin["thumbprint"], has_private_key=False)
    elif arrange == "key_unreadable":
        certstore(fresh_lab, thumbprint=admin["thumbprint"], key_readers=["NT AUTHORITY\\SYSTEM"])
    elif arrange == "expired":
        certstore(fresh_lab, thumbprint=admin["thumbprint"], not_after="2020-01-01T00:00:00Z")
    elif arrange == "unregistered":
        overrides = _unregistered_certificate(fresh_lab)
    elif arrange == "revoke_manage_as_app":
        fresh_lab.admin(
            "POST",
            "consent",
            json={"app_id": admin["app_id"], "permission": "Exchange.ManageAsApp", "grant": False},
        )
    with runspace(fresh_lab) as pool:
        result = connect_app(pool, fresh_lab, **overrides)
        still_unknown = run(pool, "Get-Mailbox", Identity="DiegoS")
    assert result.had_errors and result.state == PSInvocationState.FAILED  # thrown: terminating
    assert result.message().startswith(expected), result.message()
    assert result.errors[0].fq_error == result.message()  # `throw` in the module: the message is the id
    assert still_unknown.error_ids == ["CommandNotFoundException"]


def test_an_app_without_an_exchange_admin_role_is_refused(fresh_lab: LabHelper) -> None:
    rooms = fresh_lab.app("rooms")
    fresh_lab.admin(
        "POST",
        "consent",
        json={"app_id": rooms["app_id"], "permission": "Exchange.ManageAsApp", "grant": True},
    )
    with runspace(fresh_lab) as pool:
        result = connect_app(
            pool, fresh_lab, AppId=rooms["app_id"], CertificateThumbprint=rooms["thumbprint"]
        )
    assert result.message() == (
        f"The role assigned to application {rooms['app_id']} isn't supported in this scenario. Please check online "
        "documentation for assigning correct Directory Roles to Azure AD Application for EXO App-Only Authentication."
    )


def test_connect_refuses_other_clouds_and_unknown_environment_names(fresh_lab: LabHelper) -> None:
    with runspace(fresh_lab) as pool:
        china = connect_app(pool, fresh_lab, ExchangeEnvironmentName="O365China")
        default = connect_app(pool, fresh_lab, ExchangeEnvironmentName="o365default")
        bogus = connect_app(pool, fresh_lab, ExchangeEnvironmentName="Mars")
    assert china.error_ids == ["LabEnvironmentNotEmulated,Connect-ExchangeOnline"]
    assert not default.errors
    assert bogus.error_ids == ["CannotConvertArgumentNoMessage,Connect-ExchangeOnline"]


def test_connect_with_an_app_token(fresh_lab: LabHelper) -> None:
    token = app_token(fresh_lab, "admin")
    with runspace(fresh_lab) as pool:
        connected = run(
            pool,
            "Connect-ExchangeOnline",
            AccessToken=token,
            Organization=domain(fresh_lab),
            ShowBanner=False,
        )
        mailboxes = run(pool, "Get-Mailbox", ResultSize="Unlimited")
        shells = {s["id"]: s for s in fresh_lab.admin("GET", "winrm").json()["open_shells"]}
        shell = shells[pool.shell.id]
    assert not connected.errors
    assert len(mailboxes.output) == len(fresh_lab.info["mailboxes"])
    assert shell["connected_as"] == "roomsops-admin"


@pytest.mark.parametrize(
    ("token", "organization", "expected"),
    [
        ("rooms", None, "UnAuthorized"),  # the sync app: no Exchange.ManageAsApp
        ("expired", None, "UnAuthorized"),
        ("other_audience", None, "UnAuthorized"),
        ("admin", "contoso.onmicrosoft.com", "AADSTS90002: Tenant 'contoso.onmicrosoft.com' not found"),
    ],
)
def test_connect_with_a_bad_app_token_fails(
    fresh_lab: LabHelper, token: str, organization: str | None, expected: str
) -> None:
    value = {
        "rooms": lambda: app_token(fresh_lab, "rooms"),
        "admin": lambda: app_token(fresh_lab, "admin"),
        "expired": lambda: forged_token(fresh_lab, iat=1, nbf=1, exp=1000),
        "other_audience": lambda: forged_token(fresh_lab, aud="https://graph.microsoft.com"),
    }[token]()
    with runspace(fresh_lab) as pool:
        result = run(
            pool,
            "Connect-ExchangeOnline",
            AccessToken=value,
            Organization=organization or domain(fresh_lab),
            ShowBanner=False,
        )
    assert result.had_errors and result.message().startswith(expected)


def test_connect_with_the_administrators_delegated_token(fresh_lab: LabHelper) -> None:
    admin = fresh_lab.app("admin")
    app = msal.PublicClientApplication(
        admin["app_id"], authority=fresh_lab.authority, instance_discovery=False, http_client=fresh_lab.http()
    )
    flow = app.initiate_device_flow(scopes=[fresh_lab.scope])
    token = app.acquire_token_by_device_flow(flow)["access_token"]
    upn = fresh_lab.info["admin_user"]["upn"]
    with runspace(fresh_lab) as pool:
        wrong_user = run(
            pool, "Connect-ExchangeOnline", AccessToken=token, UserPrincipalName=f"x{upn}", ShowBanner=False
        )
        connected = run(
            pool, "Connect-ExchangeOnline", AccessToken=token, UserPrincipalName=upn.upper(), ShowBanner=False
        )
        created = run(pool, "New-DistributionGroup", Name="AdminsOwn", Type="Security")
        # The creator owns the group: no -BypassSecurityGroupManagerCheck needed.
        added = run(pool, "Add-DistributionGroupMember", Identity="AdminsOwn", Member="DiegoS")
    assert wrong_user.had_errors and "does not match the user of the access token" in wrong_user.message()
    assert not connected.errors
    assert created.output[0]["ManagedBy"] == [upn]
    assert not added.errors


# --- the host's certificate store ------------------------------------------------------------------------------------


def test_get_child_item_lists_the_machine_store(fresh_lab: LabHelper) -> None:
    rooms = fresh_lab.app("rooms")
    with runspace(fresh_lab) as pool:
        everything = run(pool, "Get-ChildItem", Path="Cert:\\LocalMachine\\My")
        one = run(pool, "Get-ChildItem", Path=f"cert:\\localmachine\\my\\{rooms['thumbprint'].lower()}")
        missing = run(pool, "Get-ChildItem", Path="Cert:\\LocalMachine\\My\\" + "AB" * 20)
        elsewhere = run(pool, "Get-ChildItem", Path="C:\\Windows")
    assert len(everything.output) == 2
    cert = one.output[0]
    assert cert["Thumbprint"] == rooms["thumbprint"]
    assert cert["Subject"] == "CN=rooms" or cert["Subject"].startswith("CN=")
    assert cert["HasPrivateKey"] is True and is_datetime(cert["NotAfter"])
    assert (
        cert["PSPath"]
        == f"Microsoft.PowerShell.Security\\Certificate::LocalMachine\\My\\{rooms['thumbprint']}"
    )
    assert one.objects[0].types[0] == "System.Security.Cryptography.X509Certificates.X509Certificate2"
    assert missing.error_ids == ["PathNotFound,Microsoft.PowerShell.Commands.GetChildItemCommand"]
    assert (
        missing.message()
        == f"Cannot find path 'Cert:\\LocalMachine\\My\\{'AB' * 20}' because it does not exist."
    )
    assert not missing.had_errors
    assert elsewhere.error_ids == ["LabPathNotEmulated,Get-ChildItem"]


def _key_access(pool: Any, thumbprint: str | None, account: str | None) -> Any:
    ps = PowerShell(pool)
    ps.add_script(f"{KEY_SCRIPT_HEADER}\nparam([string]$Thumbprint, [string]$Account)\n# ...")
    if thumbprint is not None:
        ps.add_parameter("Thumbprint", thumbprint)
    if account is not None:
        ps.add_parameter("Account", account)
    output = ps.invoke()
    return ps, output


def test_the_key_access_script_reads_the_private_key_acl(fresh_lab: LabHelper) -> None:
    rooms, admin = fresh_lab.app("rooms"), fresh_lab.app("admin")
    assert fresh_lab.info["management_host"]["rooms_service_account"] == ROOMS_SERVICE_ACCOUNT
    with runspace(fresh_lab) as pool:
        _, readable = _key_access(pool, rooms["thumbprint"].lower(), ROOMS_SERVICE_ACCOUNT)
        _, other = _key_access(pool, admin["thumbprint"], ROOMS_SERVICE_ACCOUNT)
        certstore(fresh_lab, thumbprint=rooms["thumbprint"], has_private_key=False)
        _, keyless = _key_access(pool, rooms["thumbprint"], ROOMS_SERVICE_ACCOUNT)
        _, absent = _key_access(pool, "12" * 20, ROOMS_SERVICE_ACCOUNT)
        missing_ps, _ = _key_access(pool, rooms["thumbprint"], None)
    found = readable[0].extended_properties
    assert found["Found"] is True and found["KeyReadable"] is True and found["HasPrivateKey"] is True
    assert found["Thumbprint"] == rooms["thumbprint"] and found["Account"] == ROOMS_SERVICE_ACCOUNT
    assert is_datetime(found["NotAfter"]) and found["Subject"].startswith("CN=")
    assert other[0].extended_properties["KeyReadable"] is False
    assert keyless[0].extended_properties["HasPrivateKey"] is False
    assert keyless[0].extended_properties["KeyReadable"] is None
    assert (
        absent[0].extended_properties["Found"] is False and absent[0].extended_properties["NotAfter"] is None
    )
    assert [e.fq_error for e in missing_ps.streams.error] == [
        "MissingMandatoryParameter,Test-CertificateKeyAccess"
    ]
    assert fresh_lab.requests()["script:Test-CertificateKeyAccess"] == 5


def test_the_certstore_admin_api_validates_and_removes(fresh_lab: LabHelper) -> None:
    bad = fresh_lab.admin("POST", "certstore", json={"thumbprint": "xyz"})
    assert bad.status_code == 400
    nosubject = fresh_lab.admin("POST", "certstore", json={"thumbprint": "12" * 20})
    assert nosubject.status_code == 400
    rooms = fresh_lab.app("rooms")["thumbprint"]
    left = certstore(fresh_lab, thumbprint=rooms, remove=True)
    assert [c["thumbprint"] for c in left["certificates"]] == [fresh_lab.app("admin")["thumbprint"]]
    assert fresh_lab.admin("POST", "certstore", json={"thumbprint": rooms, "remove": True}).status_code == 404
    fresh_lab.reset()
    assert (
        len(fresh_lab.admin("GET", "certstore").json()["certificates"]) == 2
    )  # reset restores the seed store


# --- recipients -------------------------------------------------------------------------------------------------------


def test_get_mailbox_returns_deserialized_exchange_mailboxes(fresh_lab: LabHelper) -> None:
    with exchange(fresh_lab) as pool:
        by_alias_address = run(pool, "Get-Mailbox", Identity=f"diego.siciliani@{domain(fresh_lab)}")
        rooms = run(pool, "Get-Mailbox", RecipientTypeDetails=["RoomMailbox"])
        missing = run(pool, "Get-Mailbox", Identity="nobody")
        two = run(pool, "Get-Mailbox", ResultSize=2)
    mailbox = by_alias_address.output[0]
    assert (
        by_alias_address.objects[0].types[0]
        == "Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox"
    )
    assert mailbox["PrimarySmtpAddress"] == f"DiegoS@{domain(fresh_lab)}"
    assert mailbox["EmailAddresses"] == [
        f"SMTP:DiegoS@{domain(fresh_lab)}",
        f"smtp:diego.siciliani@{domain(fresh_lab)}",
    ]
    assert mailbox["RecipientTypeDetails"] == "UserMailbox" and isinstance(mailbox["Guid"], uuid.UUID)
    assert uuid.UUID(mailbox["ExternalDirectoryObjectId"])
    assert {o["RecipientTypeDetails"] for o in rooms.output} == {"RoomMailbox"} and len(rooms.output) == 2
    assert missing.errors[0].reason == "ManagementObjectNotFoundException" and not missing.had_errors
    assert missing.message().startswith(
        "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't "
        "be performed because object 'nobody' couldn't be found on "
    )
    assert (
        missing.error_ids[0].endswith("],Write-ErrorMessage")
        and missing.errors[0].command_name == "Get-Mailbox"
    )
    assert len(two.output) == 2 and two.warnings and "more results" in two.warnings[0]


def test_get_recipient_sees_mailboxes_and_groups(fresh_lab: LabHelper) -> None:
    with exchange(fresh_lab) as pool:
        run(pool, "New-DistributionGroup", Name="Sync Group", Type="Security")
        group = run(pool, "Get-Recipient", Identity="Sync Group")
        room = run(pool, "Get-Recipient", Identity=f"room-zurich@{domain(fresh_lab)}")
        groups = run(pool, "Get-Recipient", RecipientTypeDetails=["MailUniversalSecurityGroup"])
        bad_type = run(pool, "Get-Recipient", RecipientTypeDetails=["Nonsense"])
    assert group.output[0]["RecipientTypeDetails"] == "MailUniversalSecurityGroup"
    assert group.output[0]["IsValidSecurityPrincipal"] is True and group.output[0]["Alias"] == "SyncGroup"
    assert room.output[0]["RecipientTypeDetails"] == "RoomMailbox"
    assert room.output[0]["IsValidSecurityPrincipal"] is False
    assert [o["Name"] for o in groups.output] == ["Sync Group"]
    assert bad_type.error_ids == ["CannotConvertArgumentNoMessage,Get-Recipient"]


def test_cas_mailbox_ews_switch(fresh_lab: LabHelper) -> None:
    tenant, rooms = fresh_lab.lab.tenant, fresh_lab.app("rooms")["app_id"]
    with exchange(fresh_lab) as pool:
        before = run(pool, "Get-CASMailbox", Identity="DiegoS")
        switched = run(pool, "Set-CASMailbox", Identity="DiegoS", EwsEnabled=False)
        again = run(pool, "Set-CASMailbox", Identity="DiegoS", EwsEnabled=False)
        after = run(pool, "Get-CASMailbox", Identity="DiegoS")
        wrong_type = run(pool, "Set-CASMailbox", Identity="DiegoS", EwsEnabled="no")
    assert before.output[0]["EwsEnabled"] is True  # unset = enabled (the documented default)
    assert not switched.errors and switched.objects == [] and not switched.warnings
    assert again.warnings == [
        "The command completed successfully but no settings of 'DiegoS' have been modified."
    ]
    assert after.output[0]["EwsEnabled"] is False
    assert wrong_type.error_ids == ["ParameterArgumentTransformationError,Set-CASMailbox"]
    address = f"DiegoS@{domain(fresh_lab)}"
    assert authorize(tenant, rooms, address).reason == "ews_disabled_mailbox"
    assert authorize(tenant, rooms, f"AdeleV@{domain(fresh_lab)}").reason == "ok"


# --- groups -----------------------------------------------------------------------------------------------------------


def test_new_distribution_group_creates_a_mail_enabled_security_group(fresh_lab: LabHelper) -> None:
    with exchange(fresh_lab) as pool:
        created = run(
            pool,
            "New-DistributionGroup",
            Name="SyncIsAllowed",
            Type="Security",
            Members=["DiegoS", f"AdeleV@{domain(fresh_lab)}"],
        )
        distribution = run(pool, "New-DistributionGroup", Name="Newsletter")
        duplicate = run(pool, "New-DistributionGroup", Name="syncisallowed", Type="Security")
        taken_address = run(
            pool, "New-DistributionGroup", Name="Other", PrimarySmtpAddress=f"diegos@{domain(fresh_lab)}"
        )
        unknown_member = run(pool, "New-DistributionGroup", Name="Third", Members=["nobody"])
        no_name = run(pool, "New-DistributionGroup", Type="Security")
        bad_type = run(pool, "New-DistributionGroup", Name="Fourth", Type="Dynamic")
        listed = run(pool, "Get-DistributionGroup")
        members = run(pool, "Get-DistributionGroupMember", Identity=f"SyncIsAllowed@{domain(fresh_lab)}")
    group = created.output[0]
    assert (
        created.objects[0].types[0]
        == "Deserialized.Microsoft.Exchange.Data.Directory.Management.DistributionGroup"
    )
    assert group["RecipientTypeDetails"] == group["RecipientType"] == "MailUniversalSecurityGroup"
    assert group["GroupType"] == "Universal, SecurityEnabled" and group["IsDirSynced"] is False
    assert (
        group["PrimarySmtpAddress"] == f"SyncIsAllowed@{domain(fresh_lab)}"
        and group["Name"] == "SyncIsAllowed"
    )
    assert group["DisplayName"] == group["Identity"] == "SyncIsAllowed"
    assert uuid.UUID(group["ExternalDirectoryObjectId"]) and isinstance(group["Guid"], uuid.UUID)
    assert group["DistinguishedName"].startswith(
        f"CN=SyncIsAllowed,OU={domain(fresh_lab)},OU=Microsoft Exchange"
    )
    assert group["ManagedBy"] == []  # an app is no recipient, so it owns nothing
    assert distribution.output[0]["RecipientTypeDetails"] == "MailUniversalDistributionGroup"
    assert distribution.output[0]["GroupType"] == "Universal"
    assert (
        'ADObjectAlreadyExistsException|The name "syncisallowed" is already being used.'
        in duplicate.message()
    )
    assert "ProxyAddressExistsException" in taken_address.message()
    assert 'Couldn\'t find object "nobody"' in unknown_member.message()
    assert no_name.error_ids == ["MissingMandatoryParameter,New-DistributionGroup"]
    assert bad_type.error_ids == ["CannotConvertArgumentNoMessage,New-DistributionGroup"]
    assert [g["Name"] for g in listed.output] == ["SyncIsAllowed", "Newsletter"]
    assert sorted(m["Name"] for m in members.output) == ["AdeleV", "DiegoS"]
    assert (
        members.objects[0].types[0]
        == "Deserialized.Microsoft.Exchange.Data.Directory.Management.ReducedRecipient"
    )


def test_group_membership_changes_need_the_manager_check_bypass(fresh_lab: LabHelper) -> None:
    with exchange(fresh_lab) as pool:
        run(pool, "New-DistributionGroup", Name="SyncIsAllowed", Type="Security")
        no_bypass = run(pool, "Add-DistributionGroupMember", Identity="SyncIsAllowed", Member="DiegoS")
        added = run(
            pool,
            "Add-DistributionGroupMember",
            Identity="SyncIsAllowed",
            Member="DiegoS",
            BypassSecurityGroupManagerCheck=True,
        )
        again = run(
            pool,
            "Add-DistributionGroupMember",
            Identity="SyncIsAllowed",
            Member="diegos@" + domain(fresh_lab),
            BypassSecurityGroupManagerCheck=True,
        )
        unknown = run(
            pool,
            "Add-DistributionGroupMember",
            Identity="SyncIsAllowed",
            Member="nobody@x.example",
            BypassSecurityGroupManagerCheck=True,
        )
        no_group = run(
            pool,
            "Add-DistributionGroupMember",
            Identity="NoSuchGroup",
            Member="DiegoS",
            BypassSecurityGroupManagerCheck=True,
        )
        unconfirmed = run(
            pool,
            "Remove-DistributionGroupMember",
            Identity="SyncIsAllowed",
            Member="DiegoS",
            BypassSecurityGroupManagerCheck=True,
        )
        removed = run(
            pool,
            "Remove-DistributionGroupMember",
            Identity="SyncIsAllowed",
            Member="DiegoS",
            BypassSecurityGroupManagerCheck=True,
            Confirm=False,
        )
        not_member = run(
            pool,
            "Remove-DistributionGroupMember",
            Identity="SyncIsAllowed",
            Member="DiegoS",
            BypassSecurityGroupManagerCheck=True,
            Confirm=False,
        )
        members = run(pool, "Get-DistributionGroupMember", Identity="SyncIsAllowed")
    assert (
        "OperationRequiresGroupManagerException|You don't have sufficient permissions. This operation can only be performed by a manager of the group."
        in no_bypass.message()
    )
    assert not added.errors
    assert again.errors[0].reason == "MemberAlreadyExistsException"
    assert 'The recipient "DiegoS" is already a member of the group "SyncIsAllowed".' in again.message()
    assert unknown.errors[0].reason == "ManagementObjectNotFoundException"
    assert (
        'Couldn\'t find object "nobody@x.example". Please make sure that it was spelled correctly'
        in unknown.message()
    )
    assert "couldn't be found on" in no_group.message()
    assert unconfirmed.error_ids == ["HostFunctionNotImplemented,Remove-DistributionGroupMember"]
    assert unconfirmed.had_errors  # terminating: nothing was removed
    assert not removed.errors
    assert not_member.errors[0].reason == "MemberNotFoundException"
    assert members.output == []
    for result in (no_bypass, again, unknown, no_group, not_member):
        assert not result.had_errors  # Exchange's errors are non-terminating


def test_a_group_synced_from_on_premises_reads_as_dir_synced(fresh_lab: LabHelper) -> None:
    response = fresh_lab.admin(
        "POST", "groups", json={"name": "OnPremSync", "is_dir_synced": True, "members": ["DiegoS"]}
    )
    assert response.status_code == 201, response.text
    with exchange(fresh_lab) as pool:
        group = run(pool, "Get-DistributionGroup", Identity="OnPremSync")
    assert group.output[0]["IsDirSynced"] is True


# --- organization config and authorize() -----------------------------------------------------------------------------


def test_organization_ews_switches_reach_authorize(fresh_lab: LabHelper) -> None:
    tenant, rooms = fresh_lab.lab.tenant, fresh_lab.app("rooms")["app_id"]
    other = str(uuid.uuid4())
    address = f"DiegoS@{domain(fresh_lab)}"
    with exchange(fresh_lab) as pool:
        plain = run(pool, "Get-OrganizationConfig")
        assert authorize(tenant, rooms, address).reason == "ok"  # EwsEnabled unset
        run(pool, "Set-OrganizationConfig", EwsEnabled=True)
        assert authorize(tenant, rooms, address).reason == "ews_app_not_allowed"  # empty allow list
        run(pool, "Set-OrganizationConfig", EwsAllowedAppIDs=f"{other}, {rooms.upper()}")
        listed = run(pool, "Get-OrganizationConfig", RetrieveEwsOperationAccessPolicy=True)
        assert authorize(tenant, rooms, address).reason == "ok"
        as_array = run(pool, "Set-OrganizationConfig", EwsAllowedAppIDs=[other, rooms])
        run(pool, "Set-OrganizationConfig", EwsAllowedAppIDs=None)
        assert authorize(tenant, rooms, address).reason == "ews_app_not_allowed"
        run(pool, "Set-OrganizationConfig", EwsEnabled=False)
        off = run(pool, "Get-OrganizationConfig", RetrieveEwsOperationAccessPolicy=True)
        assert authorize(tenant, rooms, address).reason == "ews_disabled"
        # Graph does not look at the EWS switches.
        assert authorize(tenant, rooms, address, protocol="graph").reason == "ok"
        unchanged = run(pool, "Set-OrganizationConfig", EwsEnabled=False)
    assert plain.output[0]["EwsEnabled"] is None and "EwsAllowedAppIDs" not in plain.output[0]
    assert listed.output[0]["EwsEnabled"] is True
    assert listed.output[0]["EwsAllowedAppIDs"] == [other, rooms.lower()]
    assert "isn't a valid application ID" in as_array.message()  # an array arrives as one space-joined string
    assert off.output[0]["EwsEnabled"] is False and off.output[0]["EwsAllowedAppIDs"] == []
    assert unchanged.warnings and "no settings" in unchanged.warnings[0]


# --- parameter binding -------------------------------------------------------------------------------------------------


def test_parameter_binding_follows_powershell(fresh_lab: LabHelper) -> None:
    with exchange(fresh_lab) as pool:
        unknown = run(pool, "Get-Mailbox", Identityy="DiegoS")
        prefix = run(pool, "Get-Mailbox", ident="DiegoS")
        ambiguous = run(pool, "Get-Recipient", Re="x")
        not_emulated = run(pool, "Get-Mailbox", Filter="Alias -eq 'DiegoS'")
        twice = invoke(pool, ("Get-Mailbox", {"Identity": "DiegoS", "identity": "AdeleV"}))
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox").add_argument("AdeleV")  # -Identity is at position 0
        positional = ps.invoke()
        bad_size = run(pool, "Get-Mailbox", ResultSize="lots")
        silent = run(pool, "Get-Mailbox", Identity="nobody", ErrorAction="SilentlyContinue")
    assert unknown.error_ids == ["NamedParameterNotFound,Get-Mailbox"]
    assert unknown.message() == "A parameter cannot be found that matches parameter name 'Identityy'."
    assert unknown.errors[0].reason == "ParameterBindingException" and unknown.had_errors
    assert [o["Name"] for o in prefix.output] == ["DiegoS"]
    assert ambiguous.error_ids == ["AmbiguousParameter,Get-Recipient"]
    assert not_emulated.error_ids == ["LabParameterNotEmulated,Get-Mailbox"]
    assert twice.error_ids == ["ParameterAlreadyBound,Get-Mailbox"]
    assert [p.adapted_properties["Name"] for p in positional] == ["AdeleV"]
    assert bad_size.error_ids == ["CannotConvertArgumentNoMessage,Get-Mailbox"]
    assert silent.errors == [] and silent.objects == []
