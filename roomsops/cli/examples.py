"""One or two real examples at the end of every command's --help (issue 21.14); tests/cli/test_help_examples.py
parses each of them against the command it names."""

from __future__ import annotations

from datetime import date, timedelta

import click

#: The bookings examples' day: next week's Monday, inside the booking horizon (rooms.booking_horizon_days, 365 by
#: default), so the example books as written (a fixed far date was declined by a room whose window ends there).
_today = date.today()
DAY = (_today + timedelta(days=7 - _today.weekday())).isoformat()
WEEK_LATER = (date.fromisoformat(DAY) + timedelta(days=7)).isoformat()

EXAMPLES: dict[str, tuple[str, ...]] = {
    "auth test": ("roomsops auth test", "roomsops auth test --mailbox diego@contoso.com"),
    "bookings add": (
        "roomsops bookings add --organizer diego@contoso.com --room room-zurich@contoso.com "
        f"--start {DAY}T09:00 --end {DAY}T10:00 --title 'Weekly sync'",
    ),
    "bookings cancel": ("roomsops bookings cancel 42 --yes",),
    "bookings list": (
        f"roomsops bookings list --from {DAY}T00:00 --to {WEEK_LATER}T00:00",
        "roomsops --json bookings list --organizer diego@contoso.com --status active",
    ),
    "bookings update": (f"roomsops bookings update 42 --start {DAY}T10:00 --end {DAY}T11:00",),
    "config check": ("roomsops config check", "roomsops config check --on-host"),
    "config init": (
        "roomsops config init --tenant-id TENANT-GUID --app-id APP-GUID --client-secret-env ROOMS_SECRET",
    ),
    "config set": (
        "roomsops config set ExchangeClientSecret - < secret.txt",
        "roomsops config set BatchGetEventsSize 100",
    ),
    "config settings": ("roomsops config settings", "roomsops --json config settings"),
    "config show": ("roomsops config show",),
    "config unset": ("roomsops config unset ExchangeCertThumbprint --yes",),
    "db adopt-id": ("roomsops db adopt-id --use remembered --yes",),
    "db copy": ("roomsops db copy --to postgresql+psycopg://roomsops@dbhost/rooms",),
    "db upgrade": ("roomsops db upgrade", "roomsops --json db upgrade"),
    "doctor": ("roomsops doctor --mailbox diego@contoso.com",),
    "ews allow": ("roomsops ews allow", "roomsops ews allow --enable --yes"),
    "ews disallow": ("roomsops ews disallow --yes",),
    "ews status": ("roomsops ews status --mailbox diego@contoso.com",),
    "lab serve": ("roomsops lab serve --dir ./lab", "roomsops lab serve --dir ./lab --port 8443"),
    "lab env": ("roomsops lab env --dir ./lab",),
    "lab stop": ("roomsops lab stop --dir ./lab",),
    "persons add": (
        "roomsops persons add diego@contoso.com --name 'Diego Siciliani'",
        "roomsops persons add adele@contoso.com --sync-mode O365Pull --no-check",
    ),
    "persons check": ("roomsops persons check", "roomsops persons check diego@contoso.com"),
    "persons import": ("roomsops persons import persons.csv",),
    "persons list": ("roomsops persons list --sync-mode O365",),
    "persons remove": ("roomsops persons remove diego@contoso.com --cancel-bookings --yes",),
    "persons set": (
        "roomsops persons set diego@contoso.com --sync-mode O365Pull",
        "roomsops persons set dsiciliani@contoso.com --email diego@contoso.com",
    ),
    "policy list": ("roomsops policy list", "roomsops policy list --engine rbac"),
    "policy migrate": ("roomsops policy migrate --dry-run", "roomsops policy migrate --remove-old --yes"),
    "policy remove": (
        "roomsops policy remove --group SyncIsAllowed --yes",
        "roomsops policy remove --engine rbac --group SyncIsAllowed --yes",
    ),
    "policy restrict": (
        "roomsops policy restrict --from-persons --probe adele@contoso.com",
        "roomsops policy restrict --member diego@contoso.com --dry-run",
    ),
    "policy test": ("roomsops policy test diego@contoso.com adele@contoso.com --expect Granted",),
    "rooms add": ("roomsops rooms add room-zurich@contoso.com --name 'Zürich'",),
    "rooms list": ("roomsops rooms list",),
    "rooms remove": ("roomsops rooms remove room-zurich@contoso.com --cancel-bookings --yes",),
    "rooms set": ("roomsops rooms set room-zurich@contoso.com --name 'Zürich 3rd floor' --sync-master",),
    "serve": ("roomsops serve", "roomsops serve --max-ticks 1"),
    "sync": ("roomsops sync", "roomsops sync --person diego@contoso.com --dry-run"),
    "sync diff": ("roomsops sync diff --person diego@contoso.com",),
    "sync migrate": (
        "roomsops sync migrate --to graph --all --dry-run",
        "roomsops sync migrate --to graph --person diego@contoso.com",
        "roomsops sync migrate --to ews --person diego@contoso.com --mode O365Pull",
    ),
    "sync purge": ("roomsops sync purge --person diego@contoso.com --dry-run",),
    "sync resume": ("roomsops sync resume --person diego@contoso.com",),
    "sync resolve": ("roomsops sync resolve 42 --use rooms",),
    "sync status": ("roomsops sync status --max-age 2h",),
    "sync test": ("roomsops sync test diego@contoso.com",),
}


def add_examples(group: click.Group, path: tuple[str, ...] = ()) -> None:
    """Append each command's examples to its help (after the options), unless its docstring has its own."""
    for name, command in group.commands.items():
        key = " ".join((*path, name))
        if isinstance(command, click.Group):
            add_examples(command, (*path, name))
        examples = EXAMPLES.get(key)
        if examples and "Examples:" not in (command.help or ""):
            command.epilog = "\b\nExamples:\n" + "\n".join(f"  {e}" for e in examples)
