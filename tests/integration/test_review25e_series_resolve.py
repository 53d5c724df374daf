"""review25e: attacks on fix25b (a series changed on both sides: differences per occurrence, `sync diff`,
`sync resolve --use exchange`), over EWS and Graph against the lab. Each test pinned one defect, fixed by fix25f."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_fix25b_series_conflicts import move_in_outlook
from tests.integration.test_series_from_exchange import MODES, occurrences, series_of, synced_series
from tests.integration.test_series_sync import masters, shown, wall
from tests.integration.test_sync_rooms20_a import sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

#: (mode, the lab's protocol, its operation updating a meeting)
UPDATES = [("O365", "ews", "UpdateItem"), ("Microsoft365", "graph", "events.update")]


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def both_changed(invoke: Invoke, env: dict[str, str], lab: LabHelper, diego: str, series: int) -> None:
    """Outlook moves Mon 2027-03-22 to Tue 2027-03-23 14:00 and retitles the series "Review" while ROOMS retitles
    it "Weekly": the pass writes ROOMS' series and records Outlook's edit as one difference."""
    move_in_outlook(lab, diego, "2027-03-22", "2027-03-23", 14)
    (master,) = masters(lab, diego, diego)
    edit = lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{master['id']}", json={"subject": "Review"})
    assert edit.status_code == 200, edit.text
    ok(invoke("bookings", "update", str(series), "--title", "Weekly", env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["differences"]) == (0, 1), found


@pytest.mark.parametrize(("mode", "protocol", "update"), UPDATES, ids=["ews", "graph"])
def test_review25e_a_resolve_write_lost_after_the_master_still_writes_the_occurrence_later(
    invoke: Invoke,
    env: dict[str, str],
    graph_lab: LabHelper,
    addr: Addr,
    mode: str,
    protocol: str,
    update: str,
) -> None:
    """The resolve takes Outlook's moved occurrence into ROOMS and writes the series; the connection drops after
    the master's update landed (its answer lost), before the occurrence is written. The resolve fails (exit 1),
    ROOMS holds the occurrence at Tue 14:00 — so the next passes must bring Exchange there. Today they find nothing
    to do ("unchanged") and Exchange keeps the occurrence at Mon 09:00: ROOMS and Exchange disagree with no report."""
    lab = graph_lab
    diego, _room, series = synced_series(invoke, env, lab, addr, mode)
    both_changed(invoke, env, lab, diego, series)
    lab.fault(protocol=protocol, operation=update, kind="drop_after", count=1)
    assert invoke("sync", "resolve", str(series), "--use", "exchange", env=env).code == 1
    assert lab.admin("GET", "faults").json() == []  # the fault struck the resolve
    held = series_of(invoke, env, series)
    assert (held["title"], occurrences(held)[1]) == (
        "Review",
        (wall("2027-03-22")[0], wall("2027-03-23", 14)[0], "active"),
    ), held
    for _ in range(2):
        sync(invoke, env)
    days = [
        wall("2027-03-15"),
        wall("2027-03-23", 14),
        *(wall(d) for d in ("2027-03-29", "2027-04-05", "2027-04-12")),
    ]
    assert shown(lab, diego, "2027-03-14T00:00", "2027-04-20T00:00") == days


@pytest.mark.parametrize("mode", MODES)
def test_review25e_b_resolve_of_an_occurrence_rooms_new_pattern_dropped_is_not_a_silent_success(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """Outlook moves Mon 2027-03-22 to Tue 2027-03-23 14:00 while ROOMS changes the pattern to Tuesdays. The pass
    writes ROOMS' series and records the move as a difference keyed by Mon 03-22, which ROOMS' series no longer has.
    `sync diff` says "ROOMS: 09:00–10:00" for it (false: ROOMS has no Monday), and `sync resolve --use exchange`
    exits 0 "settled, using exchange" while nothing of Exchange's state was taken. Either the resolve takes the
    move (an occurrence at Tue 03-23 14:00 in ROOMS) or it refuses (exit 1, the difference kept)."""
    lab = graph_lab
    diego, _room, series = synced_series(invoke, env, lab, addr, mode)
    move_in_outlook(lab, diego, "2027-03-22", "2027-03-23", 14)
    ok(invoke("bookings", "update", str(series), "--weekly", "tue", env=env))
    code, found = sync(invoke, env)
    assert code == 0, found
    listed = ok(invoke("sync", "diff", env=env)).out
    monday = [line for line in listed.splitlines() if "occurrence Mon 2027-03-22" in line]
    assert not [line for line in monday if "ROOMS: 09:00–10:00" in line], listed
    resolved = invoke("sync", "resolve", str(series), "--use", "exchange", env=env)
    starts = [o[1] for o in occurrences(series_of(invoke, env, series)) if o[2] == "active"]
    assert resolved.code == 1 or wall("2027-03-23", 14)[0] in starts, (resolved.out, starts)


@pytest.mark.parametrize("mode", MODES)
def test_review25e_c_resolve_does_not_put_two_occurrences_of_a_series_on_one_slot(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """ROOMS moves the 03-29 occurrence to Tue 03-23 14:00 while Outlook moves the 03-22 one there too. The pass
    writes ROOMS' series and records Outlook's move; `sync resolve --use exchange` then books both occurrences at
    Tue 14:00–15:00 — one series holding the room twice at once, which `bookings update --occurrence` and Exchange
    (ErrorOccurrenceCrossingBoundary) refuse. It must refuse (exit 1, nothing changed) instead."""
    lab = graph_lab
    diego, _room, series = synced_series(invoke, env, lab, addr, mode)
    moved = ["--start", "2027-03-23T14:00", "--end", "2027-03-23T15:00"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-29", *moved, env=env))
    move_in_outlook(lab, diego, "2027-03-22", "2027-03-23", 14)
    code, found = sync(invoke, env)
    assert (code, found[diego]["differences"]) == (0, 1), found
    invoke("sync", "resolve", str(series), "--use", "exchange", env=env)
    starts = [o[1] for o in occurrences(series_of(invoke, env, series)) if o[2] == "active"]
    assert len(starts) == len(set(starts)), starts
