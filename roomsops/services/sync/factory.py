"""Builds the calendar backend a sync runs on: the one place the sync service meets a calendar adapter, so the
engine, `sync diff/resolve`, `sync purge` and `sync migrate` know only the port.

Per person's sync mode (issue 24, item 2): a person in ROOMS' Graph mode (Microsoft365) is synced over Microsoft
Graph; a person in O365/O365Pull over EWS, or over Graph with `sync.backend = "graph"` (a tenant whose EWS is
off). Both in the same pass, on the same store (`routing.RoutedCalendar`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from roomsops.adapters.ews.backend import EwsCalendar
from roomsops.adapters.ews.client import EwsClient
from roomsops.core.calendar import Invitations
from roomsops.core.errors import InputError
from roomsops.core.settings import Settings
from roomsops.core.timeutil import machine_zone_name
from roomsops.core.vocabulary import GRAPH_SYNC_MODES
from roomsops.services.sync.backend import CalendarBackend

EWS, GRAPH = "ews", "graph"


def backend_for_mode(settings: Settings, sync_mode: str) -> str:
    """Which backend syncs a person in `sync_mode`: "graph" for ROOMS' Graph mode, else `sync.backend`."""
    return GRAPH if sync_mode in GRAPH_SYNC_MODES else str(settings.sync.backend)


def ews_backend(settings: Settings, ews: EwsClient) -> CalendarBackend:
    """The EWS backend; an unknown `sync.send_invitations` is refused (exit 2)."""
    zone = settings.rooms.time_zone or machine_zone_name()
    return EwsCalendar(ews, zone, Invitations.of(settings.sync.send_invitations))


def graph_backend(settings: Settings, ews: EwsClient) -> CalendarBackend:
    """The Graph backend (same app, a token for Graph's resource); `sync.send_invitations = none` is refused."""
    # Imported here: commands on EWS never load the Graph client.
    from roomsops.adapters.entra.tokens import graph_token_provider
    from roomsops.adapters.graph.backend import GraphCalendar
    from roomsops.adapters.graph.client import GraphClient

    invitations = Invitations.of(settings.sync.send_invitations)
    zone = settings.rooms.time_zone or machine_zone_name()
    client = GraphClient(settings, graph_token_provider(ews.provider.credentials, settings))
    return GraphCalendar(client, zone, invitations)


def calendar_backend(
    settings: Settings,
    ews: EwsClient,
    persons: Iterable[tuple[str, str]] = (),
    services: Mapping[str, str] | None = None,
) -> CalendarBackend:
    """The backend for these settings and persons ((email, sync mode)): one backend when every person goes the
    same way, else one that hands each mailbox to its own. `services`: the service each mailbox was last synced
    over (the store's record); a mailbox of no person in `persons` (one who left the sync: a mode roomsops does
    not sync) goes over it, so their meetings are cancelled or purged where their item ids belong; a service
    recorded is built even when no mailbox goes over it any more (`CalendarBackend.over`). Bad settings are
    refused (exit 2)."""
    default = str(settings.sync.backend)
    routes = {mailbox.casefold(): kind for mailbox, kind in (services or {}).items() if kind in (EWS, GRAPH)}
    routes.update({email.casefold(): backend_for_mode(settings, mode) for email, mode in persons})
    # A service recorded for a mailbox whose person now goes the other way (switched without `sync migrate`) is
    # built too: the pass reads a link's item where its id belongs before it judges the meeting gone (fix24u).
    kinds = (set(routes.values()) | {kind for kind in (services or {}).values() if kind in (EWS, GRAPH)}) - {
        default
    }
    built = {default: (graph_backend if default == GRAPH else ews_backend)(settings, ews)}
    if not kinds:
        return built[default]
    from roomsops.services.sync.routing import RefusedCalendar, RoutedCalendar

    for kind in kinds:
        try:
            built[kind] = (graph_backend if kind == GRAPH else ews_backend)(settings, ews)
        except InputError as exc:
            # A setting the other service cannot honour fails its persons' mailboxes, not the whole pass.
            built[kind] = RefusedCalendar(exc)
    return RoutedCalendar(built, routes, default)
