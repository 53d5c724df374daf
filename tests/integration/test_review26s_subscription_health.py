"""review26s: the status page calls a Graph subscription healthy while its renewals fail. `Subscriptions.keep`
records a failed renewal (or reauthorization) in `failures`, but `health()` shows a failure only for a mailbox
with no subscription at all: one that is still known — and is running out, renewals failing at every round — is
listed with its expiry and no problem (row class "ok") until Graph has dropped it. Issue 26 asks the page for
"subscription health"; the failure's text (and its remedy) is only in the log.

serve's subscriptions in this process against the lab's Graph, with a clock the test moves (as
test_serve_webhook_lab's renewal test): at half the lifetime the renewal is answered 500 by the lab (an injected
fault); the row the page is rendered from still has no problem."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from roomsops.adapters.entra.tokens import credentials_from_app_settings, graph_token_provider
from roomsops.adapters.graph.client import GraphClient
from roomsops.core.settings import app_settings_path, load_settings
from roomsops.services.serve.metrics import ServeMetrics
from roomsops.services.serve.status import Snapshot, SubscriptionRow, render_page
from roomsops.services.serve.subscriptions import Subscriptions

from .test_lab_graph_notifications import Receiver
from .test_serve_webhook_lab import count_operation, subscriptions

pytestmark = pytest.mark.integration


def test_review26s_a_failed_renewal_shows_on_the_subscription_row(
    fresh_lab: Any, addr: Callable[[str], str]
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    diego = addr("DiegoS")
    loaded = load_settings(str(fresh_lab.settings_path), environ={})
    credentials = credentials_from_app_settings(app_settings_path(None, loaded, {}), loaded, os.environ)
    client = GraphClient(loaded, graph_token_provider(credentials, loaded))
    now = [datetime.now(UTC)]
    metrics_ = ServeMetrics()
    receiver = Receiver(fresh_lab.dir)
    try:
        subs = Subscriptions(client, receiver.url, receiver.url, metrics_, lambda: now[0])
        assert subs.keep([diego]) == [diego]
        assert len(subscriptions(fresh_lab)) == 1
        (sub,) = subs._by_mailbox.values()
        fresh_lab.fault(protocol="graph", operation="subscriptions.update", kind="http_500", count=1)
        now[0] = sub.renew_at
        assert subs.keep([diego]) == []
        failed = count_operation(metrics_, "renew")
        rows = tuple(SubscriptionRow(*row) for row in subs.health())
        page = render_page(Snapshot(subscriptions=rows, webhook=True), {"ews": 60, "graph": 900})
        subs.close(unsubscribe=True)
    finally:
        receiver.close()
    assert failed == 1 and [s["id"] for s in subscriptions(fresh_lab)] == []
    ((mailbox, _, problem),) = ((r.mailbox, r.expires, r.problem) for r in rows)
    assert (mailbox, problem is not None) == (diego, True)
    assert f'<tr class="failed" data-subscription="{diego}">' in page
