"""Builds the calendar backend a sync runs on (EWS, or Microsoft Graph with `sync.backend = "graph"`): the one
place the sync service meets a calendar adapter, so the engine, `sync diff/resolve` and `sync purge` know only
the port."""

from __future__ import annotations

from roomsops.adapters.ews.backend import EwsCalendar
from roomsops.adapters.ews.client import EwsClient
from roomsops.core.calendar import Invitations
from roomsops.core.settings import Settings
from roomsops.core.timeutil import machine_zone_name
from roomsops.services.sync.backend import CalendarBackend


def calendar_backend(settings: Settings, ews: EwsClient) -> CalendarBackend:
    """The backend for these settings; an unknown `sync.send_invitations` is refused (exit 2), never "none"."""
    invitations = Invitations.of(settings.sync.send_invitations)
    zone = settings.rooms.time_zone or machine_zone_name()
    if settings.sync.backend == "graph":
        # Imported here: commands on EWS never load the Graph client. Same app, a token for Graph's resource.
        from roomsops.adapters.entra.tokens import graph_token_provider
        from roomsops.adapters.graph.backend import GraphCalendar
        from roomsops.adapters.graph.client import GraphClient

        client = GraphClient(settings, graph_token_provider(ews.provider.credentials, settings))
        return GraphCalendar(client, zone, invitations)
    return EwsCalendar(ews, zone, invitations)
