"""review21t: an option given without its value (`persons add X --name`, `sync --person`, `lab serve --dir`, a
script's unset variable left unquoted) answers "Error: Option '--name' requires an argument. — see 'roomsops
--help'". The top-level help does not list the option; every other usage error names the command's own help
("No such option '--bogus'. — see 'roomsops sync --help'", "Missing argument 'EMAIL'. — see 'roomsops persons add
--help'"). Issue 21, Deliver 6: every remedy points at what helps in that situation."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke


@pytest.mark.parametrize(
    ("args", "help_of"),
    [
        (("persons", "add", "diego@contoso.com", "--name"), "persons add"),
        (("sync", "--person"), "sync"),
        (("sync", "status", "--max-age"), "sync status"),
        (("lab", "serve", "--dir"), "lab serve"),
    ],
)
def test_a_missing_option_value_names_the_commands_help(
    invoke: Invoke, args: tuple[str, ...], help_of: str
) -> None:
    run = invoke(*args)
    assert run.code == 2, run.out + run.err
    assert "requires an argument" in run.err, run.err
    assert run.err.rstrip().endswith(f"see 'roomsops {help_of} --help'"), run.err
