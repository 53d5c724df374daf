"""fix24j: the bounds of the read retries inside and of a $batch (review24j). A GET in a read $batch answered
500/502/504 goes in the next batch at most `GET_RETRIES` times; a create in a write $batch answered 500 never; the
waits before read retries count against the client's `retry_budget`, like the 429/503 waits. The lab's faults,
counted by the lab; the waits are recorded, never slept (jitter 1.0: each wait is its longest)."""

from __future__ import annotations

import pytest

from roomsops.adapters.graph.backend import GraphCalendar
from roomsops.adapters.graph.client import GET_RETRIES, GET_RETRY_BACK_OFF, JITTER, read_retries
from roomsops.core.calendar import BackendError

from .conftest import LabHelper, address
from .test_graph_backend import INSTALLATION, backend, counts, fields, graph_lab  # noqa: F401

pytestmark = pytest.mark.integration

#: The waits before the retries of a read.
WAITS = [GET_RETRY_BACK_OFF * 2**n * (1 + JITTER) for n in range(GET_RETRIES)]


def _two(lab: LabHelper, graph: GraphCalendar, diego: str) -> list[str]:
    made = [graph.create(diego, fields(lab, f"Two {n}", n), INSTALLATION, f"b{n}") for n in range(2)]
    return [m if isinstance(m, str) else m.item_id for m in made]


def test_fix24j_a_get_in_a_batch_is_sent_again_at_most_get_retries_times(graph_lab: LabHelper) -> None:  # noqa: F811
    lab = graph_lab
    sleeps: list[float] = []
    graph = backend(lab, sleeps)
    diego = address(lab, "DiegoS")
    ids = _two(lab, graph, diego)
    lab.reset_requests()
    retried = read_retries()
    # Both GETs of every batch answered 500, each one time more than retried: the read fails, bounded.
    lab.fault(protocol="graph", operation="events.get", kind="http_500", count=2 * (1 + GET_RETRIES))
    try:
        with pytest.raises(BackendError):
            graph.get(diego, ids)
    finally:
        lab.clear_faults()
    # Both GETs in each batch, each sent again (and counted) GET_RETRIES times, one wait per batch sent again.
    assert counts(lab, "batch", "events.get") == (1 + GET_RETRIES, 2 * (1 + GET_RETRIES))
    assert read_retries() - retried == 2 * GET_RETRIES and sleeps == WAITS


def test_fix24j_a_create_in_a_write_batch_answered_500_is_not_sent_again(graph_lab: LabHelper) -> None:  # noqa: F811
    lab = graph_lab
    sleeps: list[float] = []
    graph = backend(lab, sleeps)
    diego = address(lab, "DiegoS")
    lab.reset_requests()
    retried = read_retries()
    lab.fault(protocol="graph", operation="events.create", kind="http_500", count=1)
    try:
        results = graph.create_many(
            diego, [(fields(lab, f"Many {n}", n), INSTALLATION, f"m{n}") for n in range(2)]
        )
    finally:
        lab.clear_faults()
    assert sorted(isinstance(r, BackendError) for r in results) == [False, True]
    assert counts(lab, "batch", "events.create") == (1, 2)
    assert (read_retries() - retried, sleeps) == (0, [])


def test_fix24j_read_retry_waits_count_against_the_retry_budget(graph_lab: LabHelper) -> None:  # noqa: F811
    lab = graph_lab
    sleeps: list[float] = []
    # Room for the first retry's wait only: the second retry is not made, alone or in a batch.
    tight = backend(lab, sleeps, retry_budget=WAITS[0])
    diego = address(lab, "DiegoS")
    ids = _two(lab, tight, diego)
    # (ids read, the operation answered 500, how often: enough for both tries, requests seen, reads sent again)
    cases = (
        ([ids[0]], "events.get", 2, 2, 1),  # one GET alone
        (ids, "batch", 2, 2, 1),  # the $batch as a whole
        (ids, "events.get", 4, 4, 2),  # both GETs inside the $batch
    )
    for read, operation, faults, seen, again in cases:
        lab.reset_requests()
        sleeps.clear()
        retried = read_retries()
        lab.fault(protocol="graph", operation=operation, kind="http_500", count=faults)
        try:
            with pytest.raises(BackendError):
                tight.get(diego, read)
        finally:
            lab.clear_faults()
        assert counts(lab, operation) == (seen,)
        assert read_retries() - retried == again and sleeps == WAITS[:1]
