"""Every command has help text and appears in README.md; --help works everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from roomsops.cli import cli
from tests.conftest import Invoke

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def commands(
    group: click.Group = cli, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


ALL = list(commands())


def test_there_are_commands() -> None:
    assert len(ALL) >= 8


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_command_has_help_and_is_in_readme(
    path: tuple[str, ...], command: click.Command, invoke: Invoke
) -> None:
    assert (command.help or "").strip(), f"roomsops {' '.join(path)} has no help text"
    assert f"roomsops {' '.join(path)}" in README, f"roomsops {' '.join(path)} is not in README.md"
    run = invoke(*path, "--help")
    assert run.code == 0
    assert "Usage: roomsops" in run.out


def test_readme_opens_with_the_two_commands() -> None:
    block = README.split("```", 2)[1]
    assert [line.split()[0] for line in block.strip().splitlines()] == ["scripts/demo", "scripts/test"]
