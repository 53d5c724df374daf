"""The one place where the lab's protocols are mounted on its server: path → handler.

A new protocol adds one Route here; the server gives it latency, request counts and faults.
"""

from __future__ import annotations

from roomsops.lab.admin import AdminApi, TokenGuard
from roomsops.lab.context import LabContext
from roomsops.lab.ews.service import EwsService
from roomsops.lab.graph.admin import GraphAdmin
from roomsops.lab.graph.service import GraphService
from roomsops.lab.token import TOKEN_PATH, TokenService
from roomsops.lab.web import Route
from roomsops.lab.winrm import ADMIN_PATH, WSMAN_PATH, HostAdmin, WinRMService


def build_routes(ctx: LabContext) -> list[Route]:
    """All routes, first match wins. e.g. `Route.prefix("/EWS/", EwsService(ctx))`,
    `Route.pattern(re.compile(r"^/wsman/?$", re.I), WinRMService(ctx))`."""
    token = TokenService(ctx)
    winrm = WinRMService(ctx)
    graph = GraphService(ctx)
    return [
        # Both admin handlers behind the token check (only /lab/health stays open); HostAdmin before the other /lab/.
        Route.pattern(ADMIN_PATH, TokenGuard(ctx, HostAdmin(ctx, winrm.shells)), instrumented=False),
        Route.prefix("/lab/graph", TokenGuard(ctx, GraphAdmin(graph)), instrumented=False),
        Route.prefix("/lab/", TokenGuard(ctx, AdminApi(ctx, token.device_flows)), instrumented=False),
        Route.pattern(TOKEN_PATH, token),
        Route.pattern(WSMAN_PATH, winrm),
        Route.prefix("/EWS/", EwsService(ctx)),
        Route.prefix("/v1.0/", graph),
    ]
