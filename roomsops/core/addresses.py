"""Mailbox addresses: the one rule of what an e-mail address is, and duplicates (case-insensitive) dropped.

Commands that take mailboxes (policy, sync, ews, auth, doctor) and the ROOMS records (persons, rooms,
attendees) check addresses here, each with the remedy that fits where the address was typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from roomsops.core.errors import InputError

# Local part: no spaces and none of the characters that separate addresses in a list or need quoting
# ("Diego" <d@x>, a;b); "$(…)" stays allowed: no address ever becomes PowerShell text (parameters are
# bound, the runbook quotes every value). Domain: letters, digits and hyphens in dot-separated labels,
# ending in a top-level domain of letters.
_EMAIL = re.compile(r"^[^@\s\",:;<>\[\]\\]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$")
MAX_LENGTH = 320
#: The remedy for a mailbox given to a command that talks to Exchange.
MAILBOX_REMEDY = "give mailboxes as name@domain"
#: The remedy for an address of a ROOMS record (person, room, organizer, attendee).
RECORD_REMEDY = "write it as name@domain, e.g. diego@contoso.com"


def is_address(text: str) -> bool:
    """Whether `text` (already stripped) is a plausible SMTP address."""
    return len(text) <= MAX_LENGTH and _EMAIL.match(text) is not None and not any(ord(ch) < 32 for ch in text)


def validate_address(address: str, what: str = "", remedy: str = MAILBOX_REMEDY) -> str:
    """`address` stripped, if it is an e-mail address (the case is kept: matching ignores it); else exit 2.
    `what` names the role in the message ("attendee", "organizer")."""
    text = address.strip()
    if not text:
        raise InputError(
            f"the {what or 'e-mail'} address is empty", "give an address such as diego@contoso.com"
        )
    if not is_address(text):
        label = f"{what} " if what else ""
        raise InputError(f"{label}{text!r} is not an e-mail address", remedy)
    return text


def unique(addresses: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.casefold(), address)
    return list(seen.values())


def closest(wanted: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known address (or key) nearest to `wanted`, case-insensitively: the same local part in another
    domain first (a mistyped domain), else the nearest by similarity; None when nothing is near."""
    import difflib

    choices: dict[str, str] = {}
    for k in known:
        choices.setdefault(k.casefold(), k)  # the first spelling given wins
    if not choices:
        return None
    folded = wanted.casefold()
    if "@" in folded:
        local, domain = folded.split("@", 1)
        same_local = sorted(k for k in choices if k.split("@", 1)[0] == local and k != folded)
        if same_local:
            return choices[same_local[0]]
        # Compared by local part: over the whole address, the domain most addresses share would make every
        # mailbox of the tenant "close" to any unknown name in it (nobody@ → MeganB@).
        by_local: dict[str, list[str]] = {}
        for k in sorted(choices, key=lambda k: (k.split("@", 1)[-1] != domain, k)):
            by_local.setdefault(k.split("@", 1)[0], []).append(k)
        near = difflib.get_close_matches(local, list(by_local), n=1, cutoff=cutoff)
        return choices[by_local[near[0]][0]] if near else None
    near = difflib.get_close_matches(folded, list(choices), n=1, cutoff=cutoff)
    return choices[near[0]] if near else None
