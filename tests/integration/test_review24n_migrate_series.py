"""review24n probe: a ROOMS series with exceptions (one occurrence moved in Outlook, one deleted) moved from EWS to
Graph by `sync migrate` and back: the first pass over each service writes nothing and keeps every exception, and an
Outlook edit of an occurrence after the move is read over the new service (issue 24 item 4, "series with
exceptions" among the items in flight)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_from_exchange import occurrence_id, occurrences, series_of, synced_series
from tests.integration.test_series_sync import masters, shown, wall
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def _quiet(invoke: Invoke, env: dict[str, str], diego: str) -> None:
    code, found = sync(invoke, env)
    mine = found[diego]
    assert (code, mine["failures"], mine["created"], mine["updated"], mine["rolled_back"]) == (
        0,
        [],
        0,
        0,
        0,
    ), mine
    assert (mine["cancelled"], mine["exchange_edits"]) == (0, 0), mine


def test_review24n_a_series_with_exceptions_moves_to_graph_and_back_without_a_write(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room, series = synced_series(invoke, env, lab, addr, "O365")
    moved = {"start": wall("2027-03-23", 14)[0], "end": wall("2027-03-23", 14)[1]}
    edit = lab.admin(
        "PATCH", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-03-22')}", json=moved
    )
    assert edit.status_code == 200, edit.text
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-03-29')}")
    assert gone.status_code == 200, gone.text
    assert sync(invoke, env)[0] == 0
    answer(lab)
    _quiet(invoke, env, diego)
    held = occurrences(series_of(invoke, env, series))
    expected = [wall("2027-03-15"), wall("2027-03-23", 14), wall("2027-04-05"), wall("2027-04-12")]
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == expected, mailbox

    for to in ("graph", "ews"):
        run = invoke("--json", "sync", "migrate", "--to", to, "--person", diego, env=env)
        (person,) = json.loads(run.out)["persons"]
        assert (run.code, person["status"], person["relinked"]) == (0, "migrated", 1), run.out
        _quiet(invoke, env, diego)
        assert occurrences(series_of(invoke, env, series)) == held, to
        assert len(masters(lab, diego, diego)) == 1
        for mailbox in (diego, room):
            assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == expected, (to, mailbox)
        if to == "graph":  # an Outlook edit after the move is read over Graph
            moved = {"start": wall("2027-04-06", 15)[0], "end": wall("2027-04-06", 15)[1]}
            one = occurrence_id(lab, diego, "2027-04-05")
            assert lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{one}", json=moved).status_code == 200
            code, found = sync(invoke, env)
            assert (code, found[diego]["failures"], found[diego]["exchange_edits"]) == (0, [], 1), found
            answer(lab)
            _quiet(invoke, env, diego)
            held = occurrences(series_of(invoke, env, series))
            assert held[3] == (wall("2027-04-05")[0], wall("2027-04-06", 15)[0], "active"), held
            expected = [
                wall("2027-03-15"),
                wall("2027-03-23", 14),
                wall("2027-04-06", 15),
                wall("2027-04-12"),
            ]
    ok(invoke("sync", env=env))
