"""The lab's EWS driven by the real exchangelib 5.6 (app-only OAuth through msal, impersonation).

What the tests assert about mailboxes they read through the lab's admin API (GET /lab/mailboxes/<email>/calendar),
never through exchangelib's own reading of EWS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import msal
import pytest
import requests
from exchangelib import (
    IMPERSONATION,
    OAUTH2,
    UTC,
    Account,
    Attendee,
    CalendarItem,
    Configuration,
    EWSDateTime,
    ExtendedProperty,
    FailFast,
    FaultTolerance,
    Identity,
    Mailbox,
    Q,
    Version,
)
from exchangelib.credentials import OAuth2Credentials
from exchangelib.errors import (
    ErrorCalendarViewRangeTooBig,
    ErrorImpersonateUserDenied,
    ErrorInvalidExchangeImpersonationHeaderData,
    ErrorInvalidSyncStateData,
    ErrorIrresolvableConflict,
    ErrorItemNotFound,
    ErrorNameResolutionNoResults,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorSubscriptionNotFound,
    MalformedResponseError,
    RateLimitError,
    UnauthorizedError,
)
from exchangelib.items import SEND_ONLY_TO_ALL, SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.protocol import BaseProtocol, CachingProtocol
from exchangelib.version import EXCHANGE_O365

from roomsops.lab.tenant import TenantState, decode, encode

from .conftest import LabHelper
from .test_lab_winrm import exchange, run

pytestmark = pytest.mark.integration

H = dt.timedelta(hours=1)


def monday_ahead(days: int) -> EWSDateTime:
    """08:00 UTC on the first Monday at least `days` ahead."""
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)
    day += dt.timedelta(days=(7 - day.weekday()) % 7)
    return EWSDateTime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)


def z(moment: dt.datetime) -> str:
    """A UTC time as the lab stores it (`...Z`)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def at_plus_one(moment: dt.datetime) -> str:
    """A UTC time written with the offset +01:00 (as an Outlook in Zürich would send it in winter)."""
    plain = dt.datetime.fromisoformat(z(moment).replace("Z", "+00:00"))
    return plain.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()


# A Monday four weeks ahead or more: inside a room's booking window (180 days, as in Exchange Online), and a week
# nothing else books.
MONDAY = monday_ahead(28)


class SyncTag(ExtendedProperty):
    """The tag roomsops puts on its meetings: a named string property in PublicStrings."""

    distinguished_property_set_id = "PublicStrings"
    property_name = "X-Roomsops-Booking"
    property_type = "String"


if "booking_tag" not in [f.name for f in CalendarItem.FIELDS]:
    CalendarItem.register("booking_tag", SyncTag)


class MsalCredentials(OAuth2Credentials):
    """exchangelib OAuth2 credentials whose token comes from msal (exchangelib never fetches one itself)."""

    EARLY_EXPIRY = (
        300  # msal renews a token with less than 5 minutes left; expire exchangelib's copy then too
    )

    def __init__(
        self, app: msal.ConfidentialClientApplication, scope: str, identity: Identity | None = None
    ) -> None:
        super().__init__(client_id=app.client_id, client_secret=None, identity=identity)
        self._app = app
        self._scope = scope

    def _token(self) -> dict[str, Any]:
        result = self._app.acquire_token_for_client([self._scope])
        if "access_token" not in result:
            raise UnauthorizedError(
                f"token request failed: {result.get('error')}: {result.get('error_description')}"
            )
        ttl = max(int(result["expires_in"]) - self.EARLY_EXPIRY, 1)
        return {
            "access_token": result["access_token"],
            "token_type": "Bearer",
            "expires_in": ttl,
            "expires_at": time.time() + ttl,
        }

    def session_params(self) -> dict[str, Any]:
        with self.lock:
            self.access_token = self._token()
            return {"token": self.access_token}


def ca_adapter(ca: str) -> type[requests.adapters.HTTPAdapter]:
    """An adapter that verifies with the lab's CA whatever REQUESTS_CA_BUNDLE says (exchangelib's sessions trust
    the environment)."""

    class LabCaAdapter(requests.adapters.HTTPAdapter):
        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            super().cert_verify(conn=conn, url=url, verify=ca, cert=cert)

        def get_connection_with_tls_context(
            self, request: Any, verify: Any, proxies: Any = None, cert: Any = None
        ) -> Any:
            return super().get_connection_with_tls_context(request, verify=ca, proxies=proxies, cert=cert)

    return LabCaAdapter


class EwsHelper:
    """exchangelib against the lab: accounts, the admin API's view of calendars, raw SOAP when needed."""

    def __init__(self, lab: LabHelper) -> None:
        self.lab = lab
        self.endpoint = str(lab.info["endpoints"]["ews"])
        self.domain = str(lab.info["tenant"]["domain"])

    def address(self, local: str) -> str:
        return f"{local}@{self.domain}"

    def msal_app(self, name: str = "rooms") -> msal.ConfidentialClientApplication:
        app = self.lab.app(name)
        return msal.ConfidentialClientApplication(
            app["app_id"],
            client_credential=app["secret"],
            authority=self.lab.authority,
            instance_discovery=False,
            http_client=self.lab.http(),
        )

    def config(
        self, retry_policy: Any = None, app: msal.ConfidentialClientApplication | None = None
    ) -> Configuration:
        return Configuration(
            credentials=MsalCredentials(app or self.msal_app(), self.lab.scope),
            service_endpoint=self.endpoint,
            auth_type=OAUTH2,
            version=Version(build=EXCHANGE_O365),
            retry_policy=retry_policy or FailFast(),
        )

    def account(self, local: str, config: Configuration | None = None) -> Account:
        return Account(
            primary_smtp_address=self.address(local) if "@" not in local else local,
            config=config or self.config(),
            autodiscover=False,
            access_type=IMPERSONATION,
            default_timezone=UTC,
        )

    def calendar(self, local: str) -> list[dict[str, Any]]:
        """The stored items of a mailbox, from the admin API (not from EWS)."""
        response = self.lab.admin("GET", f"mailboxes/{self.address(local)}/calendar")
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    def token(self, name: str = "rooms") -> str:
        result = self.msal_app(name).acquire_token_for_client([self.lab.scope])
        return str(result["access_token"])

    def post(self, body: str, *, token: str | None = None, anchor: str | None = None) -> requests.Response:
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if anchor:
            headers["X-AnchorMailbox"] = anchor
        return self.lab.session.post(self.endpoint, data=body.encode("utf-8"), headers=headers, timeout=30)


@contextlib.contextmanager
def exchangelib_against(lab: LabHelper) -> Iterator[EwsHelper]:
    """exchangelib trusting the lab's CA; its process-wide state (adapter class, protocol cache) restored after."""
    previous = BaseProtocol.HTTP_ADAPTER_CLS
    BaseProtocol.HTTP_ADAPTER_CLS = ca_adapter(lab.ca)
    CachingProtocol.clear_cache()
    try:
        yield EwsHelper(lab)
    finally:
        CachingProtocol.clear_cache()
        BaseProtocol.HTTP_ADAPTER_CLS = previous


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    """A fresh tenant and exchangelib set up to talk to the lab. Rooms answer at once: these tests are about EWS
    operations and delivery, not the attendant's timing (test_lab_rooms.py has late answers)."""
    fresh_lab.settings(room_answer_delay=0)
    with exchangelib_against(fresh_lab) as helper:
        yield helper


def get_folder_request(address: str, folder: str = "calendar") -> str:
    """A GetFolder as exchangelib sends it (raw, to look at HTTP answers exchangelib hides)."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
  xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
  <s:Header>
    <t:RequestServerVersion Version="Exchange2016"/>
    <t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{address}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>
  </s:Header>
  <s:Body>
    <m:GetFolder>
      <m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape>
      <m:FolderIds><t:DistinguishedFolderId Id="{folder}"/></m:FolderIds>
    </m:GetFolder>
  </s:Body>
</s:Envelope>"""


def meeting(
    account: Account, subject: str, start: EWSDateTime, hours: int = 1, **fields: Any
) -> CalendarItem:
    return CalendarItem(
        account=account,
        folder=account.calendar,
        subject=subject,
        start=start,
        end=start + hours * H,
        **fields,
    )


def room_attendee(ews: EwsHelper, local: str) -> Attendee:
    return Attendee(mailbox=Mailbox(email_address=ews.address(local)), response_type="Unknown")


def by_subject(items: list[dict[str, Any]], subject: str) -> dict[str, Any]:
    found = [i for i in items if i["subject"] == subject]
    assert len(found) == 1, items
    return found[0]


# --- calendar basics -----------------------------------------------------------------------------------


def test_account_calendar_costs_two_getfolder_calls_and_is_counted(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    calendar = diego.calendar
    assert calendar.name == "Calendar"
    assert ews.lab.requests().get("ews:GetFolder") == 2


def test_a_meeting_with_a_free_room_is_accepted_in_the_rooms_calendar(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    item = meeting(
        diego,
        "Budget",
        MONDAY,
        location="Zürich",
        resources=[room_attendee(ews, "room-zurich")],
        required_attendees=[
            Attendee(mailbox=Mailbox(email_address=ews.address("AdeleV")), response_type="Unknown")
        ],
        booking_tag="booking-1",
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)

    room = ews.calendar("room-zurich")
    assert len(room) == 1
    booking = room[0]
    assert booking["my_response"] == "Accept"
    assert booking["free_busy"] == "Busy"
    assert booking["is_meeting"] is True
    assert booking["subject"] == "Diego Siciliani"  # AddOrganizerToSubject + DeleteSubject (room defaults)
    assert booking["organizer"] == ews.address("DiegoS")

    adele = by_subject(ews.calendar("AdeleV"), "Budget")
    assert (adele["my_response"], adele["free_busy"], adele["is_meeting"]) == (
        "NoResponseReceived",
        "Tentative",
        True,
    )

    organizer = by_subject(ews.calendar("DiegoS"), "Budget")
    assert organizer["id"] == item.id
    assert organizer["resources"] == [
        {"email": ews.address("room-zurich"), "name": "Zürich", "response": "Accept"}
    ]
    assert organizer["required_attendees"][0]["response"] == "Unknown"
    assert organizer["extended_properties"][0]["value"] == "booking-1"
    # The room's answer changed the organizer's item after CreateItem answered (as a response arriving later).
    assert organizer["change_key"] != item.changekey

    fetched = diego.calendar.get(id=item.id)
    assert [(a.mailbox.email_address, a.response_type) for a in fetched.resources] == [
        (ews.address("room-zurich"), "Accept")
    ]


def test_an_overlapping_meeting_with_the_same_room_is_declined(ews: EwsHelper) -> None:
    diego, adele = ews.account("DiegoS"), ews.account("AdeleV")
    meeting(diego, "First", MONDAY, resources=[room_attendee(ews, "room-bern")]).save(
        send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )
    second = meeting(adele, "Second", MONDAY + H / 2, resources=[room_attendee(ews, "room-bern")])
    second.save(send_meeting_invitations=SEND_ONLY_TO_ALL)

    room = ews.calendar("room-bern")
    assert [i["organizer"] for i in room] == [ews.address("DiegoS")]
    organizer = by_subject(ews.calendar("AdeleV"), "Second")
    assert organizer["resources"][0]["response"] == "Decline"
    assert ews.calendar("room-zurich") == []


def test_send_to_none_delivers_nothing(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    meeting(diego, "Draft", MONDAY, resources=[room_attendee(ews, "room-bern")]).save(
        send_meeting_invitations=SEND_TO_NONE
    )
    assert ews.calendar("room-bern") == []
    assert by_subject(ews.calendar("DiegoS"), "Draft")["resources"][0]["response"] == "Unknown"


def test_an_update_keeps_the_item_id_changes_the_change_key_and_moves_the_room_booking(
    ews: EwsHelper,
) -> None:
    diego = ews.account("DiegoS")
    item = meeting(diego, "Planning", MONDAY, resources=[room_attendee(ews, "room-bern")])
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    first_key = ews.calendar("DiegoS")[0]["change_key"]
    # Another meeting takes the room at the new slot first.
    meeting(
        ews.account("AdeleV"), "Blocker", MONDAY + 4 * H, resources=[room_attendee(ews, "room-bern")]
    ).save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)

    item.subject, item.start, item.end = "Planning (moved)", MONDAY + 2 * H, MONDAY + 3 * H
    item.save(update_fields=["subject", "start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    stored = by_subject(ews.calendar("DiegoS"), "Planning (moved)")
    assert stored["id"] == item.id
    assert stored["change_key"] not in (first_key, "")
    room = [i for i in ews.calendar("room-bern") if i["organizer"] == ews.address("DiegoS")]
    assert [(r["start"], r["my_response"]) for r in room] == [(z(MONDAY + 2 * H), "Accept")]

    # Moved onto the blocker's slot: the room re-evaluates and declines, its booking of this meeting goes.
    item.start, item.end = MONDAY + 4 * H, MONDAY + 5 * H
    item.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert [i["organizer"] for i in ews.calendar("room-bern")] == [ews.address("AdeleV")]
    assert by_subject(ews.calendar("DiegoS"), "Planning (moved)")["resources"][0]["response"] == "Decline"


def test_never_overwrite_with_a_stale_change_key_is_an_irresolvable_conflict(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    item = meeting(diego, "Review", MONDAY)
    item.save(send_meeting_invitations=SEND_TO_NONE)
    stale = diego.calendar.get(id=item.id)
    item.subject = "Review 2"
    item.save(update_fields=["subject"])  # AutoResolve with the current key: fine
    stale.subject = "Review 3"
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(update_fields=["subject"], conflict_resolution="NeverOverwrite")
    stale.save(update_fields=["subject"], conflict_resolution="AlwaysOverwrite")
    assert by_subject(ews.calendar("DiegoS"), "Review 3")["id"] == item.id


def test_cancel_frees_the_room_and_cancels_the_attendee_copies(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    item = meeting(
        diego,
        "Offsite",
        MONDAY,
        resources=[room_attendee(ews, "room-zurich")],
        required_attendees=[
            Attendee(mailbox=Mailbox(email_address=ews.address("AlexW")), response_type="Unknown")
        ],
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    item = diego.calendar.get(id=item.id)
    item.cancel()

    room = ews.calendar("room-zurich")
    assert [(r["is_cancelled"], r["free_busy"]) for r in room] == [(True, "Free")]
    alex = ews.calendar("AlexW")
    assert [(a["subject"], a["is_cancelled"]) for a in alex] == [("Canceled: Offsite", True)]
    assert ews.calendar("DiegoS") == []
    deleted = ews.lab.admin("GET", f"mailboxes/{ews.address('DiegoS')}/calendar?folder=deleteditems").json()[
        "items"
    ]
    assert [(d["subject"], d["is_cancelled"]) for d in deleted] == [("Offsite", True)]

    # The slot is free again: a new meeting gets the room.
    meeting(ews.account("AdeleV"), "Next", MONDAY, resources=[room_attendee(ews, "room-zurich")]).save(
        send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )
    assert by_subject(ews.calendar("AdeleV"), "Next")["resources"][0]["response"] == "Accept"


def test_delete_with_and_without_cancellations(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    kept = meeting(diego, "Kept booking", MONDAY, resources=[room_attendee(ews, "room-bern")])
    kept.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    gone = meeting(diego, "Gone booking", MONDAY + 2 * H, resources=[room_attendee(ews, "room-bern")])
    gone.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)

    diego.calendar.get(id=kept.id).delete(send_meeting_cancellations=SEND_TO_NONE)
    diego.calendar.get(id=gone.id).move_to_trash(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)

    assert ews.calendar("DiegoS") == []
    room = {r["start"]: r for r in ews.calendar("room-bern")}
    assert room[z(MONDAY)]["is_cancelled"] is False  # SendToNone: the room never heard of it
    assert room[z(MONDAY + 2 * H)]["is_cancelled"] is True
    with pytest.raises(ErrorItemNotFound):
        diego.calendar.get(id=kept.id)


def test_find_by_extended_property_restriction(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    items = [meeting(diego, f"Tagged {n}", MONDAY + n * H, booking_tag=f"b-{n}") for n in range(3)]
    items.append(meeting(diego, "Untagged", MONDAY + 5 * H))
    diego.calendar.bulk_create(items=items, send_meeting_invitations=SEND_TO_NONE)

    found = list(diego.calendar.filter(booking_tag="b-1").only("subject", "booking_tag"))
    assert [(i.subject, i.booking_tag) for i in found] == [("Tagged 1", "b-1")]
    assert sorted(i.subject for i in diego.calendar.filter(booking_tag__exists=True)) == [
        "Tagged 0",
        "Tagged 1",
        "Tagged 2",
    ]
    assert [i.subject for i in diego.calendar.filter(booking_tag__exists=False)] == ["Untagged"]
    later = diego.calendar.filter(start__gte=MONDAY + H, subject__contains="Tagged").order_by("-start")
    assert [i.subject for i in later] == ["Tagged 2", "Tagged 1"]
    assert [i.subject for i in diego.calendar.filter(~Q(subject="Untagged") & Q(booking_tag="b-0"))] == [
        "Tagged 0"
    ]


def test_get_item_of_many_ids_in_one_request(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    created = diego.calendar.bulk_create(
        items=[meeting(diego, f"Item {n}", MONDAY + n * H) for n in range(5)],
        send_meeting_invitations=SEND_TO_NONE,
    )
    ews.lab.reset_requests()
    fetched = list(diego.fetch(ids=[(c.id, c.changekey) for c in created]))
    assert [f.subject for f in fetched] == [f"Item {n}" for n in range(5)]
    assert ews.lab.requests() == {"ews:GetItem": 1}


def test_calendar_view_spans_at_most_two_years_and_honours_max_entries(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    diego.calendar.bulk_create(
        items=[meeting(diego, f"Slot {n}", MONDAY + n * H) for n in range(4)],
        send_meeting_invitations=SEND_TO_NONE,
    )
    view = diego.calendar.view(start=MONDAY + H, end=MONDAY + 3 * H)
    assert [i.subject for i in view] == ["Slot 0", "Slot 1", "Slot 2"]  # Slot 0 ends at the view's start
    assert [i.subject for i in diego.calendar.view(start=MONDAY, end=MONDAY + 9 * H, max_items=2)] == [
        "Slot 0",
        "Slot 1",
    ]
    with pytest.raises(ErrorCalendarViewRangeTooBig):
        list(diego.calendar.view(start=MONDAY, end=MONDAY + dt.timedelta(days=2 * 366)))
    assert len(list(diego.calendar.view(start=MONDAY, end=MONDAY + dt.timedelta(days=730)))) == 4


# --- synchronisation and notifications ------------------------------------------------------------------


def test_sync_folder_items_full_then_nothing_then_an_outlook_edit(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    diego.calendar.bulk_create(
        items=[meeting(diego, f"Synced {n}", MONDAY + n * H) for n in range(3)],
        send_meeting_invitations=SEND_TO_NONE,
    )
    calendar = diego.calendar
    first = [(kind, item.subject) for kind, item in calendar.sync_items(max_changes_returned=2)]
    assert sorted(first) == [("create", "Synced 0"), ("create", "Synced 1"), ("create", "Synced 2")]
    state = calendar.item_sync_state

    ews.lab.reset_requests()
    assert list(calendar.sync_items(sync_state=state)) == []
    assert ews.lab.requests() == {"ews:SyncFolderItems": 1}  # a pass with nothing changed: one request

    stored = by_subject(ews.calendar("DiegoS"), "Synced 1")
    edited = ews.lab.admin(
        "PATCH",
        f"mailboxes/{ews.address('DiegoS')}/calendar/{stored['id']}",
        json={
            "subject": "Synced 1 (Outlook)",
            "start": z(MONDAY + 4 * H),
            "end": z(MONDAY + 5 * H),
        },
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["change_key"] != stored["change_key"]
    ews.lab.admin(
        "DELETE",
        f"mailboxes/{ews.address('DiegoS')}/calendar/{by_subject(ews.calendar('DiegoS'), 'Synced 2')['id']}",
    )
    assert ews.lab.requests() == {"ews:SyncFolderItems": 1}  # admin edits are not EWS requests

    changes = list(calendar.sync_items(sync_state=state))
    kinds = [(kind, getattr(item, "subject", None)) for kind, item in changes]
    assert ("update", "Synced 1 (Outlook)") in kinds
    assert [k for k, _ in kinds].count("delete") == 1
    updated = next(item for kind, item in changes if kind == "update")
    assert updated.start == MONDAY + 4 * H and updated.changekey == edited.json()["change_key"]
    assert updated.body is None  # SyncFolderItems returns no bodies (use GetItem)


def test_an_invalid_sync_state_is_error_invalid_sync_state_data(ews: EwsHelper) -> None:
    calendar = ews.account("DiegoS").calendar
    with pytest.raises(ErrorInvalidSyncStateData):
        list(calendar.sync_items(sync_state="bm90IGEgc3luYyBzdGF0ZQ=="))
    list(calendar.sync_items())
    old_state = calendar.item_sync_state
    ews.lab.reset()  # a rebuilt mailbox does not know the states it issued before
    CachingProtocol.clear_cache()
    with pytest.raises(ErrorInvalidSyncStateData):
        list(ews.account("DiegoS").calendar.sync_items(sync_state=old_state))


def test_pull_subscription_get_events_and_unsubscribe(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    calendar = diego.calendar
    subscription_id, watermark = calendar.subscribe_to_pull()
    [quiet] = calendar.get_events(subscription_id, watermark)
    assert [type(e).__name__ for e in quiet.events] == ["StatusEvent"]

    item = meeting(diego, "Watched", MONDAY)
    item.save(send_meeting_invitations=SEND_TO_NONE)
    [notification] = calendar.get_events(subscription_id, watermark)
    assert [type(e).__name__ for e in notification.events] == ["CreatedEvent"]
    assert notification.events[0].item_id.id == item.id
    item.subject = "Watched (edited)"
    item.save(update_fields=["subject"])
    [later] = calendar.get_events(subscription_id, notification.events[-1].watermark)
    assert [type(e).__name__ for e in later.events] == ["ModifiedEvent"]
    assert calendar.unsubscribe(subscription_id) is True
    with pytest.raises(ErrorSubscriptionNotFound):
        list(calendar.get_events(subscription_id, watermark))


def test_resolve_names_gives_the_primary_smtp_address_of_an_alias(ews: EwsHelper) -> None:
    app = ews.msal_app()
    identity = Identity(primary_smtp_address=ews.address("DiegoS"))
    config = Configuration(
        credentials=MsalCredentials(app, ews.lab.scope, identity=identity),
        service_endpoint=ews.endpoint,
        auth_type=OAUTH2,
        version=Version(build=EXCHANGE_O365),
        retry_policy=FailFast(),
    )
    protocol = Account(
        ews.address("DiegoS"), config=config, autodiscover=False, access_type=IMPERSONATION
    ).protocol
    [mailbox] = protocol.resolve_names([ews.address("adele")])
    assert mailbox.email_address == ews.address("AdeleV")
    assert mailbox.name == "Adele Vance"
    [nothing] = protocol.resolve_names(["nobody@example.org"])
    assert isinstance(nothing, ErrorNameResolutionNoResults)

    # Without an impersonation header an app-only token gets Exchange Online's refusal.
    bare = ews.config()
    with pytest.raises(ErrorInvalidExchangeImpersonationHeaderData):
        ews.account("DiegoS", config=bare).protocol.resolve_names([ews.address("adele")])


# --- authorization ---------------------------------------------------------------------------------------


def test_an_app_without_full_access_as_app_is_refused(ews: EwsHelper) -> None:
    app_id = ews.lab.app("rooms")["app_id"]
    revoked = ews.lab.admin(
        "POST", "consent", json={"app_id": app_id, "permission": "full_access_as_app", "grant": False}
    )
    assert revoked.status_code == 200
    with pytest.raises(UnauthorizedError):  # the token carries no roles at all: 401, x-ms-diagnostics 2000008
        ews.account("DiegoS").calendar  # noqa: B018
    response = ews.post(get_folder_request(ews.address("DiegoS")), token=ews.token())
    assert response.status_code == 401
    assert response.headers["x-ms-diagnostics"].startswith("2000008;")

    # The admin app holds other roles but not full_access_as_app: Exchange refuses the impersonation.
    admin_config = ews.config(app=ews.msal_app("admin"))
    with pytest.raises(ErrorImpersonateUserDenied):
        ews.account("DiegoS", config=admin_config).calendar  # noqa: B018


def test_an_unknown_mailbox_is_error_non_existent_mailbox(ews: EwsHelper) -> None:
    with pytest.raises(ErrorNonExistentMailbox):
        ews.account("nobody").calendar  # noqa: B018


def test_ews_switched_off_for_the_tenant_or_the_mailbox_is_http_403_with_the_policy_reason(
    ews: EwsHelper,
) -> None:
    tenant = ews.lab.lab.tenant
    with tenant.change() as state:
        state.organization.ews_enabled = False
    # exchangelib has no exception of its own for this: MalformedResponseError names the status and headers.
    with pytest.raises(MalformedResponseError, match=r"Code: 403.*EWS is disabled for this user or tenant"):
        ews.account("DiegoS").calendar  # noqa: B018
    response = ews.post(get_folder_request(ews.address("DiegoS")), token=ews.token())
    assert (response.status_code, response.headers["X-EWS-Policy-Reason"]) == (
        403,
        "EWS is disabled for this user or tenant",
    )

    with tenant.change() as state:
        state.organization.ews_enabled = True  # only the listed apps may use EWS now
    response = ews.post(get_folder_request(ews.address("DiegoS")), token=ews.token())
    assert response.headers["X-EWS-Policy-Reason"] == "EWS is blocked by policy for this user or tenant"

    with tenant.change() as state:
        state.organization.ews_enabled = None
        mailbox = state.find_mailbox(ews.address("AdeleV"))
        assert mailbox is not None
        mailbox.ews_enabled = False
    response = ews.post(get_folder_request(ews.address("AdeleV")), token=ews.token())
    assert (response.status_code, response.headers["X-EWS-Policy-Reason"]) == (
        403,
        "EWS is disabled for this user or tenant",
    )
    assert ews.post(get_folder_request(ews.address("DiegoS")), token=ews.token()).status_code == 200


def test_an_application_access_policy_denial_is_http_403_without_a_policy_reason(ews: EwsHelper) -> None:
    app_id = ews.lab.app("rooms")["app_id"]
    with ews.lab.lab.tenant.change() as state:
        group = {"guid": "7d1f1a3e-0000-4000-8000-000000000001", "name": "SyncIsAllowed", "members": []}
        state.groups.append(group)
        state.application_access_policies.append(
            {
                "app_id": app_id,
                "access_right": "RestrictAccess",
                "scope": {"kind": "group", "id": group["guid"], "name": group["name"]},
                "identity": f"{state.tenant_id}\\{app_id}:lab",
                "effective_at": 0,
            }
        )
    with pytest.raises(MalformedResponseError, match="403"):
        ews.account("DiegoS").calendar  # noqa: B018
    response = ews.post(get_folder_request(ews.address("DiegoS")), token=ews.token())
    assert response.status_code == 403
    assert "X-EWS-Policy-Reason" not in response.headers


def test_with_a_policy_delay_ews_serves_a_newly_excluded_mailbox_until_the_delay_is_over(
    ews: EwsHelper,
) -> None:
    """Issue 6, acceptance 3: Test-ApplicationAccessPolicy says Denied at once, EWS still serves the mailbox,
    and denies it once the delay is over. The delay is long and its end is brought forward in the lab's state
    (the moment EWS starts to see the policy), so no step depends on how fast this machine is."""
    delay = 600.0
    rooms = ews.lab.app("rooms")["app_id"]
    with exchange(ews.lab) as pool:
        group = run(pool, "New-DistributionGroup", Name="SyncIsAllowed", Type="Security", Members=["DiegoS"])
        assert not group.errors
        ews.lab.settings(policy_delay=delay)
        try:
            policy = run(
                pool,
                "New-ApplicationAccessPolicy",
                AppId=[rooms],
                PolicyScopeGroupId="SyncIsAllowed",
                AccessRight="RestrictAccess",
            )
            assert not policy.errors
            tested = run(pool, "Test-ApplicationAccessPolicy", Identity="AdeleV", AppId=rooms)
            assert [o["AccessCheckResult"] for o in tested.output] == ["Denied"]
            assert ews.account("AdeleV").calendar.name == "Calendar"  # EWS does not see the policy yet
            with ews.lab.lab.tenant.change() as state:  # the delay is over
                (made,) = state.application_access_policies
                assert made["effective_at"] == pytest.approx(made["created_at"] + delay)
                made["effective_at"] = time.time()
            with pytest.raises(MalformedResponseError, match="403"):
                ews.account("AdeleV").calendar  # noqa: B018
            assert ews.account("DiegoS").calendar.name == "Calendar"  # a member of the group
        finally:
            ews.lab.settings(policy_delay=0)


def test_a_bad_or_missing_token_is_http_401_with_exchange_onlines_challenge(ews: EwsHelper) -> None:
    body = get_folder_request(ews.address("DiegoS"))
    missing = ews.post(body)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith(
        'Bearer client_id="00000002-0000-0ff1-ce00-000000000000"'
    )
    assert "x-ms-diagnostics" not in missing.headers
    token = ews.token()
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = ews.post(body, token=tampered)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert refused.headers["x-ms-diagnostics"].startswith("2000001;reason=")
    ews.lab.fault(protocol="ews", operation="GetFolder", kind="http_401")
    with pytest.raises(UnauthorizedError):
        ews.account("DiegoS").calendar  # noqa: B018


# --- throttling and lost answers -------------------------------------------------------------------------


def test_error_server_busy_back_off_is_honoured_by_fault_tolerance_and_raised_under_fail_fast(
    ews: EwsHelper,
) -> None:
    ews.lab.fault(protocol="ews", operation="GetFolder", kind="server_busy", back_off_ms=400, count=1)
    with pytest.raises(ErrorServerBusy) as busy:
        ews.account("DiegoS").calendar  # noqa: B018
    assert busy.value.back_off == 0.4

    ews.lab.fault(protocol="ews", operation="GetFolder", kind="server_busy", back_off_ms=500, count=2)
    patient = ews.account("AdeleV", config=ews.config(retry_policy=FaultTolerance(max_wait=10)))
    began = time.monotonic()
    assert patient.calendar.name == "Calendar"
    assert time.monotonic() - began >= 0.9  # two back-offs of 0.5 s, as the server asked
    assert ews.lab.requests()["ews:GetFolder"] >= 5

    ews.lab.fault(protocol="ews", operation="GetFolder", kind="server_busy", back_off_ms=60000, count=1)
    impatient = ews.account("AlexW", config=ews.config(retry_policy=FaultTolerance(max_wait=5)))
    with pytest.raises(RateLimitError):
        impatient.calendar  # noqa: B018


def test_drop_after_on_create_item_leaves_the_item_created(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    calendar = diego.calendar
    ews.lab.fault(protocol="ews", operation="CreateItem", kind="drop_after")
    with pytest.raises(Exception):  # noqa: B017 - the connection ends without an answer
        meeting(
            diego, "Lost answer", MONDAY, booking_tag="b-lost", resources=[room_attendee(ews, "room-bern")]
        ).save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert [i["subject"] for i in ews.calendar("DiegoS")] == ["Lost answer"]
    assert len(ews.calendar("room-bern")) == 1
    # What a careful client does before writing again: look the item up by its tag.
    assert [i.subject for i in calendar.filter(booking_tag="b-lost")] == ["Lost answer"]


# --- the admin API's calendars --------------------------------------------------------------------------


def test_an_outlook_meeting_from_the_admin_api_books_the_room_and_syncs_as_a_create(ews: EwsHelper) -> None:
    calendar = ews.account("MeganB").calendar
    list(calendar.sync_items())
    state = calendar.item_sync_state
    created = ews.lab.admin(
        "POST",
        f"mailboxes/{ews.address('MeganB')}/calendar",
        json={
            "subject": "Made in Outlook",
            "start": at_plus_one(MONDAY + 24 * H),
            "end": at_plus_one(MONDAY + 25 * H),
            "location": "Bern",
            "resources": [ews.address("room-bern")],
            "attendees": [ews.address("lee@example.org")],
            "sensitivity": "Private",
            "reminder": 30,
        },
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert (item["start"], item["organizer"], item["reminder"]) == (
        z(MONDAY + 24 * H),
        ews.address("MeganB"),
        30,
    )
    assert ews.calendar("room-bern")[0]["sensitivity"] == "Normal"  # RemovePrivateProperty (room default)
    [(kind, synced)] = list(calendar.sync_items(sync_state=state))
    assert (kind, synced.subject, synced.sensitivity) == ("create", "Made in Outlook", "Private")
    assert synced.resources[0].response_type == "Accept"
    assert ews.lab.requests().get("ews:CreateItem") is None


def test_the_admin_calendar_api_refuses_bad_edits(ews: EwsHelper) -> None:
    base = f"mailboxes/{ews.address('DiegoS')}/calendar"
    assert (
        ews.lab.admin("POST", base, json={"subject": "No times"}).json()["error"]["code"] == "missing_field"
    )
    bad_time = {"subject": "x", "start": "2031-03-04T09:00:00", "end": "2031-03-04T10:00:00Z"}
    assert ews.lab.admin("POST", base, json=bad_time).status_code == 400
    assert (
        ews.lab.admin("POST", base, json={"subject": "x", "colour": "red"}).json()["error"]["code"]
        == "unknown_field"
    )
    assert ews.lab.admin("PATCH", f"{base}/QUJD", json={"subject": "y"}).status_code == 404
    assert ews.lab.admin("GET", "mailboxes/nobody@example.org/calendar").status_code == 404
    assert ews.lab.admin("DELETE", f"{base}/QUJD?mode=Shred").status_code == 400


def test_calendars_persist_in_tenant_json_and_reset_clears_them(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    meeting(diego, "Persisted", MONDAY, booking_tag="b-p", resources=[room_attendee(ews, "room-bern")]).save(
        send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )
    saved = json.loads((ews.lab.dir / "tenant.json").read_text(encoding="utf-8"))
    reloaded = decode(TenantState, saved)
    assert encode(reloaded) == ews.lab.lab.tenant.snapshot(include_secrets=True)
    ews.lab.reset()
    assert ews.calendar("DiegoS") == [] and ews.calendar("room-bern") == []
