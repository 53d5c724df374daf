"""fix24f (review24e, untested (b)): a mailbox whose address (userPrincipalName) begins with `$` is reached over
Graph as Microsoft documents it (graph/api/user-get): `/users/$x@y.com` is 400 Bad Request (OData reserves `$` for
system query options), `/users('$x@y.com')` is the user. The lab answers both as Graph does."""

from __future__ import annotations

import pytest

from roomsops.lab.graph.service import operation_of
from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, live, sync

pytestmark = pytest.mark.integration


def test_fix24f_a_person_whose_address_begins_with_dollar_syncs_over_graph(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    zurich = addr("room-zurich").lower()
    dollar = "$" + addr("AdeleV").lower().replace("adelev", "adminbot")
    lab.lab.tenant.add_mailbox(dollar, "Admin Bot")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", dollar, "--sync-mode", "Microsoft365", env=env))
    add_booking(invoke, env, dollar, zurich, DAY, "Planning")
    code, mailboxes = sync(invoke, env)
    assert code == 0 and mailboxes[dollar]["created"] == 1, mailboxes
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    assert len(live(lab, dollar)) == 1
    code, mailboxes = sync(invoke, env)  # the delta link Graph gave back works too
    assert code == 0 and mailboxes[dollar]["created"] == 0, mailboxes
    # The lab routes as Graph does: the slash form is no user (400), the quoted form is.
    assert operation_of("GET", f"/v1.0/users/{dollar}/events")[0] == "unknown"
    assert operation_of("GET", f"/v1.0/users('{dollar}')/events") == ("events.list", {}, dollar)
    assert operation_of("GET", "/v1.0/users('$o''brien@x.test')/events")[2] == "$o'brien@x.test"
