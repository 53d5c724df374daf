"""review24h: Microsoft Graph not answering the connect at all (a firewall that drops) for the commands beside
`sync` that reach it. fix24f made `sync` exit 3 ("cannot reach Microsoft Graph"); `sync test`, `doctor --mailbox` and
`sync migrate` do too. `auth test --mailbox` of a Microsoft365 person does not: it shows "Graph connection: cannot
reach Microsoft Graph: timed out" and exits 1, while the same command for an O365 person whose EWS cannot be
reached exits 3 (checked by hand against the lab: `ROOMSOPS_CLOUD_EWS_URL` on the same silent port).

Expected (/work/shared/design/style.md, product.md: "Exit codes 0 ok, 1 ran but something failed, 2 bad input, 3 could
not connect/authenticate"; the EWS probe of the same command; `sync test` of the same mailbox): exit 3.

Actual: roomsops/cli/auth.py folds `graph_test.graph_sync_test`'s report into one check (`summarize`) and drops
its `unreachable`, so the result is only "failed" (exit 1).

`doctor` (no --mailbox) with a Microsoft365 person checks the Exchange (EWS) connection — with EWS unreachable it
exits 3 — but never Graph's: Graph unreachable, it says "all checks passed" and exits 0 (issue 24 item 3: "`doctor`
reports per mode")."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_fix24f_graph_connect_timeout import silent_port  # noqa: F401 (a fixture)
from .test_sync_rooms20_a import DAY, add_booking

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "command",
    [
        ["auth", "test", "--mailbox", "{adele}"],
        ["sync", "test", "{adele}"],
        ["doctor"],
        ["doctor", "--mailbox", "{adele}"],
        ["sync", "migrate", "--to", "graph", "--person", "{diego}"],
    ],
)
def test_review24h_graph_unreachable_is_exit_3(
    invoke: Invoke,
    env: dict[str, str],
    fresh_lab: LabHelper,
    addr: Addr,
    silent_port: int,  # noqa: F811
    command: list[str],
) -> None:
    adele, diego, zurich = addr("AdeleV").lower(), addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    # A link over EWS: the migration must look it up over Graph.
    ok(invoke("sync", "--person", diego, env=env))
    silent = {
        **env,
        "ROOMSOPS_CLOUD_GRAPH_URL": f"https://127.0.0.1:{silent_port}",
        "ROOMSOPS_NETWORK_TIMEOUT_SECONDS": "1",
    }
    args = [a.format(adele=adele, diego=diego) for a in command]
    run = invoke(*args, env=silent)
    assert run.code == 3, (run.code, run.out[-1500:], run.err[-1500:])
