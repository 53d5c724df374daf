"""review21i: the database is asked before Exchange only by the exact address given (fix21j); a remedy that
Exchange's answer gives must still fit what ROOMS holds (issue 21, Deliver 6: every remedy sentence points at a
command that works for that situation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def _checked(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}


def test_rooms_add_of_a_person_recorded_by_an_alias_does_not_tell_to_convert_the_persons_mailbox(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    # Recorded offline (rooms.check_addresses off, the lab's default) by an alias of Diego's mailbox; the sync
    # opens it all the same (ResolveNames), so Diego is a person ROOMS syncs.
    ok(invoke("persons", "add", addr("diego.siciliani"), env=env))
    fresh_lab.reset_requests()
    run = invoke("rooms", "add", addr("DiegoS"), "--name", "Diego", env=_checked(env))
    assert run.code == 2, run.out + run.err
    one_line_error(run)
    assert changes(fresh_lab) == {}
    assert json.loads(ok(invoke("--json", "rooms", "list", env=env)).out)["rooms"] == []
    # `rooms check` knows better (fix21j: _not_a_room_remedy looks at every address of the mailbox).
    # Converting Diego's mailbox to a room would end his own calendar as a person's.
    assert "-Type Room" not in run.err, run.err
    assert f"ROOMS person {addr('diego.siciliani')}" in run.err, run.err  # named as it is recorded


def test_persons_import_of_a_rooms_room_does_not_send_to_rooms_add_that_fails(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    room = addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=_checked(env)))
    csv = tmp_path / "persons.csv"
    csv.write_text(f"email,name,sync_mode,sync_url,conflict_behaviour\n{room},Zurich,,,\n", encoding="utf-8")
    run = invoke("persons", "import", str(csv), env=_checked(env))
    assert run.code == 2, run.out + run.err
    assert json.loads(ok(invoke("--json", "persons", "list", env=env)).out)["persons"] == []
    if "roomsops rooms add" in run.err:
        # The remedy as written, run: it must work for this situation.
        followed = invoke("rooms", "add", room, "--name", "Zürich", env=_checked(env))
        assert followed.code == 0, f"remedy {run.err!r} → {followed.err!r}"
    assert "line 2" in run.err and "is a room, not a person" in run.err, run.err  # the database answered
