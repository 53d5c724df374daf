"""review19x: an occurrence moved in ROOMS while Outlook deleted it fails every pass for good, and the remedy fails too.

What happens (EWS and Graph alike): a synced weekly series; in ROOMS `bookings update --occurrence 2027-04-05` moves
that occurrence to 15:00, and in Outlook the organizer deletes the same occurrence, before the next pass. Every pass
then fails the booking with a raw backend answer — EWS: "EWS answered ErrorCalendarOccurrenceIsDeletedFromRecurrence:
The occurrence was deleted from the recurrence."; Graph: "update: the series has no occurrence at
2027-04-05T07:00:00Z to write" — the link stays `pending-update`, and `sync diff` offers `sync resolve --use
rooms`, which fails the same way (exit 1, "Error: ..." without a remedy). ROOMS holds the room on 2027-04-05
15:00-16:00 while neither the organizer's nor the room's calendar has that occurrence: nothing converges, ever.

What Exchange/ROOMS would do: docs/sync.md / issue 19 item 5: a field both sides changed is ROOMS' ("ROOMS wins") and
the pass writes the booking; docs/series.md "Conflicts and differences of a series": `--use rooms` "rewrites the
meeting from the booking". Exchange cannot update a deleted occurrence (ews-ref/responsecode:
ErrorCalendarOccurrenceIsDeletedFromRecurrence; Graph has no instance left to PATCH), but a series written again
with its recurrence (as roomsops does for a new pattern, issue 25 item 2: "changing the pattern re-writes the series
and re-applies surviving exceptions") brings every occurrence back — so ROOMS' side can be written. Alternatively the
engine could take Outlook's deletion (a conflict for the conflict behaviour). Either way a pass must settle it, and
an error must name a remedy that works (project rule: "Error: <problem> — <remedy>").

Why it matters: an organizer deleting one occurrence ("no jour fixe at Easter") while the room manager moves it in
ROOMS is ordinary; afterwards the booking is stuck for good (I5 convergence), every sync run exits 1 and the slot
ROOMS holds is free in Exchange (I2).
"""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_from_exchange import MODES, occurrence_id, series_of, synced_series
from tests.integration.test_series_sync import masters, shown
from tests.integration.test_sync_rooms20_a import answer, links, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


#: ROOMS' unwritten change of the occurrence of 2027-04-05 (09:00 Europe/Zurich): a move, or its own title.
CHANGES = {
    "move": (["--start", "2027-04-05T15:00", "--end", "2027-04-05T16:00"], "move to 2027-04-05 15:00–16:00"),
    "retitle": (["--title", "Easter"], "title 'Easter'"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("mode", MODES)
def test_review19x_an_occurrence_moved_in_rooms_and_deleted_in_outlook_settles(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str, change: str
) -> None:
    """Fixed by fix19z (docs/series.md, "An occurrence deleted in Outlook is taken"): Outlook's deletion is taken —
    the occurrence cancelled in ROOMS, ROOMS' change of it dropped and said in the summary with the command that
    books the slot again — and the pass settles; `resolve --use rooms` has nothing to write: one `Error: … — …`
    line, exit 2, nothing changed."""
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    options, dropped = CHANGES[change]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-04-05", *options, env=env))
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-04-05')}")
    assert gone.status_code == 200, gone.text
    answer(lab)
    notices = []
    for _ in range(2):
        code, found = sync(invoke, env)
        answer(lab)
        assert (code, found[diego]["failures"]) == (0, []), found[diego]
        notices += found[diego]["notices"]
    assert len(notices) == 1, notices
    assert "2027-04-05 09:00" in notices[0] and "deleted in Outlook" in notices[0], notices
    assert f"ROOMS' {dropped} was not written" in notices[0], notices
    assert "roomsops bookings add --organizer" in notices[0], notices
    held = series_of(invoke, env, series)
    resolved = invoke("sync", "resolve", str(series), "--use", "rooms", env=env)
    assert resolved.code == 2 and resolved.err.startswith("Error: ") and " — " in resolved.err, resolved.err
    assert len(resolved.err.strip().splitlines()) == 1, resolved.err
    assert series_of(invoke, env, series) == held
    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["failures"], found[diego]["notices"]) == (0, [], []), found[diego]
    assert links(env)[series][0] == "linked", links(env)
    rows = held["series"]["occurrences"]
    assert [o["status"] for o in rows if o["original_start"].startswith("2027-04-05")] == ["cancelled"], rows
    booked = [
        (o["start"].replace("+00:00", "Z"), o["end"].replace("+00:00", "Z"))
        for o in rows
        if o["status"] == "active"
    ]
    assert len(booked) == len(rows) - 1, rows
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == booked, mailbox


#: (mode, the lab's protocol, its operation updating a meeting or an occurrence)
UPDATES = [("O365", "ews", "UpdateItem"), ("Microsoft365", "graph", "events.update")]


@pytest.mark.parametrize(("mode", "protocol", "update"), UPDATES, ids=["ews", "graph"])
def test_fix19z_an_occurrence_deleted_in_outlook_after_rooms_move_was_lost_settles(
    invoke: Invoke,
    env: dict[str, str],
    fresh_lab: LabHelper,
    addr: Addr,
    mode: str,
    protocol: str,
    update: str,
) -> None:
    """The pass writing ROOMS' move of the occurrence loses the answer (the move landed, the link stays
    `pending-update`); then the organizer deletes that occurrence in Outlook. The next pass would write the series
    again, exceptions included — onto an occurrence Exchange no longer has — so it takes Outlook's deletion as
    above: settled, said once, both calendars == ROOMS' active occurrences."""
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    options, _ = CHANGES["move"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-04-05", *options, env=env))
    lab.fault(protocol=protocol, operation=update, kind="drop_after", count=1)
    sync(invoke, env)
    assert lab.admin("GET", "faults").json() == []  # the fault struck the pass's write
    assert links(env)[series][0] == "pending-update", links(env)
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-04-05')}")
    assert gone.status_code == 200, gone.text
    answer(lab)
    notices = []
    for _ in range(2):
        code, found = sync(invoke, env)
        answer(lab)
        assert (code, found[diego]["failures"]) == (0, []), found[diego]
        notices += found[diego]["notices"]
    assert len(notices) == 1 and "2027-04-05 09:00" in notices[0], notices
    assert links(env)[series][0] == "linked", links(env)
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    booked = [
        (o["start"].replace("+00:00", "Z"), o["end"].replace("+00:00", "Z"))
        for o in rows
        if o["status"] == "active"
    ]
    assert len(booked) == len(rows) - 1, rows
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == booked, mailbox


@pytest.mark.parametrize("mode", MODES)
def test_fix19z_resolve_use_rooms_onto_an_occurrence_deleted_since_the_pass_is_refused_not_a_raw_error(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """A difference is open (the series retitled on both sides); ROOMS' move of 2027-04-05 is written; then the
    organizer deletes that occurrence. `resolve --use rooms` would write the moved occurrence onto one Exchange
    no longer has: refused in one `Error: … — …` line, exit 2, nothing changed; its remedy (a pass, then the
    resolve again) works."""
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    (master,) = masters(lab, diego, diego)
    edit = lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{master['id']}", json={"subject": "Review"})
    assert edit.status_code == 200, edit.text
    ok(invoke("bookings", "update", str(series), "--title", "Weekly", env=env))
    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["differences"]) == (0, 1), found[diego]
    options, _ = CHANGES["move"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-04-05", *options, env=env))
    assert sync(invoke, env)[0] == 0
    answer(lab)
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-04-05')}")
    assert gone.status_code == 200, gone.text
    held, calendar = series_of(invoke, env, series), shown(lab, diego, "2027-03-14T00:00", "2027-04-20T00:00")
    refused = invoke("sync", "resolve", str(series), "--use", "rooms", env=env)
    assert (
        refused.code == 2 and refused.err.startswith("Error: ") and " — run 'roomsops sync'" in refused.err
    ), refused.err
    assert len(refused.err.strip().splitlines()) == 1, refused.err
    assert (series_of(invoke, env, series), shown(lab, diego, "2027-03-14T00:00", "2027-04-20T00:00")) == (
        held,
        calendar,
    )
    assert sync(invoke, env)[0] == 0
    answer(lab)
    ok(invoke("sync", "resolve", str(series), "--use", "rooms", env=env))
    answer(lab)
    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["failures"]) == (0, []), found[diego]
    assert links(env)[series][0] == "linked", links(env)
    after = series_of(invoke, env, series)
    assert after["title"] == "Weekly", after
    booked = [
        (o["start"].replace("+00:00", "Z"), o["end"].replace("+00:00", "Z"))
        for o in after["series"]["occurrences"]
        if o["status"] == "active"
    ]
    assert len(booked) == 4, after
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == booked, mailbox
