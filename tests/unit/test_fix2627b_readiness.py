"""fix2627b: `/healthz`'s readiness judged by each mailbox's last pass, not by which mailboxes a round happens to
work (review2627): a round's failed passes count (`Serve.failing_rounds`) only while more than half of the mailboxes
fail; a round with no pass, or whose passes all did their work while most mailboxes still fail, changes nothing.

Rounds as `Serve.tick` ends them (`_round_reports`, `_last` as `_account` leaves them), without Exchange: the
mixed tenant the lab tests (tests/integration/test_review2627_healthz_graph.py) do not build, 10 Graph mailboxes
failing while Graph is down and one EWS mailbox syncing every round."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from roomsops.adapters import store as db
from roomsops.core.logs import AuditLog
from roomsops.core.settings import load_settings
from roomsops.services.serve.service import Serve
from roomsops.services.serve.status import NOT_READY_AFTER
from roomsops.services.sync.engine import MailboxReport

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
GRAPH = [f"graph{i}@contoso.com" for i in range(10)]
EWS = "ews@contoso.com"


def service(tmp_path: Path, persons: dict[str, str]) -> Serve:
    serve = Serve(
        load_settings(environ={}),
        db.open_store(f"sqlite:///{tmp_path / 'rooms.db'}"),
        AuditLog(None),
        tmp_path / "sync.lock",
        lambda persons, services: None,  # type: ignore[arg-type,return-value]  # no pass runs here
        lambda: None,
        clock=lambda: T0,
    )
    serve.schedule.update(persons, {})
    return serve


def round_of(serve: Serve, ok: Iterable[str] = (), failed: Iterable[str] = ()) -> int:
    """A round whose passes did their work (`ok`) or failed: judged; the failing rounds after it."""
    reports = [MailboxReport(m) for m in ok] + [
        MailboxReport(m, error="Graph answered 503", error_code="graph_unavailable") for m in failed
    ]
    for report in reports:
        serve._last[report.mailbox.casefold()] = report
    serve._round_reports = reports
    serve._judge_passes()
    serve.ticks += 1
    return serve.failing_rounds


def test_most_mailboxes_failing_counts_the_rounds_with_their_passes_and_no_other(tmp_path: Path) -> None:
    serve = service(tmp_path, {**dict.fromkeys(GRAPH, "graph"), EWS: "ews"})
    seen = [round_of(serve, ok=[EWS], failed=GRAPH)]  # Graph down: 10 of 11 failing
    for _ in range(14):  # the Graph mailboxes wait serve.graph_interval; the EWS one syncs every round
        seen.append(round_of(serve, ok=[EWS]))
    seen.append(round_of(serve))  # a round with no pass at all
    seen.append(round_of(serve, ok=[EWS], failed=GRAPH))
    assert seen == [1] * 16 + [2], seen
    seen = [round_of(serve, ok=[EWS]) for _ in range(14)] + [round_of(serve, ok=[EWS], failed=GRAPH)]
    assert seen[-1] == NOT_READY_AFTER and set(seen[:-1]) == {2}, seen
    assert serve._failure is not None and "10 of 11 mailboxes failing" in serve._failure.message
    assert round_of(serve, ok=GRAPH[:6]) == 0  # Graph back: 4 of 11 failing, ready again


def test_one_mailbox_failing_alone_in_its_rounds_is_not_the_service_failing(tmp_path: Path) -> None:
    serve = service(tmp_path, {EWS: "ews", **dict.fromkeys(GRAPH[:2], "graph")})
    seen = [round_of(serve, ok=GRAPH[:2], failed=[EWS])]
    seen += [round_of(serve, failed=[EWS]) for _ in range(2 * NOT_READY_AFTER)]
    assert seen == [0] * (1 + 2 * NOT_READY_AFTER), seen
    # the other two fail too: every mailbox of the tenant fails
    assert [round_of(serve, failed=[EWS, *GRAPH[:2]]) for _ in range(NOT_READY_AFTER)] == [1, 2, 3]
