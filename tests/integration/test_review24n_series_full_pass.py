"""review24n: over Graph, Outlook edits of a synced series' occurrences (one moved, one deleted) are never read by a
full reconciliation — neither by the recovery after a lost Graph delta position (410 syncStateNotFound) nor by
`sync --full` — so ROOMS keeps the old slots while the room holds the new one.

Steps: DiegoS syncs a weekly ROOMS series with Zürich (five Mondays); in Outlook he moves the 2027-03-22 occurrence
to 2027-03-23 14:00 and deletes the 2027-03-29 one; then either the Graph delta position is lost
(POST /lab/graph/delta/expire: the next delta read answers 410), or the admin runs `roomsops sync --full`, or (an
O365 person) the edits are made after the last EWS pass and the admin runs `sync migrate --to graph` and a pass, or
another room is added (`rooms add` forgets every mailbox's position since fix20q) before the next pass.

Expected (docs/series.md "Outlook edits of a series": an occurrence moved or deleted in Outlook is the booking's;
docs/sync.md: a recovery from a lost position, and `sync --full`, is a full reconciliation that compares "every
meeting of this installation with its booking"; issue 24's Graph faults: 410 on delta; the same without the fault
passes, test_series_from_exchange.py): the pass takes both edits (one moved, one cancelled occurrence).

Found: the pass is `pass_kind: full`, `unchanged: 1`, `exchange_edits: 0`; the booking keeps 03-22 09:00 and 03-29
active while Exchange (organizer and room) holds 03-23 14:00 and no 03-29: ROOMS shows the moved-to slot free and
the old ones taken, and no later pass reads the edits (the delta position is past them). Cause: `_reconcile_by_tag`
compares the master's fields with the snapshot (not the ChangeKey); over EWS the master's GetItem carries
ModifiedOccurrences/DeletedOccurrences, so an exception change shows (the same steps with O365 and `sync --full`
pass), but Graph's /events listing of a seriesMaster carries no exceptions, so the master reads as unchanged and
`series_exceptions` (the instances read) is never asked.
"""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_from_exchange import occurrence_id, occurrences, series_of, synced_series
from tests.integration.test_series_sync import shown, wall
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("mode", "how"),
    [("Microsoft365", "410"), ("Microsoft365", "full"), ("O365", "migrate"), ("Microsoft365", "rooms add")],
)
def test_review24n_series_edits_are_read_by_a_full_reconciliation(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str, how: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    moved = {"start": wall("2027-03-23", 14)[0], "end": wall("2027-03-23", 14)[1]}
    one = occurrence_id(lab, diego, "2027-03-22")
    assert lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{one}", json=moved).status_code == 200
    two = occurrence_id(lab, diego, "2027-03-29")
    assert lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{two}").status_code == 200
    if how == "410":
        assert lab.admin("POST", "graph/delta/expire").status_code == 200
        ok(invoke("sync", env=env))
    elif (
        how == "migrate"
    ):  # the edits made on EWS after its last pass; the first pass over Graph is a full one
        ok(invoke("sync", "migrate", "--to", "graph", "--person", diego, env=env))
        ok(invoke("sync", env=env))
    elif how == "rooms add":  # fix20q: every mailbox's position forgotten, the next pass a full one
        ok(invoke("rooms", "add", addr("room-genf"), "--name", "Genf", env=env))
        ok(invoke("sync", env=env))
    else:
        ok(invoke("sync", "--full", env=env))
    answer(lab)  # the room takes the Outlook edits (their updates reached it)
    held = [wall("2027-03-15"), wall("2027-03-23", 14), wall("2027-04-05"), wall("2027-04-12")]
    assert shown(lab, room, "2027-03-14T00:00", "2027-04-20T00:00") == held  # the room holds the edits
    assert occurrences(series_of(invoke, env, series)) == [
        (wall("2027-03-15")[0], wall("2027-03-15")[0], "active"),
        (wall("2027-03-22")[0], wall("2027-03-23", 14)[0], "active"),
        (wall("2027-03-29")[0], wall("2027-03-29")[0], "cancelled"),
        (wall("2027-04-05")[0], wall("2027-04-05")[0], "active"),
        (wall("2027-04-12")[0], wall("2027-04-12")[0], "active"),
    ]
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["updated"]) == (0, [], 0), found
