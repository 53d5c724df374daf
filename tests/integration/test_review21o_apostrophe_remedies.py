"""review21o: an address with an apostrophe (o'neil@…, a common Irish surname) in the remedy sentences of issue 21.
fix21n quotes group names and other values "as pasted" (`shellword`), and `Set-Mailbox -Identity` remedies use
`psquote`; but the `roomsops …` commands that remedies name for an address are built with the bare address. The
administrator who pastes `roomsops persons add o'neil@contoso.com` gets an unterminated quote in bash and
PowerShell alike (Deliver 6: every remedy sentence points at a command that works for that situation)."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from roomsops.core.templates import shellword
from tests.conftest import Invoke, ok, one_line_error

pytestmark = pytest.mark.integration


@pytest.fixture
def oneil(fresh_lab: Any, addr: Any) -> str:
    """A user mailbox of the lab's tenant whose address holds an apostrophe."""
    address = addr("o'neil")
    body = {"email": address, "display_name": "Siobhan O'Neil", "kind": "user", "aliases": []}
    assert fresh_lab.admin("POST", "mailboxes", json=body).status_code == 201
    return address


def _pasted(remedy_command: str) -> list[str]:
    """The words bash reads from the command as printed (an unterminated quote is what an administrator gets)."""
    return shlex.split(remedy_command)


def test_shell_reading_of_the_bare_address_fails(oneil: str) -> None:
    """The premise, as a guard: the bare address is no word a shell reads back; shellword's form is."""
    with pytest.raises(ValueError, match="No closing quotation"):
        _pasted(f"roomsops persons add {oneil}")
    assert _pasted(f"roomsops persons add {shellword(oneil)}")[-1] == oneil


def test_persons_set_unknown_remedy_quotes_the_address(
    invoke: Invoke, env: dict[str, str], oneil: str
) -> None:
    # An installation with a database (fix21x: on a new one every such command says there is no database yet).
    ok(invoke("persons", "add", "someone@example.com", "--sync-mode", "None", "--no-check", env=env))
    run = invoke("persons", "set", oneil, "--name", "Siobhan", env=env)
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert f"roomsops persons add {shellword(oneil)}" in line, line


def test_bookings_add_unknown_organizer_remedy_quotes_the_address(
    invoke: Invoke, env: dict[str, str], oneil: str, addr: Any
) -> None:
    room = addr("room-zurich")
    invoke("rooms", "add", room, "--name", "Zurich", env=env)
    run = invoke(
        "bookings", "add", "--organizer", oneil, "--room", room,
        "--start", "2031-03-31T09:00", "--end", "2031-03-31T10:00", "--title", "Review", env=env,
    )  # fmt: skip
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert "not a known person" in line, line
    assert f"roomsops persons add {shellword(oneil)}" in line, line


def test_sync_unknown_person_remedy_quotes_the_address(
    invoke: Invoke, env: dict[str, str], oneil: str
) -> None:
    """`sync --person o'neil@…` of a mailbox that is no ROOMS person: the remedy names `persons add`."""
    ok(
        invoke("persons", "add", "someone@example.com", "--sync-mode", "None", "--no-check", env=env)
    )  # fix21x
    run = invoke("sync", "--person", oneil, env=env)
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert "roomsops persons add" in line, line
    assert f"roomsops persons add {shellword(oneil)}" in line, line
