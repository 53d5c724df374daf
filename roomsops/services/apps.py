"""The one rule about roomsops' two apps: the Exchange admin connection never uses the sync app."""

from __future__ import annotations

from roomsops.core.errors import InputError
from roomsops.core.settings import Settings


def admin_app_problem(
    settings: Settings, sync_app_id: str | None, *, given: bool = False
) -> InputError | None:
    """Why the configured admin app may not be used, or None. `given`: `sync_app_id` is the --app-id of the
    command (not ExchangeAppId), so the mistake is that value, not exo.app_id (review21y).

    The sync app's secret lies on the ROOMS server: if the admin connection (`exo.app_id`, signing in with
    an app credential) were the sync app, that secret could lift its own restriction. A device-code sign-in
    is an administrator's own, whatever public client app it goes through.
    """
    admin_app = settings.exo.app_id
    if not (sync_app_id and admin_app) or settings.exo.auth == "device-code":
        return None
    if admin_app.casefold() != sync_app_id.casefold():
        return None
    if given:
        return InputError(
            f"--app-id {sync_app_id} is the admin app's id (exo.app_id), the app roomsops signs in to Exchange "
            "with, not the sync app; nothing was changed",
            "give --app-id the sync app's id (ExchangeAppId in RoomsAppSettings.config), or leave --app-id out "
            "to use ExchangeAppId",
        )
    return InputError(
        "exo.app_id is the sync app's id (ExchangeAppId): the admin connection must use its own app",
        "register a separate admin app with Exchange.ManageAsApp (the sync app's secret lies on the "
        "ROOMS server and must not be able to lift its own restriction)",
    )
