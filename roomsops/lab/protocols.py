"""The one place where the lab's protocols are mounted on its server: path → handler.

A new protocol adds one Route here; the server gives it latency, request counts and faults.
"""

from __future__ import annotations

from roomsops.lab.admin import AdminApi
from roomsops.lab.context import LabContext
from roomsops.lab.ews.service import EwsService
from roomsops.lab.token import TOKEN_PATH, TokenService
from roomsops.lab.web import Route
from roomsops.lab.winrm import ADMIN_PATH, WSMAN_PATH, HostAdmin, WinRMService


def build_routes(ctx: LabContext) -> list[Route]:
    """All routes, first match wins. e.g. `Route.prefix("/EWS/", EwsService(ctx))`,
    `Route.pattern(re.compile(r"^/wsman/?$", re.I), WinRMService(ctx))`."""
    token = TokenService(ctx)
    winrm = WinRMService(ctx)
    return [
        Route.pattern(ADMIN_PATH, HostAdmin(ctx, winrm.shells), instrumented=False),  # before the other /lab/
        Route.prefix("/lab/", AdminApi(ctx, token.device_flows), instrumented=False),
        Route.pattern(TOKEN_PATH, token),
        Route.pattern(WSMAN_PATH, winrm),
        Route.prefix("/EWS/", EwsService(ctx)),
    ]
