"""Mailbox addresses as commands take them: checked once, duplicates (case-insensitive) dropped."""

from __future__ import annotations

import re
from collections.abc import Iterable

from roomsops.core.errors import InputError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_address(address: str) -> str:
    text = address.strip()
    if not _EMAIL.match(text) or any(ord(ch) < 32 for ch in text):
        raise InputError(f"{address!r} is not an e-mail address", "give mailboxes as name@domain")
    return text


def unique(addresses: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.casefold(), address)
    return list(seen.values())
