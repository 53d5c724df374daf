"""review24a: a person moved from EWS to Graph without `sync migrate` — `persons set --sync-mode Microsoft365`
(exit 0; "the pass heals such a switch by tag", commit fd6a5a1) or `sync.backend = "graph"` (README: "sends the
O365/O365Pull persons over Graph too").

The first pass over Graph finds each linked meeting again by its tag (adopted) — and then rewrites it from the
booking: an Outlook edit made since the last EWS pass is overwritten in Exchange and never reaches the booking (no
`exchange_edits`, no difference in `sync diff`). A lost update, silently; `sync migrate` keeps it (its first pass
is a full reconciliation against the stored snapshot), the heal path must too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=6, minute=0, second=0, microsecond=0)


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def organized(lab: LabHelper, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower() and not i.get("is_cancelled")]


@pytest.mark.parametrize("switch", ["persons set", "sync.backend"])
def test_an_outlook_edit_made_before_the_switch_to_graph_is_not_overwritten(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, switch: str
) -> None:
    lab = graph_lab
    diego, room = addr("DiegoS").lower(), addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(
        invoke(
            "bookings", "add", "--organizer", diego, "--room", room, "--title", "Planning",
            "--start", DAY.isoformat(), "--end", (DAY + timedelta(minutes=30)).isoformat(), env=env,
        )
    )  # fmt: skip
    ok(invoke("sync", env=env))  # over EWS
    (meeting,) = organized(lab, diego)
    edit = {"subject": "Planning (moved to Friday's agenda)"}
    assert (
        lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}", json=edit).status_code == 200
    )

    run_env = env
    if switch == "persons set":
        assert invoke("persons", "set", diego, "--sync-mode", "Microsoft365", env=env).code == 0
    else:
        run_env = {**env, "ROOMSOPS_SYNC_BACKEND": "graph"}
    run = invoke("--json", "sync", env=run_env)
    (report,) = json.loads(run.out)["mailboxes"]
    assert report["error"] is None and report["failures"] == [], report
    assert report["created"] == 0 and report["bookings_cancelled"] == 0

    (meeting,) = organized(lab, diego)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    differences = json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"]
    # The edit is applied to the booking (the room is free), or at the very least kept and shown — never undone.
    assert meeting["subject"] == edit["subject"], (report, meeting["subject"])
    assert booking["title"] == edit["subject"] or differences, (booking["title"], differences)
