"""The one rule about roomsops' two apps: the Exchange admin connection never uses the sync app."""

from __future__ import annotations

from roomsops.core.errors import InputError
from roomsops.core.settings import Settings


def admin_app_problem(settings: Settings, sync_app_id: str | None) -> InputError | None:
    """Why the configured admin app may not be used, or None.

    The sync app's secret lies on the ROOMS server: if the admin connection (`exo.app_id`, signing in with
    an app credential) were the sync app, that secret could lift its own restriction. A device-code sign-in
    is an administrator's own, whatever public client app it goes through.
    """
    admin_app = settings.exo.app_id
    if not (sync_app_id and admin_app) or settings.exo.auth == "device-code":
        return None
    if admin_app.casefold() != sync_app_id.casefold():
        return None
    return InputError(
        "exo.app_id is the sync app's id (ExchangeAppId): the admin connection must use its own app",
        "register a separate admin app with Exchange.ManageAsApp (the sync app's secret lies on the "
        "ROOMS server and must not be able to lift its own restriction)",
    )
