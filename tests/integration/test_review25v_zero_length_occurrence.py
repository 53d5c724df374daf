"""review25v: one occurrence of a synced series made zero-length in Outlook (end = start).

docs/sync.md ("Outlook values"): "a synced one made zero-length is a conflict". For a single meeting it is; for an
occurrence of a series the pass writes the zero-length times into `booking_occurrences`, the CHECK constraint
refuses them, and every pass after fails the whole series booking with a raw database error (the link is `failed`,
no conflict rule applies, no remedy is given) — over EWS and Graph alike.
"""

from __future__ import annotations

import pytest

from tests.conftest import Invoke
from tests.integration.test_series_from_exchange import MODES, occurrence_id, series_of, synced_series
from tests.integration.test_series_sync import local, z
from tests.integration.test_sync_rooms20_a import links, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.mark.xfail(
    strict=True,
    reason="review25v: an occurrence made zero-length in Outlook fails its series on a CHECK constraint",
)
@pytest.mark.parametrize("mode", MODES)
def test_review25v_an_occurrence_made_zero_length_in_outlook_is_a_conflict_not_a_database_error(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, _, series = synced_series(invoke, env, lab, addr, mode)
    target = occurrence_id(lab, diego, "2027-04-05")
    moment = z(local("2027-04-05T09:00"))
    edit = lab.admin(
        "PATCH", f"/lab/mailboxes/{diego}/calendar/{target}", json={"start": moment, "end": moment}
    )
    assert edit.status_code == 200, edit.text
    for _ in range(2):
        _, found = sync(invoke, env)
        assert not [f for f in found[diego]["failures"] if "database error" in f], found[diego]["failures"]
        assert links(env)[series][0] != "failed", links(env)
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    assert [o["start"] < o["end"] for o in rows] == [True] * 5, rows
