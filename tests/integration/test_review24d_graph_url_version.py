"""review24d: `cloud.graph_url` given with Graph's version segment (`https://graph.microsoft.com/v1.0`, as every
Graph URL an administrator has seen spells it) is taken; every pass then fails each Microsoft365 mailbox with
"calendarView delta: HTTP 400 ... Resource not found for the segment 'delta'", and `config check` passes.

Steps: AdeleV in Microsoft365 with one booking; `ROOMSOPS_CLOUD_GRAPH_URL=<lab>/v1.0`. `roomsops sync`.

Expected (product.md: "bad input → one line `Error: <problem> — <remedy>`, exit 2, nothing changed"; the setting is
documented as "Microsoft Graph's endpoint (without /v1.0)", core/settings.py): refused as a setting, exit 2, the
message naming `cloud.graph_url` (e.g. "leave out /v1.0"), before any request.

Actual: the settings accept it; the client sends `<lab>/v1.0/v1.0/users/...`; the pass exits 1 with Graph's 400 on
each Graph person's mailbox and no word about the setting."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking

pytestmark = pytest.mark.integration


def test_review24d_a_graph_url_with_the_version_segment_is_refused_as_a_setting(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    adele, zurich = addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    add_booking(invoke, env, adele, zurich, DAY, "Planning")
    fresh_lab.reset_requests()
    run = invoke("sync", env={**env, "ROOMSOPS_CLOUD_GRAPH_URL": fresh_lab.base_url + "/v1.0"})
    assert run.code == 2, run.out + run.err
    assert "cloud.graph_url" in run.err
    assert not [k for k in fresh_lab.requests() if k.startswith("graph:")]
