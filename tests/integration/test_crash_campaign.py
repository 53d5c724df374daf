"""The crash campaign (small size): `roomsops sync` SIGKILLed 3 times at random EWS requests of a 10-mailbox sync
with edits on both sides (ROOMS only in round 0; Outlook and both-sides edits from round 1), each kill followed by
a normal run; the invariant (tests/campaign.py) holds every time. Three rounds, not five, to keep the suite short:
rounds 3 and 4 repeated the edits of rounds 1 and 2. scripts/crash-campaign runs the full size (20 kills, 100
mailboxes) with the same code; `scripts/crash-campaign --mailboxes 10 --kills 5 --bookings-each 2 --seed 12
--concurrency 1` is the former suite size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.campaign import Size, campaign_env, run_campaign

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_three_kills_of_a_ten_mailbox_sync_keep_the_invariant(fresh_lab: Any, tmp_path: Path) -> None:
    env = campaign_env(tmp_path, fresh_lab.settings_path)
    result = run_campaign(
        fresh_lab, env, fresh_lab.info["tenant"]["domain"], tmp_path, Size(seed=12, kills=3)
    )
    report = "\n".join(result.lines())
    assert result.ok, report
    assert all(r.killed for r in result.rounds), report  # every kill landed inside a run
    assert len(result.rounds) == 3
    assert result.final.bookings >= 20 and result.final.meetings >= 15, report
