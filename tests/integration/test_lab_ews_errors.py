"""Every error the lab's EWS can answer has a row in FIDELITY.md, and the error codes no other test provokes are
provoked here with raw SOAP (each answer validated against the schema).

The codes are collected from the source of `roomsops/lab/ews/` (every string constant that is an `Error...` code,
the keys of `errors.MESSAGE_TEXTS` aside: a text is not an answer), so a new code without a row fails this test.
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

import roomsops.lab.ews
from roomsops.lab.ews import access, capture
from roomsops.lab.web import FAULT_KINDS

from .conftest import LabHelper
from .test_lab_ews import EwsHelper, exchangelib_against
from .test_lab_ews_schema import SCHEMA_DIR, EwsSchema

pytestmark = pytest.mark.integration

EWS_SOURCE = Path(roomsops.lab.ews.__file__).parent
FIDELITY = EWS_SOURCE.parent / "FIDELITY.md"
CODE = re.compile(r"Error[A-Z][A-Za-z]+")
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"


def ews_section() -> str:
    """FIDELITY.md from its "## EWS" heading to the next top-level section."""
    text = FIDELITY.read_text(encoding="utf-8")
    start = text.index("\n## EWS")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def emitted_codes() -> dict[str, set[str]]:
    """Error codes named in the EWS source -> the modules naming them."""
    found: dict[str, set[str]] = {}
    for path in sorted(EWS_SOURCE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        texts = {
            id(key)
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "MESSAGE_TEXTS" for t in node.targets)
            and isinstance(node.value, ast.Dict)
            for key in node.value.keys
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and CODE.fullmatch(node.value)
                and id(node) not in texts
            ):
                found.setdefault(node.value, set()).add(path.name)
    return found


def http_statuses() -> set[int]:
    """The statuses the EWS source answers with: `Response(<status>, ...)`, `Response.json(...)`, `.text(...)`."""
    statuses = set()
    for path in sorted(EWS_SOURCE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            named = (isinstance(func, ast.Name) and func.id == "Response") or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "Response"
            )
            first = node.args[0]
            if named and isinstance(first, ast.Constant) and isinstance(first.value, int):
                statuses.add(first.value)
    return statuses


def has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", text) is not None


def test_every_error_code_and_http_answer_of_the_lab_ews_has_a_fidelity_row() -> None:
    section = ews_section()
    codes = emitted_codes()
    assert {"ErrorItemNotFound", "ErrorServerBusy", "ErrorSchemaValidation"} <= set(codes)  # the scan works
    missing = {code: sorted(where) for code, where in codes.items() if not has_word(section, code)}
    assert missing == {}, "error codes the lab's EWS answers without a row in FIDELITY.md"

    response_codes = EwsSchema(SCHEMA_DIR).response_codes
    assert sorted(set(codes) - response_codes) == [], "not members of ResponseCodeType"

    statuses = http_statuses()
    assert {200, 401, 403, 500} <= statuses
    assert [s for s in sorted(statuses) if s != 200 and not has_word(section, str(s))] == []
    for reason in (access.EWS_DISABLED, access.EWS_BLOCKED):
        assert reason in section  # X-EWS-Policy-Reason values
    for code, _, _ in access._DIAGNOSTICS.values():
        assert has_word(section, str(code))  # x-ms-diagnostics codes
    for kind in FAULT_KINDS:
        assert has_word(section, kind), f"fault kind {kind} has no EWS row"


# --- the codes no exchangelib-driven test provokes -------------------------------------------------------


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    with exchangelib_against(fresh_lab) as helper:
        yield helper


def envelope(address: str, body: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="{M}" xmlns:t="{T}">
  <s:Header>
    <t:RequestServerVersion Version="Exchange2016"/>
    <t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{address}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>
  </s:Header>
  <s:Body>{body}</s:Body>
</s:Envelope>"""


class Raw:
    """Raw SOAP as the sync app, impersonating one mailbox; answers as (ResponseCodes, the parsed envelope)."""

    def __init__(self, ews: EwsHelper, local: str) -> None:
        self.ews = ews
        self.address = ews.address(local)
        self.token = ews.token()

    def call(self, body: str) -> tuple[list[str], ET.Element]:
        response = self.ews.post(envelope(self.address, body), token=self.token)
        assert response.status_code == 200, response.text
        root = ET.fromstring(response.content)
        return [e.text or "" for e in root.iter(f"{{{M}}}ResponseCode")], root

    def create(self, subject: str, extra: str = "") -> tuple[str, str]:
        codes, root = self.call(
            f"""<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>
            <t:Subject>{subject}</t:Subject><t:Start>2031-05-05T09:00:00Z</t:Start>
            <t:End>2031-05-05T10:00:00Z</t:End>{extra}</t:CalendarItem></m:Items></m:CreateItem>"""
        )
        assert codes == ["NoError"]
        found = next(root.iter(f"{{{T}}}ItemId"))
        return found.get("Id", ""), found.get("ChangeKey", "")

    def cancel(self, item_id: str) -> tuple[list[str], ET.Element]:
        return self.call(
            f"""<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:CancelCalendarItem>
            <t:ReferenceItemId Id="{item_id}"/></t:CancelCalendarItem></m:Items></m:CreateItem>"""
        )

    def update(self, item_id: str, change_key: str, update: str) -> list[str]:
        return self.call(
            f"""<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone">
            <m:ItemChanges><t:ItemChange><t:ItemId Id="{item_id}" ChangeKey="{change_key}"/>
            <t:Updates>{update}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"""
        )[0]

    def find(self, view: str, restriction: str = "") -> list[str]:
        return self.call(
            f"""<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>
            {view}{restriction}<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds>
            </m:FindItem>"""
        )[0]


def test_request_errors_that_exchangelib_never_provokes(ews: EwsHelper) -> None:
    raw = Raw(ews, "DiegoS")
    with capture.capture() as answers:
        item_id, _ = raw.create("Errors")
        codes, _ = raw.call(
            """<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items>
            <t:CalendarItem><t:Subject>No times</t:Subject></t:CalendarItem>
            <t:CalendarItem><t:Subject>No address</t:Subject><t:Start>2031-05-05T09:00:00Z</t:Start>
            <t:End>2031-05-05T10:00:00Z</t:End><t:RequiredAttendees><t:Attendee><t:Mailbox><t:Name>Nobody</t:Name>
            </t:Mailbox></t:Attendee></t:RequiredAttendees></t:CalendarItem></m:Items></m:CreateItem>"""
        )
        assert codes == ["ErrorCalendarInvalidPropertyState", "ErrorInvalidRecipients"]

        assert raw.call(
            """<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:CancelCalendarItem/></m:Items>
            </m:CreateItem>"""
        )[0] == ["ErrorMissingInformationReferenceItemId"]
        codes, root = raw.cancel(item_id)
        assert codes == ["NoError"]
        moved = next(root.iter(f"{{{T}}}ItemId")).get("Id", "")
        assert raw.cancel(moved)[0] == ["ErrorInvalidReferenceItem"]  # in Deleted Items, already cancelled

        other_id, other_key = raw.create("Changed")
        assert raw.update(
            other_id,
            other_key,
            """<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>x</t:Subject>
            </t:Message></t:SetItemField>""",
        ) == ["ErrorUpdatePropertyMismatch"]
        assert raw.update(
            other_id,
            other_key,
            """<t:AppendToItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>x</t:Subject>
            </t:CalendarItem></t:AppendToItemField>""",
        ) == ["ErrorInvalidPropertyAppend"]
        assert raw.call(
            f"""<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="{other_id}"/></m:ItemIds>
            </m:DeleteItem>"""
        )[0] == ["ErrorSendMeetingCancellationsRequired"]

        paged = '<m:IndexedPageItemView MaxEntriesReturned="{n}" Offset="{offset}" BasePoint="Beginning"/>'
        assert raw.find(paged.format(n=0, offset=0)) == ["ErrorInvalidPagingMaxRows"]
        assert raw.find(paged.format(n=10, offset=-1)) == ["ErrorInvalidIndexedPagingParameters"]
        field_to_field = """<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant>
            <t:FieldURI FieldURI="calendar:Location"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>"""
        assert raw.find(paged.format(n=10, offset=0), field_to_field) == ["ErrorUnsupportedQueryFilter"]

    schema = EwsSchema(SCHEMA_DIR)
    assert len(answers.entries) == 12
    assert {a.operation: schema.problems(a.body) for a in answers.entries if schema.problems(a.body)} == {}
