"""`--no-check` of `persons add|set` and `rooms add`: the address is looked up in Exchange Online (the admin
session) before it is recorded, unless the option or `rooms.check_addresses = false` says offline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.tenant_change import read_only
from roomsops.core.errors import ConnectError

if TYPE_CHECKING:
    from roomsops.adapters.exo.objects import Recipient
    from roomsops.services.rooms.mailboxes import Kind

NO_CHECK = click.option(
    "--no-check",
    is_flag=True,
    help="Do not look the address up in Exchange Online (offline; also rooms.check_addresses = false).",
)


def check_in_exchange(app: AppContext, address: str, kind: Kind, no_check: bool) -> Recipient | None:
    """Exit 2 when Exchange says the address is wrong for a `kind`, 3 when Exchange cannot be reached (with
    --no-check as the way to go on offline); nothing is recorded either way. The mailbox found, None when the
    look-up is off."""
    if no_check or not app.settings.rooms.check_addresses:
        return None
    from roomsops.services.rooms.common import check_email, recorded_mailboxes
    from roomsops.services.rooms.mailboxes import check_mailbox

    checked = check_email(address)  # a malformed address is exit 2 before connecting anywhere
    # A remedy must not name a command ROOMS refuses (convert a person's mailbox to a room, add a mailbox ROOMS has),
    # whichever address the person or room has in ROOMS (the database knows only the address typed for
    # `refuse_recorded`; Exchange knows the mailbox's others).
    persons, rooms = recorded_mailboxes(app.settings)
    try:
        with read_only(), app.open_admin(None) as session:
            return check_mailbox(session, checked, kind, persons, rooms)
    except ConnectError as exc:
        remedy = f"{exc.remedy}; " if exc.remedy else ""
        raise ConnectError(
            f"{exc.message}; the address {checked} could not be looked up, nothing was recorded",
            f"{remedy}or add --no-check to record it without looking it up",
            code=exc.code,
        ) from None


def problems_in_exchange(app: AppContext, addresses: Sequence[str], kind: Kind) -> dict[str, str]:
    """What is wrong with each wrong address, all looked up in one session (exit 3 when Exchange cannot be
    reached, with --no-check as the way to go on offline); the caller has checked `--no-check` and the
    setting."""
    from roomsops.services.rooms.common import recorded_mailboxes
    from roomsops.services.rooms.mailboxes import check_mailboxes

    persons, rooms = recorded_mailboxes(app.settings)
    try:
        with read_only(), app.open_admin(None) as session:
            found = check_mailboxes(session, addresses, kind, persons, rooms)
    except ConnectError as exc:
        remedy = f"{exc.remedy}; " if exc.remedy else ""
        raise ConnectError(
            f"{exc.message}; the addresses could not be looked up, nothing was recorded",
            f"{remedy}or add --no-check to record them without looking them up",
            code=exc.code,
        ) from None
    return {a: f"{e.message.removesuffix('; nothing was recorded')} ({e.remedy})" for a, e in found.items()}


def checks_addresses(app: AppContext, no_check: bool) -> bool:
    """Are addresses looked up in Exchange before they are recorded (not --no-check, not switched off)?"""
    return not no_check and app.settings.rooms.check_addresses


def primaries_from_admin(app: AppContext, addresses: Sequence[str]) -> dict[str, str]:
    """The primary SMTP address of each address a mailbox has, by the case-folded address, as the admin session
    reads it (Get-Recipient, one pipeline) — the sync app cannot ask about a mailbox the policy refuses it. Empty
    when no admin connection is configured to sign in without a person (app credential) or it cannot be opened:
    the caller then reports what the sync app saw."""
    from roomsops.adapters.exo import exchange
    from roomsops.adapters.exo.objects import Recipient
    from roomsops.core.errors import RoomsopsError

    exo = app.settings.exo
    if not addresses or not (exo.app_id and exo.organization) or exo.auth == "device-code":
        return {}
    try:
        with read_only(), app.open_admin(None) as session:
            found = exchange.read(
                session, [exchange.Query("Get-Recipient", {"Identity": a}, Recipient) for a in addresses]
            ).recipients
    except RoomsopsError:
        return {}
    return {
        a.casefold(): r.primary_smtp for a in addresses for r in found if r.has_address(a) and r.primary_smtp
    }
