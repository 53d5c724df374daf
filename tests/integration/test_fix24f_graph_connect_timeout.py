"""fix24f (review24e, untested (a)): Graph not answering the connect at all (a firewall that drops, a wrong
address) is "cannot connect" (exit 3), as a refused connection is — not a mailbox's failure (exit 1).

Deterministic without timing the outcome: cloud.graph_url names a port whose listener never accepts and whose
accept queue is full, so the kernel drops every further SYN: the connect can never complete, whatever the
machine's speed; only how long the test waits (network.timeout_seconds, 1) is time."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking

pytestmark = pytest.mark.integration


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose connects never complete: listen(0), its queue filled by connections never accepted."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    try:
        yield port
    finally:
        for s in [*fillers, server]:
            s.close()


def test_fix24f_a_connect_to_graph_that_times_out_is_cannot_connect_exit_3(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, silent_port: int
) -> None:
    adele, zurich = addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    add_booking(invoke, env, adele, zurich, DAY, "Planning")
    silent = {
        **env,
        "ROOMSOPS_CLOUD_GRAPH_URL": f"https://127.0.0.1:{silent_port}",
        "ROOMSOPS_NETWORK_TIMEOUT_SECONDS": "1",
    }
    run = invoke("sync", env=silent)
    assert "cannot reach Microsoft Graph" in run.out + run.err, run.out + run.err
    assert run.code == 3, run.out + run.err
