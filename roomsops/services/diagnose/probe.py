"""The EWS probe: what EWS says about a mailbox as the sync app sees it (its calendar through impersonation,
its primary address), and the same question for many addresses at once (`persons check`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from roomsops.adapters.ews.client import REMEDIES, EwsClient, EwsError
from roomsops.core.errors import AuthError, ConnectError, RoomsopsError
from roomsops.core.results import Check, Result, Status
from roomsops.core.templates import shellword


@dataclass(frozen=True)
class Probe:
    """What EWS says about one mailbox, as seen by the sync app."""

    mailbox: str
    outcome: str  # accessible | alias | denied_by_policy | access_denied | ews_disabled | ews_app_not_allowed | impersonation_denied
    #               | mailbox_not_found | throttled | connection | unauthorized
    primary_smtp: str | None = None
    detail: str = ""
    #: The remedy of the error that stopped the probe before EWS answered (the token service's, say), if any.
    cause_remedy: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "accessible"

    @property
    def remedy(self) -> str | None:
        if self.outcome == "alias":
            return f"use the primary SMTP address {self.primary_smtp} in ROOMS"
        return self.cause_remedy or REMEDIES.get(self.outcome)

    def check(self, name: str) -> Check:
        if self.ok:
            return Check(name, Status.OK, f"{self.mailbox}: calendar accessible through impersonation")
        if self.outcome == "alias":
            return Check(
                name,
                Status.FAILED,
                f"{self.mailbox} is an alias; the primary SMTP address is {self.primary_smtp}",
                self.remedy,
            )
        return Check(name, Status.FAILED, self.detail or self.outcome, self.remedy)


def failed_probe(address: str, exc: RoomsopsError) -> Probe:
    reason = (
        exc.reason
        if isinstance(exc, EwsError)
        else ("unauthorized" if isinstance(exc, AuthError) else "connection")
    )
    if isinstance(exc, EwsError):
        return Probe(address, reason, detail=exc.detail)
    # A token service that could not be reached or refused: its own remedy (cloud.authority_host, the
    # credential), not the EWS connection's (cloud.ews_url).
    return Probe(address, reason, detail=exc.message, cause_remedy=exc.remedy)


def probe(client: EwsClient, address: str) -> Probe:
    """The mailbox's calendar through impersonation, then its primary address (ResolveNames)."""
    try:
        client.calendar(address)
        primary = client.resolve_primary(address)
    except (EwsError, ConnectError) as exc:
        return failed_probe(address, exc)
    if primary and primary.casefold() != address.casefold():
        return Probe(address, "alias", primary_smtp=primary, detail=f"primary SMTP address is {primary}")
    return Probe(address, "accessible", primary_smtp=primary or address)


def alias_first(found: Probe, primaries: Callable[[Sequence[str]], Mapping[str, str]] | None) -> Probe:
    """A policy denial of an alias is the alias first (issue 21.6): `primaries` (the admin session's Get-Recipient)
    names the mailbox's primary address, which the sync app cannot ask for a mailbox the policy refuses it."""
    if found.outcome != "denied_by_policy":
        return found
    primary = primaries([found.mailbox]).get(found.mailbox.casefold()) if primaries is not None else None
    if primary is None:
        # The look-up could not run (no admin connection, or it failed): both ways, as `persons check` says
        # (review21y): the same situation gets the same remedy in every command.
        return replace(found, cause_remedy=maybe_an_alias_remedy(found.mailbox, found.remedy))
    if primary.casefold() == found.mailbox.casefold():
        return found
    return Probe(found.mailbox, "alias", primary_smtp=primary, detail=f"primary SMTP address is {primary}")


@dataclass(frozen=True)
class AddressCheck:
    email: str
    status: str  # ok | alias | mailbox_not_found | <EWS reason>
    primary_smtp: str | None = None
    detail: str = ""
    remedy: str | None = None


@dataclass(frozen=True)
class PersonsCheck(Result):
    """Is each person's address the primary SMTP address of a mailbox (the most common ROOMS sync failure)?"""

    checks: tuple[AddressCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.status == "ok" for c in self.checks)

    def lines(self) -> list[str]:
        out = []
        for c in self.checks:
            if c.status == "ok":
                out.append(f"ok      {c.email}")
            else:
                out.append(f"FAILED  {c.email}: {c.detail}" + (f" — {c.remedy}" if c.remedy else ""))
        return out or ["no persons to check"]


def alias_remedy(address: str, primary: str, persons: Mapping[str, str] | None) -> str:
    """What to do about `address`, an alias of the mailbox `primary`, as a command that works for it (issue 21.6).
    `persons`: the ROOMS persons' addresses by their case-folded form (None: not known). A person recorded by the
    alias is renamed to the primary address ('persons set --email'), unless the primary address is already
    another ROOMS person: that rename is refused (one mailbox recorded twice), one of the two records goes. An
    alias ROOMS does not have, of a mailbox ROOMS has under another address, needs nothing removed: use that one."""
    if persons is None:
        return f"change the person's e-mail in ROOMS to {primary}: 'roomsops persons set {shellword(address)} --email {shellword(primary)}'"
    other = persons.get(primary.casefold())
    recorded = address.casefold() in persons
    if other is not None and other.casefold() != address.casefold():
        if not recorded:  # ROOMS has the mailbox once, under its primary address: nothing to remove
            return (
                f"ROOMS already has this mailbox as the person {other}: use {other} in ROOMS, not {address} "
                f"('roomsops persons check {shellword(other)}')"
            )
        return (
            f"{address} and the ROOMS person {other} are one mailbox: the person is recorded twice; keep one "
            f"record: 'roomsops persons remove {shellword(address)}' (with --cancel-bookings if it organizes bookings)"
        )
    if recorded:
        return f"rename the person to the primary address: 'roomsops persons set {shellword(address)} --email {shellword(primary)}'"
    return f"give ROOMS the primary address: 'roomsops persons add {shellword(primary)}'"


def check_addresses(
    client: EwsClient,
    addresses: Sequence[str],
    progress: Callable[[str], None] | None = None,
    persons: Mapping[str, str] | None = None,
) -> PersonsCheck:
    """ResolveNames for each address: the primary SMTP address, or why it could not be resolved; `progress` is
    told each address checked. `persons` (the ROOMS persons by case-folded address) words an alias's remedy."""
    checks = []
    for address in addresses:
        checks.append(check_address(client, address, persons))
        if progress is not None:
            progress(address)
    # An alias of a mailbox outside the policy is refused like the mailbox itself: asked through a mailbox
    # the app may open, ResolveNames tells the alias from a real policy denial (issue 21.6).
    via = next((c.email for c in checks if c.status == "ok"), None)
    if via is not None:
        checks = [
            _alias_outside_policy(client, c, via, persons) if c.status == "denied_by_policy" else c
            for c in checks
        ]
    return PersonsCheck(checks=tuple(checks))


def aliases_outside_policy(
    result: PersonsCheck,
    primaries: Callable[[Sequence[str]], Mapping[str, str]],
    persons: Mapping[str, str] | None,
) -> PersonsCheck:
    """The policy denials left once no checked address could be asked through: `primaries` (the admin session's
    Get-Recipient, when one is configured) tells an alias from a real denial, before any policy judgement."""
    denied = [c.email for c in result.checks if c.status == "denied_by_policy"]
    if not denied:
        return result
    found = primaries(denied)
    return PersonsCheck(
        checks=tuple(
            (
                _alias_with_primary(c, found[c.email.casefold()], persons)
                if c.email.casefold() in found
                else _maybe_an_alias(c)
            )
            if c.status == "denied_by_policy"
            else c
            for c in result.checks
        )
    )


def _maybe_an_alias(check: AddressCheck) -> AddressCheck:
    """A policy denial the admin look-up could not tell from an alias (no admin connection, or it failed): the
    remedy names both ways, not the policy only (review21w)."""
    return replace(check, remedy=maybe_an_alias_remedy(check.email, check.remedy))


def maybe_an_alias_remedy(address: str, remedy: str | None) -> str:
    """A policy denial's remedy when the admin look-up could not tell it from an alias: both ways."""
    return (
        f"{remedy or REMEDIES['denied_by_policy']}; or {address} is an alias of a mailbox outside the policy "
        f"(the policy refuses it as it refuses its mailbox): find its primary SMTP address with Get-Recipient "
        f"{shellword(address)}, or run this check where the admin connection (exo.app_id, WinRM) can be opened"
    )


def _alias_outside_policy(
    client: EwsClient, check: AddressCheck, via: str, persons: Mapping[str, str] | None
) -> AddressCheck:
    try:
        primary = client.resolve_primary(check.email, via=via)
    except (EwsError, ConnectError):
        return check
    return _alias_with_primary(check, primary, persons)


def _alias_with_primary(
    check: AddressCheck, primary: str | None, persons: Mapping[str, str] | None
) -> AddressCheck:
    if primary is None or primary.casefold() == check.email.casefold():
        return check  # the primary address itself: a real policy denial
    return AddressCheck(
        check.email,
        "alias",
        primary,
        f"an alias (the policy refuses it as it refuses its mailbox); the primary SMTP address is {primary}",
        f"{alias_remedy(check.email, primary, persons)}; then check that the policy lets the sync app open "
        f"{primary} ('roomsops policy test {shellword(primary)}')",
    )


def check_address(client: EwsClient, address: str, persons: Mapping[str, str] | None = None) -> AddressCheck:
    """One address: its primary SMTP address, or why it could not be resolved."""
    try:
        primary = client.resolve_primary(address)
    except (EwsError, ConnectError) as exc:
        failure = failed_probe(address, exc)
        return AddressCheck(address, failure.outcome, detail=failure.detail, remedy=failure.remedy)
    if primary is None:
        return AddressCheck(
            address,
            "mailbox_not_found",
            detail="no mailbox has this address",
            remedy=REMEDIES["mailbox_not_found"],
        )
    if primary.casefold() != address.casefold():
        return AddressCheck(
            address,
            "alias",
            primary,
            f"an alias; the primary SMTP address is {primary}",
            alias_remedy(address, primary, persons),
        )
    return AddressCheck(address, "ok", primary)
