"""The files a running lab leaves in DIR: roomsops.toml, RoomsAppSettings.config and lab.json.

roomsops.toml and lab.json name this run's port (rewritten each start); RoomsAppSettings.config is kept.
roomsops.toml starts with `SETTINGS_MARKER`: `lab serve` replaces only a roomsops.toml that it wrote.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import tomli_w

from roomsops.lab.context import LabContext
from roomsops.lab.pki import write_private, write_public
from roomsops.lab.tenant import ROOMS_SERVICE_ACCOUNT, TenantState

SETTINGS_FILE = "roomsops.toml"
APP_SETTINGS_FILE = "RoomsAppSettings.config"
SETTINGS_MARKER = "# Written by `roomsops lab serve`, which rewrites it on every start: do not edit.\n"
INFO_FILE = "lab.json"
WINRM_PASSWORD_ENV = "ROOMSOPS_WINRM_PASSWORD"

#: lab.json's app keys -> the tenant's app keys
APP_KEYS = {"rooms": "rooms", "admin": "admin"}


def write_lab_files(ctx: LabContext) -> dict[str, Any]:
    """Write roomsops.toml, lab.json and (if absent) RoomsAppSettings.config; return lab.json's content."""
    state = ctx.tenant.copy_state()
    info = lab_info(ctx, state)
    settings = SETTINGS_MARKER + tomli_w.dumps(roomsops_settings(ctx, state))
    write_public(ctx.dir / SETTINGS_FILE, settings.encode("utf-8"))
    app_settings = ctx.dir / APP_SETTINGS_FILE
    if not app_settings.exists():
        write_private(app_settings, rooms_app_settings(state))
    write_private(
        ctx.dir / INFO_FILE, (json.dumps(info, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    )
    return info


class ForeignSettingsFile(Exception):
    """DIR holds a roomsops.toml the lab did not write; `message` and `remedy` say what to do."""

    def __init__(self, message: str, remedy: str) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy


def claim_settings_file(directory: Path, force: bool) -> Path | None:
    """Before the lab writes DIR/roomsops.toml: refuse one it did not write, or with `force` back it up
    (returned) and let it be replaced."""
    path = directory / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        text = ""
    if _written_by_lab(text, directory):
        return None
    if not force:
        raise ForeignSettingsFile(
            f"{path} exists and was not written by the lab, which would replace it",
            "give the lab an empty folder with --dir, or pass --force to replace it (a copy is kept)",
        )
    backup = next(
        candidate
        for candidate in (path.with_name(f"{SETTINGS_FILE}.bak{n or ''}") for n in range(1000))
        if not candidate.exists()
    )
    shutil.copy2(path, backup)
    return backup


def _written_by_lab(text: str, directory: Path) -> bool:
    if text.startswith(SETTINGS_MARKER):
        return True
    # Labs before the marker: their file points the lab cloud at this folder's RoomsAppSettings.config.
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    return settings.get("cloud", {}).get("name") == "lab" and settings.get("rooms", {}).get(
        "app_settings"
    ) == str(directory / APP_SETTINGS_FILE)


def roomsops_settings(ctx: LabContext, state: TenantState) -> dict[str, Any]:
    directory = ctx.dir
    ca = str(ctx.pki.ca_file)
    return {
        "cloud": {
            "name": "lab",
            "authority_host": ctx.base_url,
            "ews_url": f"{ctx.base_url}/EWS/Exchange.asmx",
            "graph_url": ctx.base_url,  # the lab's Graph face (/v1.0/); tokens are still for Graph's resource
        },
        "network": {"ca_bundle": ca},
        "rooms": {
            "app_settings": str(directory / APP_SETTINGS_FILE),
            "database": f"sqlite:///{directory / 'rooms.db'}",
            "time_zone": "Europe/Zurich",
            "service_account": ROOMS_SERVICE_ACCOUNT,
        },
        "auth": {"certificate_file": str(ctx.pki.apps["rooms"].pem_file)},
        "powershell": {
            "host": "127.0.0.1",
            "port": ctx.port,
            "ssl": True,
            "auth": "basic",
            "username": state.management_host.winrm_username,
            "password_env": WINRM_PASSWORD_ENV,
            "ca_bundle": ca,
        },
        "exo": {
            "auth": "app-token",
            "app_id": state.app("admin").app_id,
            "organization": state.domain,
            "certificate_file": str(ctx.pki.apps["roomsops-admin"].pem_file),
        },
        "log": {"file": str(directory / "roomsops.log"), "audit": str(directory / "audit.jsonl")},
    }


def rooms_app_settings(state: TenantState) -> bytes:
    """A RoomsAppSettings.config as ROOMS ships it: UTF-8 with a BOM, CRLF, a declaration and a comment."""
    rooms = state.app("rooms")
    settings = [
        ("ExchangeUseImpersonation", "true"),
        ("ExchangeSyncResolveDistributionGroups", "false"),
        ("ExchangePushNotificationUseLegacyEndpoint", "false"),
        ("BatchGetEventsSize", "100"),
        ("IntervallSubscribeInMinutes", "20"),
        ("FailedGetEventsTillDeactivate", "10"),
        ("OAuthTokenMinutesBeforeRenew", "20"),
        ("ExchangeTenantId", state.tenant_id),
        ("ExchangeAppId", rooms.app_id),
        ("ExchangeClientSecret", rooms.secrets[0].value),
    ]
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f"<!-- ROOMS application settings, written by the roomsops lab for {state.domain}. -->",
        "<RoomsAppSettings>",
        *(f"  <add key={quoteattr(key)} value={quoteattr(value)} />" for key, value in settings),
        "</RoomsAppSettings>",
    ]
    return "\ufeff".encode() + "\r\n".join([*lines, ""]).encode("utf-8")


def lab_info(ctx: LabContext, state: TenantState) -> dict[str, Any]:
    base = ctx.base_url
    apps: dict[str, Any] = {}
    for name, key in APP_KEYS.items():
        app = state.app(key)
        credential = ctx.pki.apps[app.credential_name]
        apps[name] = {
            "display_name": app.display_name,
            "app_id": app.app_id,
            "object_id": app.sp_object_id,  # the service principal's (what RBAC's New-ServicePrincipal takes)
            "application_object_id": app.object_id,
            "secret": app.secrets[0].value if app.secrets else None,
            "certificate_file": str(credential.pem_file),
            "pfx_file": str(credential.pfx_file),
            "pfx_password": credential.pfx_password,
            "thumbprint": credential.thumbprint,
            "thumbprint_sha256": credential.thumbprint_sha256,
        }
    return {
        "endpoints": {
            "base": base,
            "authority": f"{base}/{state.tenant_id}",
            "token": f"{base}/{state.tenant_id}/oauth2/v2.0/token",
            "ews": f"{base}/EWS/Exchange.asmx",
            "wsman": f"{base}/wsman",
            "admin": f"{base}/lab",
        },
        # Every /lab/ call but /lab/health needs this token (`Authorization: Bearer <token>` or X-Lab-Token).
        "admin_api": {"url": f"{base}/lab", "token": ctx.admin_token, "header": "Authorization"},
        "files": {
            "ca": str(ctx.pki.ca_file),
            "settings": str(ctx.dir / SETTINGS_FILE),
            "app_settings": str(ctx.dir / APP_SETTINGS_FILE),
        },
        "tenant": {"id": state.tenant_id, "domain": state.domain},
        "apps": apps,
        "winrm": {
            "username": state.management_host.winrm_username,
            "password": state.management_host.winrm_password,
        },
        "admin_user": {"upn": state.admin_user.upn, "password": state.admin_user.password},
        # The WinRM host: the ROOMS service account is what rooms.service_account should name.
        "management_host": {
            "rooms_service_account": ROOMS_SERVICE_ACCOUNT,
            "certificate_store": "Cert:\\LocalMachine\\My",
        },
        "mailboxes": [
            {
                "email": m.primary_smtp,
                "display_name": m.display_name,
                "kind": m.kind,
                "aliases": list(m.aliases),
            }
            for m in state.mailboxes
        ],
    }
