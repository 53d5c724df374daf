"""fix21d: `sync resume|purge --person` with an address that is neither a known person nor any mailbox is bad input
(exit 2, one line naming it, nothing changed), not a failed run (exit 1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def test_resume_and_purge_of_an_unknown_person_are_bad_input(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    nobody = addr("nobody")
    # An installation (where none is, both say no_database, review21y): the address is what is unknown here.
    made = invoke("rooms", "add", addr("room-zurich"), "--name", "Zurich", "--no-check", env=env)
    assert made.code == 0, made.out + made.err
    fresh_lab.reset_requests()
    for args in (("resume", "--person", nobody), ("purge", "--person", nobody, "--yes")):
        run = invoke("sync", *args, env=env)
        assert run.code == 2, (args, run.code, run.out, run.err)
        one_line_error(run)
        assert nobody in run.err, run.err
    assert changes(fresh_lab) == {}
