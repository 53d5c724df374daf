"""Every answer of the lab's EWS validates against Microsoft's schema (shared/reference/ews-schema).

Answers are captured server-side while exchangelib and raw SOAP requests run every operation the lab implements,
with success, error and warning answers, SOAP faults and injected faults. A response's first s:Body child is
validated against messages.xsd on its own. A SOAP fault's `detail` is in Exchange's errors namespace, for which no
schema is published: the test checks that its ResponseCode is a member of ResponseCodeType and that its MessageXml
holds only the elements exchangelib reads (t:Value with a Name, LineNumber, LinePosition, Violation); the
s:Fault itself is checked against SOAP 1.1's shape (faultcode, faultstring, detail), not against an XSD.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from exchangelib import Attendee, CalendarItem, Mailbox
from exchangelib.errors import (
    ErrorCalendarOccurrenceIsDeletedFromRecurrence,
    ErrorCalendarViewRangeTooBig,
    ErrorFolderExists,
    ErrorImpersonateUserDenied,
    ErrorInvalidSyncStateData,
    ErrorIrresolvableConflict,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorSubscriptionNotFound,
)
from exchangelib.folders import Calendar
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.recurrence import NumberedPattern, Recurrence, WeeklyPattern
from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from roomsops.lab.ews import capture
from roomsops.lab.ews.service import OPERATIONS

from .conftest import LabHelper
from .test_lab_ews import (
    MONDAY,
    EwsHelper,
    H,
    exchangelib_against,
    get_folder_request,
    meeting,
    room_attendee,
)

pytestmark = pytest.mark.integration

# Copies of shared/reference/ews-schema (Microsoft's schema) and of exchangelib's real requests from the spike,
# kept in the repository so that a clone without shared/ beside it still runs this test.
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "data" / "ews-schema"
SAMPLES_DIR = Path(__file__).resolve().parents[1] / "data" / "ews-samples"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"


class EwsSchema:
    """messages.xsd, loaded once per session (it is big), and the ResponseCodeType enumeration."""

    def __init__(self, directory: Path) -> None:
        messages = etree.parse(str(directory / "messages.xsd"))
        self.schema = etree.XMLSchema(messages)
        self.response_codes = set(
            messages.xpath(
                "//xs:simpleType[@name='ResponseCodeType']//xs:enumeration/@value",
                namespaces={"xs": "http://www.w3.org/2001/XMLSchema"},
            )
        )

    def problems(self, body: bytes) -> list[str]:
        """Why a SOAP response does not validate (empty: it does)."""
        envelope = etree.fromstring(body)
        if envelope.tag != f"{{{SOAP}}}Envelope":
            return [f"not a SOAP envelope: {envelope.tag}"]
        soap_body = envelope.find(f"{{{SOAP}}}Body")
        if soap_body is None or len(soap_body) != 1:
            return ["the SOAP body must hold exactly one element"]
        first = soap_body[0]
        if first.tag == f"{{{SOAP}}}Fault":
            return self._fault_problems(first)
        header = envelope.find(f"{{{SOAP}}}Header")
        problems = []
        if header is not None:
            for part in header:
                problems += self._validate(part)
        return problems + self._validate(first)

    def _validate(self, element: etree._Element) -> list[str]:
        document = etree.ElementTree(etree.fromstring(etree.tostring(element)))
        if self.schema.validate(document):
            return []
        return [f"{e.line}: {e.message}" for e in self.schema.error_log]

    def _fault_problems(self, fault: etree._Element) -> list[str]:
        names = [child.tag for child in fault]
        if names[:2] != ["faultcode", "faultstring"] or names[-1] != "detail":
            return [f"a SOAP 1.1 fault holds faultcode, faultstring[, faultactor], detail; got {names}"]
        detail = fault.find("detail")
        assert detail is not None
        code = detail.findtext(f"{{{E}}}ResponseCode")
        problems = []
        if code not in self.response_codes:
            problems.append(f"{code!r} is not a ResponseCodeType value")
        if fault.findtext("faultcode") != f"a:{code}":
            problems.append("faultcode does not name the ResponseCode")
        if not detail.findtext(f"{{{E}}}Message"):
            problems.append("the detail has no e:Message")
        message_xml = detail.find(f"{{{T}}}MessageXml")
        for part in message_xml if message_xml is not None else ():
            if part.tag == f"{{{T}}}Value" and part.get("Name"):
                continue
            if part.tag in (f"{{{T}}}{n}" for n in ("LineNumber", "LinePosition", "Violation")):
                continue
            problems.append(f"unexpected MessageXml part {part.tag}")
        return problems


@pytest.fixture(scope="session")
def ews_schema() -> EwsSchema:
    return EwsSchema(SCHEMA_DIR)


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    with exchangelib_against(fresh_lab) as helper:
        yield helper


@pytest.fixture
def answers() -> Iterator[capture.ResponseLog]:
    with capture.capture() as log:
        yield log


def assert_all_valid(schema: EwsSchema, log: capture.ResponseLog) -> dict[str, list[str]]:
    """Validate every SOAP answer captured; return the ResponseCodes seen per operation."""
    failures = []
    codes: dict[str, list[str]] = {}
    for entry in log.entries:
        if not entry.content_type.startswith("text/xml"):
            continue  # 401/403 with empty bodies and the IIS error page carry no SOAP
        problems = schema.problems(entry.body)
        if problems:
            failures.append(
                f"{entry.operation} (HTTP {entry.status}): {problems}\n{entry.body.decode()[:2000]}"
            )
        found = re.findall(rb"<(?:m:ResponseCode|e:ResponseCode)[^>]*>([^<]+)<", entry.body)
        codes.setdefault(entry.operation, []).extend(c.decode() for c in found)
    assert not failures, "\n\n".join(failures)
    assert codes, "no SOAP answer was captured"
    return codes


def envelope(address: str | None, body: str) -> str:
    header = (
        f"<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{address}</t:PrimarySmtpAddress>"
        "</t:ConnectingSID></t:ExchangeImpersonation>"
        if address
        else ""
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}" xmlns:m="{M}" xmlns:t="{T}">'
        f'<s:Header><t:RequestServerVersion Version="Exchange2016"/>{header}</s:Header>'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )


def test_every_answer_of_every_operation_validates(
    ews: EwsHelper, ews_schema: EwsSchema, answers: capture.ResponseLog
) -> None:
    diego = ews.account("DiegoS")
    calendar = diego.calendar
    adele = ews.address("AdeleV")

    # Success answers of the calendar operations.
    tagged = meeting(
        diego,
        "Validated",
        MONDAY,
        location="Bern",
        body="Agenda",
        categories=["ROOMS"],
        resources=[room_attendee(ews, "room-bern")],
        required_attendees=[Attendee(mailbox=Mailbox(email_address=adele), response_type="Unknown")],
        optional_attendees=[
            Attendee(mailbox=Mailbox(email_address="guest@example.org"), response_type="Unknown")
        ],
        booking_tag="b-valid",
        reminder_is_set=True,
        reminder_minutes_before_start=10,
    )
    tagged.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    second = meeting(diego, "Second", MONDAY + 2 * H)
    second.save(send_meeting_invitations=SEND_TO_NONE)
    assert [i.subject for i in calendar.view(MONDAY - H, MONDAY + 4 * H)] == ["Validated", "Second"]
    assert [i.subject for i in calendar.filter(booking_tag="b-valid")] == ["Validated"]
    list(calendar.filter(start__gte=MONDAY).only("subject", "organizer", "required_attendees", "booking_tag"))
    fetched = calendar.get(id=tagged.id)
    assert fetched.body == "Agenda"
    for account in (ews.account("AdeleV"), ews.account("room-bern")):
        list(account.calendar.all())  # attendee copies and a room's booking, every property
    list(calendar.sync_items())
    state = calendar.item_sync_state
    fetched.subject = "Validated (moved)"
    fetched.start, fetched.end = MONDAY + H, MONDAY + 2 * H
    fetched.save(
        update_fields=["subject", "start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY
    )
    list(calendar.sync_items(sync_state=state))  # the Update after an UpdateItem (schema order of set fields)
    subscription, watermark = calendar.subscribe_to_pull()
    second.subject = "Second (edited)"
    second.save(update_fields=["subject"])
    list(calendar.get_events(subscription, watermark))
    calendar.unsubscribe(subscription)
    Calendar(
        parent=calendar, name="Schema folder"
    ).save()  # CreateFolder, FindFolder (exchangelib's folder cache)
    calendar.get(id=fetched.id).cancel()
    second.delete(send_meeting_cancellations=SEND_TO_NONE)

    # Error answers per item or message.
    stale = calendar.get(id=meeting(diego, "Stale", MONDAY).save(send_meeting_invitations=SEND_TO_NONE).id)
    calendar.get(id=stale.id).save(update_fields=["subject"])
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(update_fields=["subject"], conflict_resolution="NeverOverwrite")
    with pytest.raises(ErrorCalendarViewRangeTooBig):
        list(calendar.view(MONDAY, MONDAY + 800 * 24 * H))
    with pytest.raises(ErrorInvalidSyncStateData):
        list(calendar.sync_items(sync_state="AAAA"))
    with pytest.raises(ErrorSubscriptionNotFound):
        list(calendar.get_events("AAAA", watermark))
    token = ews.token()
    raw = [
        envelope(
            ews.address("DiegoS"),
            "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>"
            f'<m:ItemIds><t:ItemId Id="not-an-id"/><t:ItemId Id="{stale.id}"/></m:ItemIds></m:GetItem>',
        ),
        envelope(
            ews.address("DiegoS"),
            '<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone">'
            '<m:ItemIds><t:ItemId Id="TEFCSQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"/></m:ItemIds></m:DeleteItem>',
        ),
        envelope(
            ews.address("DiegoS"),
            "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
            '<m:FolderIds><t:DistinguishedFolderId Id="msgfolderroot"/><t:DistinguishedFolderId Id="deleteditems"/>'
            '<t:DistinguishedFolderId Id="inbox"/><t:DistinguishedFolderId Id="publicfoldersroot"/></m:FolderIds></m:GetFolder>',
        ),
        envelope(
            ews.address("DiegoS"),
            '<m:ResolveNames ReturnFullContactData="true"><m:UnresolvedEntry>smtp:adele@'
            f"{ews.domain}</m:UnresolvedEntry><m:UnresolvedEntry>room</m:UnresolvedEntry>"
            "<m:UnresolvedEntry>nobody</m:UnresolvedEntry></m:ResolveNames>",
        ),
        envelope(
            ews.address("DiegoS"),
            '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape>'
            '</m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="1" Offset="0" BasePoint="Beginning"/>'
            '<m:ParentFolderIds><t:DistinguishedFolderId Id="deleteditems"/></m:ParentFolderIds></m:FindItem>',
        ),
        envelope(
            ews.address("DiegoS"),
            '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
            "<t:Subject>Backwards</t:Subject><t:Start>2031-03-03T10:00:00Z</t:Start><t:End>2031-03-03T09:00:00Z</t:End>"
            '</t:CalendarItem><t:CancelCalendarItem><t:ReferenceItemId Id="not-an-id"/></t:CancelCalendarItem></m:Items></m:CreateItem>',
        ),
        envelope(
            ews.address("DiegoS"),
            "<m:Subscribe><m:StreamingSubscriptionRequest><t:EventTypes><t:EventType>CreatedEvent"
            "</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>",
        ),
        envelope(
            ews.address("DiegoS"), "<m:Unsubscribe><m:SubscriptionId>AAAA</m:SubscriptionId></m:Unsubscribe>"
        ),
        # Whole-request faults.
        envelope(None, "<m:ResolveNames><m:UnresolvedEntry>adele</m:UnresolvedEntry></m:ResolveNames>"),
        envelope(ews.address("DiegoS"), "<m:DeleteFolder/>"),  # an operation the lab does not emulate
        envelope(
            ews.address("DiegoS"),
            "<m:GetFolder><m:FolderShape><t:BaseShape>Everything</t:BaseShape></m:FolderShape>"
            '<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>',
        ),
        "<s:Envelope><not-xml",
    ]
    for body in raw:
        ews.post(body, token=token)
    with pytest.raises(ErrorNonExistentMailbox):
        ews.account("nobody").calendar  # noqa: B018
    with pytest.raises(ErrorImpersonateUserDenied):
        ews.account("DiegoS", config=ews.config(app=ews.msal_app("admin"))).calendar  # noqa: B018
    ews.lab.fault(protocol="ews", operation="GetFolder", kind="server_busy", back_off_ms=250)
    with pytest.raises(ErrorServerBusy):
        ews.account("AlexW").calendar  # noqa: B018

    # Issue 18: all-day items, every free/busy value, a late room answer, moves and restores, throttling variants.
    for offset, status in enumerate(("Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData")):
        meeting(diego, f"Status {status}", MONDAY + (offset + 10) * H, legacy_free_busy_status=status).save(
            send_meeting_invitations=SEND_TO_NONE
        )
    all_day = meeting(diego, "All day", MONDAY + 30 * H, is_all_day=True)
    all_day.save(send_meeting_invitations=SEND_TO_NONE)
    booked = meeting(diego, "Late answer", MONDAY + 50 * H, resources=[room_attendee(ews, "room-zurich")])
    booked.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert ews.lab.admin("POST", "room-answers/process").status_code == 200
    list(calendar.view(MONDAY, MONDAY + 60 * H))
    calendar.get(id=booked.id).move(diego.trash)
    restored = next(i for i in diego.trash.all() if i.subject == "Late answer")
    restored.move(calendar)
    ews.post(
        envelope(
            ews.address("DiegoS"),
            '<m:MoveItem><m:ToFolderId><t:DistinguishedFolderId Id="inbox"/></m:ToFolderId>'
            f'<m:ItemIds><t:ItemId Id="{all_day.id}"/><t:ItemId Id="not-an-id"/></m:ItemIds></m:MoveItem>',
        ),
        token=token,
    )
    ews.post(
        envelope(
            ews.address("DiegoS"),
            '<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone">'
            f'<m:ItemIds><t:ItemId Id="{all_day.id}" ChangeKey="not base64!"/></m:ItemIds></m:DeleteItem>',
        ),
        token=token,
    )
    ews.lab.fault(protocol="ews", operation="GetFolder", kind="server_busy_200", back_off_ms=100)
    ews.lab.fault(protocol="ews", operation="GetFolder", kind="exceeded_connection_count")
    for _ in range(2):
        ews.post(get_folder_request(ews.address("LeeG")), token=token)

    codes = assert_all_valid(ews_schema, answers)
    assert set(OPERATIONS) <= set(codes), f"operations never answered: {set(OPERATIONS) - set(codes)}"
    seen = {c for found in codes.values() for c in found}
    expected = {
        "NoError",
        "ErrorIrresolvableConflict",
        "ErrorCalendarViewRangeTooBig",
        "ErrorInvalidSyncStateData",
        "ErrorSubscriptionNotFound",
        "ErrorInvalidIdMalformed",
        "ErrorItemNotFound",
        "ErrorFolderNotFound",
        "ErrorNameResolutionMultipleResults",
        "ErrorNameResolutionNoResults",
        "ErrorCalendarEndDateIsEarlierThanStartDate",
        "ErrorInvalidSubscriptionRequest",
        "ErrorInvalidExchangeImpersonationHeaderData",
        "ErrorInvalidOperation",
        "ErrorSchemaValidation",
        "ErrorNonExistentMailbox",
        "ErrorImpersonateUserDenied",
        "ErrorServerBusy",
        "ErrorMoveCopyFailed",
        "ErrorInvalidChangeKey",
        "ErrorExceededConnectionCount",
    }
    assert expected <= seen, f"answers never given: {expected - seen}"


def test_the_spikes_exchangelib_requests_get_valid_answers(
    ews: EwsHelper, ews_schema: EwsSchema, answers: capture.ResponseLog
) -> None:
    """Replay the requests exchangelib 5.6 sent in the EWS spike, addressed to the lab's mailboxes."""
    replacements = {
        "alice@contoso.com": ews.address("DiegoS"),
        "carol@contoso.com": ews.address("AdeleV"),
        "dave@contoso.com": ews.address("AlexW"),
        "bob@contoso.com": ews.address("nobody"),
    }
    token = ews.token()
    samples = sorted(SAMPLES_DIR.glob("*_req.xml"))
    assert len(samples) >= 30
    for sample in samples:
        body = sample.read_text(encoding="utf-8")
        for old, new in replacements.items():
            body = body.replace(old, new)
        assert ews.post(body, token=token).status_code in (200, 500)
    codes = assert_all_valid(ews_schema, answers)
    assert {
        "GetFolder",
        "CreateItem",
        "FindItem",
        "GetItem",
        "UpdateItem",
        "DeleteItem",
        "SyncFolderItems",
    } <= set(codes)


def test_second_calendars_cancelled_occurrences_and_review_errors_validate(
    ews: EwsHelper, ews_schema: EwsSchema, answers: capture.ResponseLog
) -> None:
    """The answers issue 18's last gaps added: CreateFolder and FindFolder (successes and refusals), GetFolder,
    MoveItem, FindItem and SyncFolderItems on a second calendar, CancelCalendarItem of one occurrence, and the
    review's ErrorTimeZone and ErrorCalendarInvalidDayForWeeklyRecurrence."""
    ews.lab.settings(room_answer_delay=0)
    diego = ews.account("DiegoS")
    calendar = diego.calendar
    projects = Calendar(parent=calendar, name="Projects")
    projects.save()
    with pytest.raises(ErrorFolderExists):
        Calendar(parent=calendar, name="Projects").save()
    assert [f.name for f in calendar.children] == ["Projects"]
    single = meeting(diego, "To move", MONDAY, resources=[room_attendee(ews, "room-bern")])
    single.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    calendar.get(id=single.id).move(projects)
    list(projects.all())
    list(projects.view(MONDAY - H, MONDAY + 2 * H))
    list(projects.sync_items())
    projects.refresh()  # GetFolder of a created folder
    weekly = CalendarItem(
        account=diego,
        folder=calendar,
        subject="Weekly",
        start=MONDAY + 3 * H,
        end=MONDAY + 4 * H,
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[1], first_day_of_week=1),
            boundary=NumberedPattern(start=MONDAY.date(), number=3),
        ),
        resources=[room_attendee(ews, "room-bern")],
    )
    weekly.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    occurrence = weekly.occurrence(2)
    occurrence.refresh()
    occurrence.cancel()
    with pytest.raises(ErrorCalendarOccurrenceIsDeletedFromRecurrence):
        occurrence.cancel()  # the deleted occurrence's ItemId again
    # The room keeps the cancelled occurrence as a cancelled exception (IsCancelled, ModifiedOccurrences).
    room = ews.account("room-bern")
    assert [o.is_cancelled for o in room.calendar.view(MONDAY + 2 * H, MONDAY + 30 * 24 * H)] == [
        False,
        True,
        False,
    ]
    assert sorted(len(m.modified_occurrences or []) for m in room.calendar.all()) == [0, 1]

    token = ews.token()
    address = ews.address("DiegoS")
    root_id = '<t:DistinguishedFolderId Id="msgfolderroot"/>'
    raw = [
        f"<m:CreateFolder><m:ParentFolderId>{root_id}</m:ParentFolderId><m:Folders>"
        "<t:Folder><t:FolderClass>IPF.Appointment</t:FolderClass><t:DisplayName>Secondary</t:DisplayName></t:Folder>"
        "<t:CalendarFolder><t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>Wrong</t:DisplayName>"
        "</t:CalendarFolder><t:Folder><t:DisplayName>Mail</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>",
        '<m:CreateFolder><m:ParentFolderId><t:FolderId Id="bm90IGEgZm9sZGVy"/></m:ParentFolderId><m:Folders>'
        "<t:CalendarFolder><t:DisplayName>X</t:DisplayName></t:CalendarFolder></m:Folders></m:CreateFolder>",
        '<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape>'
        '<m:IndexedPageFolderView MaxEntriesReturned="2" Offset="0" BasePoint="Beginning"/>'
        f'<m:ParentFolderIds>{root_id}<t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindFolder>',
        '<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>'
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="root"/><t:DistinguishedFolderId Id="archive"/>'
        "</m:ParentFolderIds></m:FindFolder>",
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>'
        '<t:DistinguishedFolderId Id="deleteditems"/></m:SavedItemFolderId><m:Items><t:CalendarItem>'
        "<t:Subject>Not here</t:Subject><t:Start>2031-03-03T10:00:00Z</t:Start><t:End>2031-03-03T11:00:00Z</t:End>"
        "</t:CalendarItem></m:Items></m:CreateItem>",
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Mars</t:Subject>'
        "<t:Start>2031-03-03T10:00:00Z</t:Start><t:End>2031-03-03T11:00:00Z</t:End>"
        '<t:StartTimeZone Id="Mars Standard Time"/></t:CalendarItem><t:CalendarItem><t:Subject>No days</t:Subject>'
        "<t:Start>2031-03-03T10:00:00Z</t:Start><t:End>2031-03-03T11:00:00Z</t:End><t:Recurrence>"
        "<t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek></t:DaysOfWeek></t:WeeklyRecurrence>"
        "<t:NoEndRecurrence><t:StartDate>2031-03-03</t:StartDate></t:NoEndRecurrence></t:Recurrence>"
        "</t:CalendarItem></m:Items></m:CreateItem>",
    ]
    for body in raw:
        assert ews.post(envelope(address, body), token=token).status_code == 200

    codes = assert_all_valid(ews_schema, answers)
    assert {
        "CreateFolder",
        "FindFolder",
        "GetFolder",
        "MoveItem",
        "FindItem",
        "SyncFolderItems",
        "CreateItem",
    } <= set(codes)
    seen = {c for found in codes.values() for c in found}
    expected = {
        "NoError",
        "ErrorFolderExists",
        "ErrorNoFolderClassOverride",
        "ErrorInvalidOperation",
        "ErrorFolderNotFound",
        "ErrorInvalidIdMalformed",
        "ErrorCannotCreateCalendarItemInNonCalendarFolder",
        "ErrorTimeZone",
        "ErrorCalendarInvalidDayForWeeklyRecurrence",
    }
    assert expected <= seen, f"answers never given: {expected - seen}"
