"""Review of issue 23, third round: a subscription's notifications when the app's rights change while it lives (consent
revoked) and after it is deleted."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from tests.graph_client import CSDL, GraphClient, report

from .conftest import LabHelper, address
from .test_lab_graph import event, graph_client
from .test_lab_graph_notifications import Receiver, expires
from .test_lab_winrm import exception_message, exchange, run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def csdl_report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report(request)
    assert CSDL.violations == [], CSDL.violations


@pytest.fixture
def receiver(fresh_lab: LabHelper) -> Iterator[Receiver]:
    running = Receiver(fresh_lab.dir)
    yield running
    running.close()


@pytest.fixture
def graph(fresh_lab: LabHelper) -> Iterator[GraphClient]:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    yield graph_client(fresh_lab)
    fresh_lab.admin("POST", "graph/reset")


def revoke_calendar_consent(lab: LabHelper, app_id: str) -> None:
    for permission in ("Calendars.ReadWrite", "Calendars.Read"):
        answer = lab.admin(
            "POST",
            "consent",
            {"app_id": app_id, "permission": permission, "grant": False, "resource": "graph"},
        )
        assert answer.status_code == 200, answer.text


def test_review23c_no_change_notification_reaches_an_app_whose_consent_was_revoked(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    """graph/webhooks-lifecycle: Graph asks the app to reauthorize (reauthorizationRequired) "when an
    administrator has revoked your app's permissions to read a resource", and change notifications stop until it
    does (a notification carries what changed in a mailbox the app may no longer read). The lab went on POSTing
    every change of Diego's calendar to the subscriber after the tenant revoked the app's Calendars.Read and
    Calendars.ReadWrite, and sent no reauthorizationRequired."""
    diego = address(fresh_lab, "DiegoS")
    made = graph.post(
        "/subscriptions",
        {
            "changeType": "created,updated,deleted",
            "notificationUrl": receiver.url,
            "lifecycleNotificationUrl": receiver.url,
            "resource": f"/users/{diego}/events",
            "expirationDateTime": expires(60),
            "clientState": "s",
        },
    )
    assert made.status_code == 201, made.text
    assert (
        graph.post(
            f"/users/{diego}/events", event("before", "2030-03-04T09:00:00", "2030-03-04T10:00:00")
        ).status_code
        == 201
    )
    receiver.wait(1)
    revoke_calendar_consent(fresh_lab, graph.client_id)
    # Diego changes his calendar (Outlook); the app may no longer read it.
    changed = fresh_lab.admin(
        "POST",
        f"/lab/mailboxes/{diego}/calendar",
        json={"subject": "private", "start": "2030-03-05T09:00:00Z", "end": "2030-03-05T10:00:00Z"},
    )
    assert changed.status_code == 201, changed.text
    # The lab's watcher looks at the mailbox every 0.1 s: 50 looks are a generous bound for a notification.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(receiver.notifications) < 2:
        time.sleep(0.1)
    after = [n for n in receiver.notifications[1:] if "lifecycleEvent" not in n]
    assert after == [], f"notified after consent was revoked: {[n['changeType'] for n in after]}"
    lifecycle = [n["lifecycleEvent"] for n in receiver.notifications if "lifecycleEvent" in n]
    assert lifecycle == ["reauthorizationRequired"], lifecycle


def test_review23c_a_subscription_is_not_renewed_with_a_token_that_lacks_the_calendar_permission(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    """graph/api/subscription-update: renewing needs the same permission as creating the subscription
    (Calendars.Read for /users/{id}/events). After the consent is revoked, a fresh token has no calendar role:
    the lab still renewed the subscription with it (200), so a revoked app keeps its subscription alive."""
    diego = address(fresh_lab, "DiegoS")
    made = graph.post(
        "/subscriptions",
        {
            "changeType": "created",
            "notificationUrl": receiver.url,
            "resource": f"/users/{diego}/events",
            "expirationDateTime": expires(60),
            "clientState": "s",
        },
    )
    assert made.status_code == 201, made.text
    revoke_calendar_consent(fresh_lab, graph.client_id)
    graph.token(fresh=True)
    renewed = graph.patch(f"/subscriptions/{made.json()['id']}", {"expirationDateTime": expires(120)})
    assert renewed.status_code == 403, renewed.text
    assert renewed.json()["error"]["code"] == "ErrorAccessDenied"


def test_review23c_a_deleted_subscription_s_notification_is_not_retried(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    """graph/api/subscription-delete: a deleted subscription notifies no more. The lab's delivery thread went on
    retrying a notification the subscriber had failed once, after the app deleted the subscription: the retry
    0.5 s later reached the subscriber (which had dropped its clientState and would treat it as forged).
    speed36b: counted, not waited for: the lab's delivery thread counts the retry it did not send
    (`stopped_deliveries`, at the first retry, 0.5 s after the failure), instead of 5 s of watching."""
    diego = address(fresh_lab, "DiegoS")
    made = graph.post(
        "/subscriptions",
        {
            "changeType": "created",
            "notificationUrl": receiver.url,
            "resource": f"/users/{diego}/events",
            "expirationDateTime": expires(60),
            "clientState": "s",
        },
    )
    assert made.status_code == 201, made.text
    receiver.fail_next = 1
    assert (
        graph.post(
            f"/users/{diego}/events", event("e", "2030-03-04T09:00:00", "2030-03-04T10:00:00")
        ).status_code
        == 201
    )
    deadline = time.monotonic() + 30
    while receiver.posts < 1:
        assert time.monotonic() < deadline, "the first notification never came"
        time.sleep(0.02)
    assert graph.delete(f"/subscriptions/{made.json()['id']}").status_code == 204
    # The lab's first retry, 0.5 s after the failure (the default back-off, far longer than the delete takes),
    # finds the subscription gone: it is counted and not sent.
    deadline = time.monotonic() + 30  # a hang guard, not a timing assumption
    while fresh_lab.admin("GET", "graph").json()["stopped_deliveries"] < 1 and not receiver.notifications:
        assert time.monotonic() < deadline, "the delivery neither stopped nor was delivered"
        time.sleep(0.02)
    assert receiver.notifications == [], "a deleted subscription's notification was delivered"
    assert receiver.posts == 1  # the first attempt only


def test_review23c_a_subscription_asking_for_resource_data_is_refused_not_made_without_it(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    """graph/change-notifications-with-resource-data: includeResourceData needs encryptionCertificate and
    encryptionCertificateId (Graph refuses the subscription with 400 without them), and the lab does not emulate
    encrypted notifications at all (FIDELITY "Not emulated"). The lab made the subscription (201) and answered
    includeResourceData false: a client asking for resource data got a subscription without it, silently."""
    diego = address(fresh_lab, "DiegoS")
    made = graph.post(
        "/subscriptions",
        {
            "changeType": "created",
            "notificationUrl": receiver.url,
            "resource": f"/users/{diego}/events",
            "expirationDateTime": expires(60),
            "clientState": "s",
            "includeResourceData": True,
        },
    )
    assert made.status_code == 400, made.text
    assert made.json()["error"]["code"] == "ValidationError"
    assert graph.get("/subscriptions").json()["value"] == []


def test_review23c_an_expiration_under_45_minutes_is_set_to_45_minutes(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    """graph/api/resources/subscription (expirationDateTime): "Any value under 45 minutes after the time of the
    request is automatically set to 45 minutes after the request time." The lab kept a 5-minute expiration (and
    renewed to 10 minutes), so a subscriber that renews on Graph's real schedule lost its subscription in the lab
    (and one tuned to the lab renews far too often against Graph)."""
    diego = address(fresh_lab, "DiegoS")
    before = dt.datetime.now(dt.UTC)
    made = graph.post(
        "/subscriptions",
        {
            "changeType": "created",
            "notificationUrl": receiver.url,
            "resource": f"/users/{diego}/events",
            "expirationDateTime": expires(5),
            "clientState": "s",
        },
    )
    assert made.status_code == 201, made.text

    def minutes(answer: dict[str, str]) -> float:
        moment = dt.datetime.fromisoformat(answer["expirationDateTime"].replace("Z", "+00:00"))
        return (moment - before).total_seconds() / 60

    assert minutes(made.json()) >= 44.9, made.json()["expirationDateTime"]
    renewed = graph.patch(f"/subscriptions/{made.json()['id']}", {"expirationDateTime": expires(10)})
    assert renewed.status_code == 200, renewed.text
    assert minutes(renewed.json()) >= 44.9, renewed.json()["expirationDateTime"]


def test_review23c_a_notification_given_up_on_is_followed_by_a_missed_lifecycle_notification(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    """graph/webhooks-lifecycle: "Microsoft Graph also sends another lifecycle notification, missed, if a change
    notification cannot be delivered to an app" (supported for Outlook events), so the app resynchronizes (delta).
    The lab gave up on the notification after its retries, counted it as failed, and told nobody: the app never
    learnt it had missed a change. The lab's retries wait 0.01, 0.02, 0.04 and 0.08 s (notification_back_off)
    instead of 0.5 to 4 s: what is asserted does not depend on the waits."""
    fresh_lab.settings(notification_back_off=0.01)
    lifecycle = Receiver(fresh_lab.dir)
    try:
        diego = address(fresh_lab, "DiegoS")
        made = graph.post(
            "/subscriptions",
            {
                "changeType": "created",
                "notificationUrl": receiver.url,
                "lifecycleNotificationUrl": lifecycle.url,
                "resource": f"/users/{diego}/events",
                "expirationDateTime": expires(60),
                "clientState": "s",
            },
        )
        assert made.status_code == 201, made.text
        receiver.fail_next = 1000  # the subscriber is down
        assert (
            graph.post(
                f"/users/{diego}/events", event("e", "2030-03-04T09:00:00", "2030-03-04T10:00:00")
            ).status_code
            == 201
        )
        deadline = time.monotonic() + 60
        while fresh_lab.admin("GET", "graph").json()["subscriptions"][0]["failed"] < 1:
            assert time.monotonic() < deadline, "the lab never gave up on the notification"
            time.sleep(0.1)
        (note,) = lifecycle.wait(1)
        assert (note["lifecycleEvent"], note["subscriptionId"], note["clientState"]) == (
            "missed",
            made.json()["id"],
            "s",
        )
        assert CSDL.check_collection({"value": [note]}, "changeNotification") == []
    finally:
        lifecycle.close()
    # the change notification sent 1 + RETRIES times, then the missed note once
    assert fresh_lab.admin("GET", "graph").json()["subscriptions"][0]["attempts"] == 6


@pytest.mark.parametrize("value", [-0.1, 61, "1"])
def test_the_labs_notification_back_off_takes_only_seconds_from_0_through_60(
    fresh_lab: LabHelper, value: object
) -> None:
    refused = fresh_lab.admin("POST", "settings", json={"notification_back_off": value})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "bad_field"), refused.text
    assert fresh_lab.admin("GET", "settings").json()["notification_back_off"] == 0.5


def test_review23c_an_access_policy_made_while_subscribed_stops_the_mailbox_s_notifications(
    graph: GraphClient, fresh_lab: LabHelper, receiver: Receiver
) -> None:
    """The same as a revoked consent, by an application access policy (the way ROOMS' tenants scope the app): a
    RestrictAccess policy to a group without Diego, made while the app is subscribed to Diego's events, stops his
    notifications (and asks for reauthorization); Adele, in the group, is still notified."""
    diego, adele = address(fresh_lab, "DiegoS"), address(fresh_lab, "AdeleV")
    lifecycle = Receiver(fresh_lab.dir)
    try:
        for who, url in ((diego, receiver.url), (adele, lifecycle.url)):
            made = graph.post(
                "/subscriptions",
                {
                    "changeType": "created",
                    "notificationUrl": url,
                    "lifecycleNotificationUrl": lifecycle.url,
                    "resource": f"/users/{who}/events",
                    "expirationDateTime": expires(60),
                    "clientState": who,
                },
            )
            assert made.status_code == 201, made.text
        with exchange(fresh_lab) as pool:
            group = run(pool, "New-DistributionGroup", Name="SyncOnly", Type="Security", Members=["AdeleV"])
            assert not group.errors, [exception_message(e) for e in group.errors]
            policy = run(
                pool,
                "New-ApplicationAccessPolicy",
                AppId=[graph.client_id],
                PolicyScopeGroupId="SyncOnly",
                AccessRight="RestrictAccess",
            )
            assert not policy.errors, [exception_message(e) for e in policy.errors]
        for who in (diego, adele):
            changed = fresh_lab.admin(
                "POST",
                f"/lab/mailboxes/{who}/calendar",
                json={
                    "subject": "after the policy",
                    "start": "2030-03-05T09:00:00Z",
                    "end": "2030-03-05T10:00:00Z",
                },
            )
            assert changed.status_code == 201, changed.text
        # Adele's notification and Diego's reauthorizationRequired both go to `lifecycle`.
        notes = lifecycle.wait(2)
        assert sorted(n.get("lifecycleEvent") or n["changeType"] for n in notes) == [
            "created",
            "reauthorizationRequired",
        ], notes
        assert [n["clientState"] for n in notes if n.get("lifecycleEvent")] == [diego]
        assert receiver.notifications == [], "Diego's change was notified outside the access policy"
    finally:
        lifecycle.close()
