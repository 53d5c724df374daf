"""review21w (low): fix21u's rule for empty option values ("given, it may not be empty": `--group "$GROUP"` with the
variable unset is a mistake, not a request for the default) is not kept by the filters of read-only commands:
`sync diff --person ""` answers for every person and `bookings list --organizer ""` / `--room ""` lists every
booking, exit 0, where `sync diff --person nobody@…` is refused as a typo and `--sync-mode ""` / `--max-age ""` are
refused. A monitor's `sync diff --person "$P"` with P unset reports the whole installation as that person's. (Same:
`auth test --mailbox ""` and `doctor --mailbox ""` skip the probe instead of refusing.)"""

from __future__ import annotations

import pytest

from roomsops.cli import cli
from roomsops.cli.bookings import bookings
from roomsops.cli.persons import persons
from roomsops.cli.rooms import rooms
from tests.conftest import Invoke


@pytest.fixture(autouse=True)
def rooms_cli(clean_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for group in (persons, rooms, bookings):
        if group.name not in cli.commands:
            monkeypatch.setitem(cli.commands, str(group.name), group)


@pytest.mark.parametrize(
    "args",
    [
        ("sync", "diff", "--person", ""),
        ("bookings", "list", "--organizer", ""),
        ("bookings", "list", "--room", ""),
        ("auth", "test", "--mailbox", ""),
        ("doctor", "--mailbox", ""),
    ],
    ids=[
        "sync diff --person",
        "bookings list --organizer",
        "bookings list --room",
        "auth test --mailbox",
        "doctor --mailbox",
    ],
)
def test_an_empty_filter_is_refused(invoke: Invoke, args: tuple[str, ...]) -> None:
    assert invoke("persons", "add", "diego@contoso.com").code == 0  # a database
    run = invoke(*args)
    assert run.code == 2, run.out + run.err
    assert "empty" in run.err, run.err
