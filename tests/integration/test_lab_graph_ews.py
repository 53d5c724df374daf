"""One store, two faces (issue 23): a meeting made over EWS is read over Graph with the same fields and the sync's
tag, one made over Graph is read over EWS; and Graph is authorized exactly as EWS is (application access policies
with their delay, RBAC for Applications' scoped "Application Calendars.ReadWrite"), set up with the real cmdlets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from exchangelib import EWSDateTime, EWSTimeZone
from exchangelib.items import SEND_ONLY_TO_ALL, CalendarItem
from exchangelib.properties import Attendee, Mailbox

from roomsops.adapters.ews.tags import register_tags
from tests.graph_client import CSDL, GraphClient, report

from .conftest import LabHelper, address
from .test_lab_ews import EwsHelper, exchangelib_against
from .test_lab_graph import event, graph_client
from .test_lab_winrm import exception_message, exchange, run

pytestmark = pytest.mark.integration

BOOKING = "String {00020329-0000-0000-C000-000000000046} Name roomsops-booking"


@pytest.fixture(scope="module", autouse=True)
def csdl_report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report(request)
    assert CSDL.violations == [], CSDL.violations


@pytest.fixture
def both(fresh_lab: LabHelper) -> Iterator[tuple[EwsHelper, GraphClient]]:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    register_tags()
    with exchangelib_against(fresh_lab) as ews:
        yield ews, graph_client(fresh_lab)


def test_a_meeting_made_over_ews_reads_the_same_over_graph_and_back(
    both: tuple[EwsHelper, GraphClient], fresh_lab: LabHelper
) -> None:
    ews, graph = both
    diego, adele = address(fresh_lab, "DiegoS"), address(fresh_lab, "AdeleV")
    account = ews.account("DiegoS")
    start = EWSDateTime(2030, 3, 5, 9, 0, tzinfo=EWSTimeZone("UTC"))
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Made over EWS",
        body="from exchangelib",
        location="Room 1",
        start=start,
        end=start + dt.timedelta(hours=1),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=adele), response_type="Unknown")],
        roomsops_booking="b-17",
    )
    item.save(send_meeting_invitations=SEND_ONLY_TO_ALL)
    query = f"$filter=singleValueExtendedProperties/Any(ep: ep/id eq '{BOOKING}' and ep/value eq 'b-17')"
    (seen,) = graph.get(f"/users/{diego}/events?{query}&$expand=singleValueExtendedProperties").json()[
        "value"
    ]
    assert seen["subject"] == "Made over EWS" and seen["body"]["content"] == "from exchangelib"
    assert seen["location"]["displayName"] == "Room 1"
    assert (seen["start"]["dateTime"], seen["end"]["dateTime"]) == (
        "2030-03-05T09:00:00.0000000",
        "2030-03-05T10:00:00.0000000",
    )
    assert seen["organizer"]["emailAddress"]["address"] == diego
    assert [(a["type"], a["emailAddress"]["address"]) for a in seen["attendees"]] == [("required", adele)]
    assert {
        "id": "String {00020329-0000-0000-c000-000000000046} Name roomsops-booking",
        "value": "b-17",
    } in seen["singleValueExtendedProperties"]
    item.refresh()
    assert seen["changeKey"] == item.changekey and seen["iCalUId"] == item.uid
    # Graph refuses translateExchangeIds to app-only tokens; this checks the EWS and REST ids agree, so the
    # test-only lab setting lets this app call it.
    fresh_lab.settings(graph_translate_ids_app_only=True)
    translated = graph.post(
        f"/users/{diego}/translateExchangeIds",
        {"inputIds": [item.id], "sourceIdType": "ewsId", "targetIdType": "restId"},
    ).json()["value"]
    assert translated[0]["targetId"] == seen["id"]
    # A change over Graph is what EWS reads next.
    graph.patch(f"/users/{diego}/events/{seen['id']}", {"subject": "Changed over Graph"})
    item.refresh()
    assert item.subject == "Changed over Graph"
    (copy,) = graph.get(f"/users/{adele}/events").json()["value"]
    assert copy["subject"] == "Changed over Graph"  # the update reached the attendee


def test_a_meeting_made_over_graph_reads_the_same_over_ews(
    both: tuple[EwsHelper, GraphClient], fresh_lab: LabHelper
) -> None:
    ews, graph = both
    diego, adele = address(fresh_lab, "DiegoS"), address(fresh_lab, "AdeleV")
    body = event(
        "Made over Graph",
        "2030-03-06T14:00:00",
        "2030-03-06T15:30:00",
        body={"contentType": "text", "content": "from requests"},
        location={"displayName": "Room 2"},
        attendees=[{"emailAddress": {"address": adele, "name": "Adele"}, "type": "required"}],
        singleValueExtendedProperties=[{"id": BOOKING, "value": "b-18"}],
    )
    made = graph.post(f"/users/{diego}/events", body).json()
    (item,) = list(ews.account("DiegoS").calendar.all())
    assert (item.subject, item.body, item.location) == ("Made over Graph", "from requests", "Room 2")
    assert (item.start.isoformat(), item.end.isoformat()) == (
        "2030-03-06T14:00:00+00:00",
        "2030-03-06T15:30:00+00:00",
    )
    assert [a.mailbox.email_address for a in item.required_attendees] == [adele]
    assert (
        item.roomsops_booking == "b-18"
        and item.uid == made["iCalUId"]
        and item.changekey == made["changeKey"]
    )


def test_graph_is_authorized_by_access_policies_with_their_delay_and_by_rbac_scopes(
    both: tuple[EwsHelper, GraphClient], fresh_lab: LabHelper
) -> None:
    _, graph = both
    rooms = fresh_lab.app("rooms")
    diego, megan = address(fresh_lab, "DiegoS"), address(fresh_lab, "MeganB")
    with exchange(fresh_lab) as pool:
        group = run(
            pool, "New-DistributionGroup", Name="SyncIsAllowed", Type="Security", Members=["DiegoS", "AdeleV"]
        )
        assert not group.errors, [exception_message(e) for e in group.errors]
        # A policy made with a delay is not seen yet (Exchange's permission cache) ...
        fresh_lab.settings(policy_delay=3600)
        try:
            later = run(
                pool,
                "New-ApplicationAccessPolicy",
                AppId=[rooms["app_id"]],
                PolicyScopeGroupId="SyncIsAllowed",
                AccessRight="RestrictAccess",
            )
            assert not later.errors, [exception_message(e) for e in later.errors]
            assert graph.get(f"/users/{megan}/events").status_code == 200
            (policy,) = run(pool, "Get-ApplicationAccessPolicy").output
            assert not run(
                pool, "Remove-ApplicationAccessPolicy", Identity=policy["Identity"], Confirm=False
            ).errors
        finally:
            fresh_lab.settings(policy_delay=0)
        # ... one made without delay applies at once: the group's members only.
        restricted = run(
            pool,
            "New-ApplicationAccessPolicy",
            AppId=[rooms["app_id"]],
            PolicyScopeGroupId="SyncIsAllowed",
            AccessRight="RestrictAccess",
        )
        assert not restricted.errors, [exception_message(e) for e in restricted.errors]
        assert graph.get(f"/users/{diego}/events").status_code == 200
        outside = graph.get(f"/users/{megan}/events")
        assert (outside.status_code, outside.json()["error"]["code"]) == (403, "ErrorAccessDenied")
        assert "AccessPolicy" in outside.json()["error"]["message"]
        for policy in run(pool, "Get-ApplicationAccessPolicy").output:
            assert not run(
                pool, "Remove-ApplicationAccessPolicy", Identity=policy["Identity"], Confirm=False
            ).errors
        # RBAC for Applications alone: no tenant-wide Graph consent, a scoped Calendars.ReadWrite role.
        fresh_lab.admin(
            "POST",
            "consent",
            {
                "app_id": rooms["app_id"],
                "permission": "Calendars.ReadWrite",
                "grant": False,
                "resource": "graph",
            },
        )
        token = graph.token(fresh=True)
        assert graph.get(f"/users/{diego}/events", token=token).status_code == 403
        dn = str(run(pool, "Get-DistributionGroup", Identity="SyncIsAllowed").output[0]["DistinguishedName"])
        made = [
            run(
                pool,
                "New-ServicePrincipal",
                AppId=rooms["app_id"],
                ObjectId=rooms["object_id"],
                DisplayName="ROOMS",
            ),
            run(
                pool,
                "New-ManagementScope",
                Name="Sync scope",
                RecipientRestrictionFilter=f"MemberOfGroup -eq '{dn}'",
            ),
            run(
                pool,
                "New-ManagementRoleAssignment",
                App=rooms["object_id"],
                Role="Application Calendars.ReadWrite",
                CustomResourceScope="Sync scope",
            ),
        ]
        assert not any(r.errors for r in made), [exception_message(e) for r in made for e in r.errors]
    inside = graph.post(f"/users/{diego}/events", event("RBAC", "2030-03-04T09:00:00", "2030-03-04T10:00:00"))
    assert inside.status_code == 201
    scoped_out = graph.get(f"/users/{megan}/events")
    assert (scoped_out.status_code, scoped_out.json()["error"]["code"]) == (403, "ErrorAccessDenied")
