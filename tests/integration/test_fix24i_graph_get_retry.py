"""fix24i: the Graph client sends an idempotent GET again after an HTTP 500 or a dropped connection, a bounded
number of times (`GET_RETRIES`), each retry counted; a write (POST/PATCH/DELETE) never: its lost or failed answer
is the caller's (the pending intent, the tag lookup, the transactionId). The lab's faults on `events.list` (the tag
lookup, `find_tagged`), counted by the lab; the waits are recorded, never slept."""

from __future__ import annotations

import pytest

from roomsops.adapters.graph.client import GET_RETRIES, GET_RETRY_BACK_OFF, JITTER, read_retries
from roomsops.core.calendar import BackendError

from .conftest import LabHelper, address
from .test_graph_backend import INSTALLATION, backend, counts, fields, graph_lab  # noqa: F401

pytestmark = pytest.mark.integration

#: The waits before the retries (the test's jitter is 1.0: each wait is its longest).
WAITS = [GET_RETRY_BACK_OFF * 2**n * (1 + JITTER) for n in range(GET_RETRIES)]


@pytest.mark.parametrize("fault", ["http_500", "drop_before", "drop_after"])
def test_fix24i_a_get_is_sent_again_after_a_500_or_a_dropped_connection_at_most_get_retries_times(
    graph_lab: LabHelper,  # noqa: F811
    fault: str,
) -> None:
    lab = graph_lab
    sleeps: list[float] = []
    graph = backend(lab, sleeps)
    diego = address(lab, "DiegoS")
    graph.create(diego, fields(lab, "Tagged", 0), INSTALLATION, "b1")
    lab.reset_requests()
    # As many failures as there are retries: the last retry is answered.
    retried = read_retries()
    lab.fault(protocol="graph", operation="events.list", kind=fault, count=GET_RETRIES)
    assert [m.booking_id for m in graph.find_tagged(diego, INSTALLATION)] == ["b1"]
    assert counts(lab, "events.list") == (1 + GET_RETRIES,)
    assert read_retries() - retried == GET_RETRIES and sleeps == WAITS
    # One failure more: bounded; the pass gets the port's error, nothing more is sent.
    lab.clear_faults()
    lab.reset_requests()
    sleeps.clear()
    lab.fault(protocol="graph", operation="events.list", kind=fault, count=GET_RETRIES + 1)
    with pytest.raises(BackendError):
        graph.find_tagged(diego, INSTALLATION)
    assert counts(lab, "events.list") == (1 + GET_RETRIES,)
    assert sleeps == WAITS
    lab.clear_faults()


def test_fix24i_a_write_answered_500_is_not_sent_again(graph_lab: LabHelper) -> None:  # noqa: F811
    lab = graph_lab
    sleeps: list[float] = []
    graph = backend(lab, sleeps)
    diego = address(lab, "DiegoS")
    lab.reset_requests()
    retried = read_retries()
    lab.fault(protocol="graph", operation="events.create", kind="http_500", count=1)
    with pytest.raises(BackendError) as raised:
        graph.create(diego, fields(lab, "Once", 0), INSTALLATION, "b1")
    assert raised.value.reason == "failed"
    assert counts(lab, "events.create") == (1,)
    assert (read_retries() - retried, sleeps) == (0, [])
    lab.clear_faults()
