"""review26a: `roomsops serve`'s Graph subscriptions against the lab's Graph when Graph misbehaves: a create whose
answer is lost, a subscription Graph no longer has when its renewal comes. In this process with a clock the test
moves (as test_serve_webhook_lab's renewal test), counting subscriptions in the lab."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .test_lab_graph import graph_client
from .test_serve_webhook_lab import subscriptions

pytestmark = pytest.mark.integration


@pytest.fixture
def subs_of(fresh_lab: Any) -> Iterator[Callable[[list[datetime]], Any]]:
    """A factory of serve's `Subscriptions` against the lab's Graph, with the given clock, notifying a receiver
    of the test's on 127.0.0.1."""
    from roomsops.adapters.entra.tokens import credentials_from_app_settings, graph_token_provider
    from roomsops.adapters.graph.client import GraphClient
    from roomsops.core.settings import app_settings_path, load_settings
    from roomsops.services.serve.metrics import ServeMetrics
    from roomsops.services.serve.subscriptions import Subscriptions

    from .test_lab_graph_notifications import Receiver

    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    loaded = load_settings(str(fresh_lab.settings_path), environ={})
    credentials = credentials_from_app_settings(app_settings_path(None, loaded, {}), loaded, os.environ)
    client = GraphClient(loaded, graph_token_provider(credentials, loaded))
    receiver = Receiver(fresh_lab.dir)

    def make(
        now: list[datetime],
        path: str = "/notify",
        state_file: Path | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Any:
        """`path`: the notification URL's (the receiver answers on any); `state_file`: where they are kept;
        `sleep`: the Graph client's wait before a retry (given: a client of its own that calls it instead of
        sleeping, so a test counts the back-off a 503 asks for instead of waiting it out)."""
        url = receiver.url.replace("/notify", path)
        own = (
            client
            if sleep is None
            else GraphClient(loaded, graph_token_provider(credentials, loaded), sleep=sleep)
        )
        return Subscriptions(own, url, url, ServeMetrics(), lambda: now[0], state_file)

    try:
        yield make
    finally:
        receiver.close()


def test_review26a_a_create_whose_answer_is_lost_leaves_one_subscription(
    fresh_lab: Any, addr: Callable[[str], str], subs_of: Callable[[list[datetime]], Any]
) -> None:
    diego = addr("DiegoS")
    now = [datetime.now(UTC)]
    subs = subs_of(now)
    fresh_lab.fault(protocol="graph", operation="subscriptions.create", kind="drop_after", count=1)
    subs.keep([diego])  # the lost answer: failed this round or not, whatever it reports
    subs.keep([diego])  # the next round
    made = subscriptions(fresh_lab)
    subs.close(unsubscribe=True)
    left = subscriptions(fresh_lab)
    # POST /subscriptions is not idempotent: Graph made one on the lost attempt. One subscription per mailbox
    # (graph/api/subscription-post-subscriptions), and --unsubscribe-on-exit leaves none.
    assert (len(made), left) == (1, [])


def test_review26a_a_subscription_gone_at_its_renewal_is_made_again(
    fresh_lab: Any, addr: Callable[[str], str], subs_of: Callable[[list[datetime]], Any]
) -> None:
    from roomsops.services.serve.subscriptions import LIFETIME

    diego = addr("DiegoS")
    now = [datetime.now(UTC)]
    subs = subs_of(now)
    assert subs.keep([diego]) == [diego]
    (first,) = subscriptions(fresh_lab)
    # Graph no longer has it (here deleted by the app's own token; an expiry while the service was down or its
    # renewals failed ends the same way: graph/api/subscription-update answers 404 ResourceNotFound).
    assert graph_client(fresh_lab).delete(f"/subscriptions/{first['id']}").status_code == 204
    assert subscriptions(fresh_lab) == []

    now[0] += LIFETIME / 2 + timedelta(seconds=1)  # its renewal is due
    subs.keep([diego])
    subs.keep([diego])  # and a second round
    # Expected: a new subscription for Diego (a 404 at renewal means it is gone; only a new one brings
    # notifications back, graph/webhooks "renew ... or create a new subscription").
    assert [s["resource"] for s in subscriptions(fresh_lab)] == [first["resource"]]
    subs.close(unsubscribe=True)
