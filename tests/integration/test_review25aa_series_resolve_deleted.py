"""review25aa: `sync resolve --use exchange` of an occurrence Outlook deleted while ROOMS moved the whole series says
"settled, using exchange" and keeps the occurrence on both sides.

What happens (EWS and Graph alike): a synced weekly series (Mondays 09:00, 2027-03-15 to 2027-04-12). ROOMS moves
the series to 11:00 (`bookings update ID --start … --end …`, unwritten) and the organizer deletes the occurrence of
2027-04-05 in Outlook. The pass writes ROOMS' new times (ROOMS wins; the recurrence written again brings the deleted
occurrence back, as docs/series.md says) and records Outlook's deletion as a `both_changed` difference naming
`occurrence:2027-04-05T07:00:00+00:00`. The administrator chooses Outlook's side: `sync resolve 1 --use exchange`
answers "1 difference(s) settled, using exchange" (exit 0) — yet ROOMS still holds 2027-04-05 active and the
organizer's and the room's calendars still show it at 11:00. `resolve._exchange_occurrences` matches the deleted
occurrence by its original start (09:00), which ROOMS' series no longer has after its move to 11:00, and leaves it
out as "as ROOMS has it (no occurrence there)" — but ROOMS has that Monday's occurrence, at 11:00.

What should be (docs/series.md, "Conflicts and differences of a series"): `--use exchange` takes "Exchange's state
of each named occurrence (… cancelled when deleted)": the Monday 2027-04-05 occurrence cancelled in ROOMS and deleted
from the organizer's and the room's calendars — or, if it cannot be taken, the resolve refuses and keeps the
difference; never "settled" with Outlook's deletion dropped."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_from_exchange import MODES, occurrence_id, series_of, synced_series
from tests.integration.test_series_sync import shown, wall
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", MODES)
def test_resolve_use_exchange_takes_the_deletion_after_rooms_moved_the_series(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    ok(
        invoke(
            "bookings",
            "update",
            str(series),
            "--start",
            "2027-03-15T11:00",
            "--end",
            "2027-03-15T12:00",
            env=env,
        )
    )
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-04-05')}")
    assert gone.status_code == 200, gone.text
    answer(lab)
    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["failures"], found[diego]["differences"]) == (0, [], 1), found[diego]
    ok(invoke("sync", "resolve", str(series), "--use", "exchange", env=env))
    answer(lab)
    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["failures"]) == (0, []), found[diego]
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    easter = [o["status"] for o in rows if o["start"].startswith("2027-04-05")]
    assert easter == ["cancelled"], rows
    # Outlook's deletion kept at ROOMS' new times: the four other Mondays at 11:00, none on 2027-04-05.
    expected = [wall(day, 11) for day in ("2027-03-15", "2027-03-22", "2027-03-29", "2027-04-12")]
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == expected, mailbox
