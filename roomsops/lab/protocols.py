"""The one place where the lab's protocols are mounted on its server: path → handler.

A new protocol adds one Route here; the server gives it latency, request counts and faults.
"""

from __future__ import annotations

from roomsops.lab.admin import AdminApi
from roomsops.lab.context import LabContext
from roomsops.lab.token import TOKEN_PATH, TokenService
from roomsops.lab.web import Route


def build_routes(ctx: LabContext) -> list[Route]:
    """All routes, first match wins. e.g. `Route.prefix("/EWS/", EwsService(ctx))`,
    `Route.pattern(re.compile(r"^/wsman/?$", re.I), WinRMService(ctx))`."""
    token = TokenService(ctx)
    return [
        Route.prefix("/lab/", AdminApi(ctx, token.device_flows), instrumented=False),
        Route.pattern(TOKEN_PATH, token),
    ]
