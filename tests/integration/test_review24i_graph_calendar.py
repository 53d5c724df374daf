"""review24i: the lab's Microsoft Graph has no `GET /users/{id | userPrincipalName}/calendar`, the one request of
`doctor`'s "Graph connection" check (fix24h, `graph_test.graph_connection_check`): it answers 400 BadRequest
"Resource not found for the segment 'calendar'". The check counts any answer of Graph as "reached", so `doctor` says
"Graph connection: ok" in the lab although the lab refused the request as malformed — the check's request is never
answered as Microsoft Graph answers it, and a wrong URL in it would pass every test.

Expected (Microsoft Graph v1.0 "Get calendar", graph/api/calendar-get: `GET /users/{id | userPrincipalName}/calendar`,
application permission Calendars.ReadBasic/Read/ReadWrite; /work/shared/reference/graph/v1.0-metadata.xml: `user`
has the navigation property `calendar` of type `graph.calendar`; lab.md: the lab answers what the product sends as
the service would): 200 with the user's default calendar (its `id`), as the lab answers `/users/{upn}/events`.

Actual: 400 BadRequest (`operation_of` has no route for `/calendar`)."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_graph_diagnostics import checks, consent
from .test_lab_graph import graph_client

pytestmark = pytest.mark.integration


def test_review24i_the_lab_answers_doctors_graph_connection_request_as_graph_does(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    adele = addr("AdeleV").lower()
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    # doctor (no --mailbox) checks Graph's connection with this one read of the Graph person's calendar.
    run = invoke("doctor", env=env)
    assert "Graph connection" in run.out, run.out
    graph = graph_client(fresh_lab)
    answer = graph.get(f"/users/{adele}/calendar?$select=id")
    assert answer.status_code == 200, (answer.status_code, answer.text[:300])
    assert answer.json().get("id")
    assert fresh_lab.requests().get("graph:calendar.get") == 2  # doctor's read and this one

    # fix24i: doctor says "ok" only for that 200 with an id; a 403 is "reached, not permitted", with the remedy.
    found = checks(invoke("--json", "doctor", env=env))["Graph connection"]
    assert found["status"] == "ok" and "calendar read" in found["message"], found
    consent(fresh_lab, "Calendars.ReadWrite", grant=False)
    try:
        run = invoke("--json", "doctor", env=env)
        found = checks(run)["Graph connection"]
        assert run.code == 1, run.out
        assert found["status"] == "failed" and "reached (TLS verified), not permitted" in found["message"], (
            found
        )
        assert "Calendars.ReadWrite" in found["remedy"], found
    finally:
        consent(fresh_lab, "Calendars.ReadWrite", grant=True)
