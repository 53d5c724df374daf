"""issue 26: the start-up listing of the app's Graph subscriptions read only the first page of GET /subscriptions.
Graph pages collections on the server's side (graph/paging: read on while a page has an `@odata.nextLink`); the
lab pages its subscription list (here one a page), so an earlier process's subscriptions beyond the first page
were left behind, each notifying the webhook. Serve's `Subscriptions` against the lab's Graph, in the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .test_lab_graph import graph_client
from .test_review26a_subscriptions import subs_of
from .test_serve_webhook_lab import subscriptions

pytestmark = pytest.mark.integration
__all__ = ["subs_of"]  # the fixture, used by name


@pytest.fixture
def one_a_page(fresh_lab: Any) -> Iterator[None]:
    answer = fresh_lab.admin("POST", "graph/subscriptions/paging", json={"page_size": 1})
    assert answer.status_code == 200, answer.text
    try:
        yield
    finally:
        assert (
            fresh_lab.admin("POST", "graph/subscriptions/paging", json={"page_size": 100}).status_code == 200
        )


def test_the_lab_pages_the_subscription_list_by_next_links(
    fresh_lab: Any, addr: Callable[[str], str], subs_of: Callable[..., Any], tmp_path: Path, one_a_page: None
) -> None:
    mailboxes = [addr("DiegoS"), addr("AdeleV"), addr("MeganB")]
    assert subs_of([datetime.now(UTC)], "/notify", tmp_path / "a.json").keep(mailboxes) == mailboxes
    graph = graph_client(fresh_lab)
    pages, url = [], "/subscriptions"
    while url:
        page = graph.get(url).json()
        pages.append([s["id"] for s in page["value"]])
        url = page.get("@odata.nextLink", "")
    assert pages == [[s] for s in sorted(s["id"] for s in subscriptions(fresh_lab))]


def test_the_start_deletes_an_earlier_process_s_subscriptions_on_every_page(
    fresh_lab: Any, addr: Callable[[str], str], subs_of: Callable[..., Any], tmp_path: Path, one_a_page: None
) -> None:
    """An earlier process's three subscriptions at the same notification URL, their clientState not known to this
    one (another state file): all three are deleted at the start, not only the first page's one."""
    mailboxes = [addr("DiegoS"), addr("AdeleV"), addr("MeganB")]
    now = [datetime.now(UTC)]
    assert subs_of(now, "/notify", tmp_path / "earlier.json").keep(mailboxes) == mailboxes
    earlier = {s["id"] for s in subscriptions(fresh_lab)}
    assert len(earlier) == 3
    assert subs_of(now, "/notify", tmp_path / "later.json").keep(mailboxes) == mailboxes
    now_held = {s["id"] for s in subscriptions(fresh_lab)}
    assert (len(now_held), now_held & earlier) == (3, set())
