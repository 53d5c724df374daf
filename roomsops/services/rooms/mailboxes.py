"""Is an address of a ROOMS record a mailbox in Exchange Online, under its primary SMTP address, and of the
right kind (a room must be a room mailbox)? Asked before `persons add`, `persons set --email` and `rooms add`
record it: a wrong address makes every later `sync` fail, or leaves a room's meetings unanswered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from roomsops.adapters.exo import exchange
from roomsops.adapters.exo.objects import Recipient
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.addresses import closest
from roomsops.core.errors import InputError
from roomsops.core.templates import psquote, shellword

ROOM_MAILBOX = "RoomMailbox"
#: How many mailboxes are read to suggest the closest address for one that was not found.
SUGGEST_SAMPLE = 5000

Kind = Literal["person", "room"]


def check_mailbox(
    session: ExchangeSession,
    address: str,
    kind: Kind,
    persons: Mapping[str, str] | None = None,
    rooms: Mapping[str, str] | None = None,
) -> Recipient:
    """The mailbox of `address`, or exit 2 (nothing recorded) saying what is wrong and what to give instead.
    `persons` and `rooms`: the ROOMS persons' and rooms' addresses by their case-folded form, so that a remedy
    never names a command ROOMS refuses (converting a person's mailbox to a room, adding a mailbox ROOMS already
    has), whichever of its addresses the person or room was recorded by."""
    found, _missing = exchange.find_mailboxes(session, [address])
    return _checked(session, address, found.get(address), kind, [], persons or {}, rooms or {})


def check_mailboxes(
    session: ExchangeSession,
    addresses: Sequence[str],
    kind: Kind,
    persons: Mapping[str, str] | None = None,
    rooms: Mapping[str, str] | None = None,
) -> dict[str, InputError]:
    """What is wrong with each address that is wrong (one Get-Mailbox pipeline for all; the mailboxes are read
    once more, only when one is not found, for the closest address)."""
    found, _missing = exchange.find_mailboxes(session, list(addresses))
    known: list[Recipient] = []
    problems: dict[str, InputError] = {}
    for address in addresses:
        try:
            _checked(session, address, found.get(address), kind, known, persons or {}, rooms or {})
        except InputError as exc:
            problems[address] = exc
    return problems


def _checked(
    session: ExchangeSession,
    address: str,
    mailbox: Recipient | None,
    kind: Kind,
    known: list[Recipient],
    persons: Mapping[str, str],
    rooms: Mapping[str, str],
) -> Recipient:
    """`mailbox` if it is the right one for `address`, else exit 2; `known` caches the tenant's mailboxes."""
    skip = "or add --no-check to record it without looking it up"
    if mailbox is None:
        if not known:
            known.extend(exchange.read(session, [exchange.mailboxes_query(SUGGEST_SAMPLE)]).recipients)
        primary_of = {a: m.primary_smtp for m in known for a in sorted(m.smtp_addresses)}
        nearest = closest(address, primary_of)
        near = primary_of[nearest.casefold()] if nearest else None
        raise InputError(
            f"no mailbox in Exchange Online has the address {address}"
            + (f" (closest: {near})" if near else "")
            + "; nothing was recorded",
            (f"use {near}, " if near else "check the address (Get-Mailbox -Identity ADDRESS), ") + skip,
            code="mailbox_not_found",
        )
    if mailbox.primary_smtp.casefold() != address.casefold():
        raise InputError(
            f"{address} is an alias of the mailbox {mailbox.primary_smtp}; nothing was recorded",
            _alias_remedy(address, mailbox, kind, persons, rooms),
            code="mailbox_alias",
        )
    if kind == "room" and mailbox.details != ROOM_MAILBOX:
        raise InputError(
            f"{address} is a {mailbox.details or 'recipient'}, not a room mailbox; nothing was recorded",
            not_a_room_remedy(mailbox, persons, "give the room's own mailbox address"),
            code="not_a_room",
        )
    if kind == "person" and mailbox.details == ROOM_MAILBOX:
        raise InputError(
            f"{address} is a room mailbox, not a person's; nothing was recorded",
            _room_as_person_remedy(mailbox, rooms),
            code="room_as_person",
        )
    return mailbox


def not_a_room_remedy(
    mailbox: Recipient, persons: Mapping[str, str], give: str = "give the room's own mailbox"
) -> str:
    """What to do about a mailbox given as a room that is not a room mailbox: converting it is a way out only when
    no person ROOMS syncs has it, by any of its addresses (`persons`: their addresses by case-folded form)."""
    person = next((persons[a] for a in sorted(mailbox.smtp_addresses) if a in persons), None)
    if person is not None:
        return (
            f"{give}: {mailbox.primary_smtp} is the mailbox of the ROOMS person {person} "
            "(see 'roomsops persons list')"
        )
    return f"{give}, or convert this one: Set-Mailbox -Identity {psquote(mailbox.primary_smtp)} -Type Room"


def _recorded(mailbox: Recipient, recorded: Mapping[str, str]) -> str | None:
    """The ROOMS record (`recorded`: addresses by case-folded form) of `mailbox` by any of its addresses, its
    primary address first."""
    for a in (mailbox.primary_smtp.casefold(), *sorted(mailbox.smtp_addresses)):
        if a in recorded:
            return recorded[a]
    return None


def _alias_remedy(
    address: str, mailbox: Recipient, kind: Kind, persons: Mapping[str, str], rooms: Mapping[str, str]
) -> str:
    """What to do about `address`, an alias of `mailbox`: 'use the primary SMTP address' only when ROOMS does not
    already have the mailbox (its add would be refused: 'already a person/room', 'recorded twice')."""
    primary = mailbox.primary_smtp
    if kind == "room":
        room = _recorded(mailbox, rooms)
        if room is not None:
            return f"ROOMS already has this mailbox as the room {room}: use {room} in ROOMS, not {address} (see 'roomsops rooms list')"
    else:
        person = _recorded(mailbox, persons)
        if person is not None:
            from roomsops.services.diagnose.probe import alias_remedy  # the remedy of `persons check`

            if person.casefold() == primary.casefold():
                return alias_remedy(
                    address, primary, persons
                )  # 'ROOMS already has this mailbox as the person'
            # Recorded by another alias: renamed to the primary address, it is the one record of the mailbox.
            return f"ROOMS already has this mailbox as the person {person}; {alias_remedy(person, primary, persons)}"
    return f"use the primary SMTP address {primary} (the sync opens mailboxes by it)"


def _room_as_person_remedy(mailbox: Recipient, rooms: Mapping[str, str]) -> str:
    """What to do about a room mailbox given as a person: add it as a room, unless ROOMS has it as a room already
    (under any of its addresses: 'rooms add' would be refused as recording it twice)."""
    room = _recorded(mailbox, rooms)
    if room is not None:
        return (
            f"ROOMS already has this mailbox as the room {room} (see 'roomsops rooms list'); "
            "give the person's own mailbox address"
        )
    return f"add it as a room: 'roomsops rooms add {shellword(mailbox.primary_smtp)} --name NAME'"
