"""The one e-mail rule: mailbox options (policy, sync, ews, auth, doctor) and ROOMS records (persons, rooms,
attendees) accept and refuse the same addresses; only the remedy says where the address was typed."""

from __future__ import annotations

import pytest

from roomsops.core.addresses import MAILBOX_REMEDY, RECORD_REMEDY, is_address, validate_address
from roomsops.core.errors import InputError
from roomsops.services.rooms.common import check_email

GOOD = [
    "diego@contoso.com",
    " DiegoS@roomslab.onmicrosoft.com ",  # stripped, case kept
    "first.last+rooms@sub.contoso.co.uk",
    "zoë@zürich.ch",
    "o'brien`$x{y}’zoë@contoso.com",  # what tests/integration/test_injection.py sends through
    "pro’be$(y)@contoso.com",
]
BAD = [
    "diego@contoso",  # no top-level domain
    "diego s@contoso.com",
    "diego@@contoso.com",
    "diego@contoso.c",  # a one-letter top-level domain
    "diego@contoso.123",
    "diego@-contoso.com",
    "<diego@contoso.com>",
    "diego@contoso.com\x00",
    "di\x01ego@contoso.com",
    "a" * 65 + "@contoso.com",  # the local part has at most 64
    "not-an-email",
]


@pytest.mark.parametrize("address", GOOD)
def test_both_kinds_accept_the_same_addresses(address: str) -> None:
    assert validate_address(address) == check_email(address) == address.strip()


@pytest.mark.parametrize("address", BAD)
def test_both_kinds_refuse_the_same_addresses(address: str) -> None:
    assert not is_address(address.strip())
    with pytest.raises(InputError) as mailbox:
        validate_address(address)
    with pytest.raises(InputError) as record:
        check_email(address, "attendee")
    assert mailbox.value.one_line() == f"{address.strip()!r} is not an e-mail address — {MAILBOX_REMEDY}"
    assert (
        record.value.one_line() == f"attendee {address.strip()!r} is not an e-mail address — {RECORD_REMEDY}"
    )


def test_an_empty_address_says_so() -> None:
    with pytest.raises(InputError, match=r"^the organizer address is empty$"):
        check_email("  ", "organizer")
    with pytest.raises(InputError, match=r"^the e-mail address is empty$"):
        validate_address("")
