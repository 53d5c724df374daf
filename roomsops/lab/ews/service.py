"""POST /EWS/Exchange.asmx: token check, SOAP parsing, impersonation, authorization, then the operation.

Order of checks, as Exchange Online answers them: the bearer token (401), the envelope (ErrorSchemaValidation
fault), the impersonation header (fault), the app's rights and the mailbox via `authz.authorize()` (401, 403 or
fault, see access.py), then the operation, which answers per item. Every request counts as `ews:<Operation>`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from roomsops.lab import authz
from roomsops.lab.bearer import BearerTokenError, bearer_token, verify_request
from roomsops.lab.context import LabContext
from roomsops.lab.ews import (
    capture,
    create_item,
    delete_item,
    find_item,
    folders,
    get_folder,
    get_item,
    move_item,
    notifications,
    resolve_names,
    sync_folder_items,
    update_item,
)
from roomsops.lab.ews.access import refusal, token_refused, unauthorized
from roomsops.lab.ews.common import Call, Operation, items_container
from roomsops.lab.ews.errors import EwsError, SoapFault
from roomsops.lab.ews.soap import (
    Element,
    Impersonation,
    SoapRequest,
    failure,
    fault_document,
    parse_request,
    peek_operation,
    response_document,
    utc_now,
)
from roomsops.lab.tenant import Mailbox, TenantState
from roomsops.lab.web import LabHandler, Request, Response

log = logging.getLogger("roomsops.lab.ews")

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        get_folder.OPERATION,
        folders.CREATE_FOLDER,
        folders.FIND_FOLDER,
        find_item.OPERATION,
        get_item.OPERATION,
        create_item.OPERATION,
        update_item.OPERATION,
        delete_item.OPERATION,
        move_item.OPERATION,
        sync_folder_items.OPERATION,
        notifications.SUBSCRIBE,
        notifications.GET_EVENTS,
        notifications.UNSUBSCRIBE,
        resolve_names.OPERATION,
    )
}
XML = "text/xml; charset=utf-8"


class EwsService(LabHandler):
    """The lab's EWS endpoint; mounted at /EWS/ (case-insensitive, like IIS)."""

    def __init__(self, ctx: LabContext) -> None:
        self.ctx = ctx

    def classify(self, request: Request) -> tuple[str, str]:
        # The operation is the first child of s:Body (EWS has one URL for all operations).
        if request.method != "POST":
            return "ews", request.method
        return "ews", peek_operation(request.body)

    def handle(self, request: Request) -> Response:
        return self._recorded(request, self._answer(request))

    def fault_response(self, kind: str, back_off_ms: int, request: Request) -> Response | None:
        if kind == "server_busy":
            response = _fault(SoapFault.server_busy(back_off_ms))
        elif kind == "server_busy_200":
            # The other shape Exchange throttles with: HTTP 200, the operation's answer with one error message
            # ErrorServerBusy carrying BackOffMilliseconds in MessageXml (ews-throttling-in-exchange).
            operation = peek_operation(request.body)
            busy = EwsError(
                "ErrorServerBusy", values={"BackOffMilliseconds": str(back_off_ms)} if back_off_ms else {}
            )
            message = failure(operation, busy, *_error_tail(operation))
            response = Response(
                200, response_document(operation, [message]), [("Content-Type", XML), _request_id()]
            )
        elif kind == "exceeded_connection_count":
            response = _fault(SoapFault("ErrorExceededConnectionCount"))
        elif kind == "http_401":
            response = unauthorized(self._authorize_uri(), "expired")
        elif kind == "http_500":
            # What IIS answers when EWS itself fails; exchangelib treats this page as a transient error.
            response = Response.text(500, "Server Error in '/EWS' Application.", "text/html")
        else:
            return None  # http_503 and the drops: the server's generic answers
        return self._recorded(request, response)

    def _recorded(self, request: Request, response: Response) -> Response:
        """The answer, after showing it to the test hook (roomsops.lab.ews.capture)."""
        content_type = response.header("Content-Type") or ""
        capture.record(self.classify(request)[1], response.status, content_type, response.body)
        return response

    # --- the request ---------------------------------------------------------------------------------

    def _answer(self, request: Request) -> Response:
        if request.method != "POST":
            # Only SOAP over POST is emulated; other methods get the server's "no such path" (a lab choice).
            return Response.json(
                404, {"error": {"code": "not_found", "message": f"no such path: {request.path}"}}
            )
        try:
            claims = verify_request(self.ctx, request)
        except BearerTokenError as error:
            return token_refused(self._authorize_uri(), error, bearer_token(request))
        try:
            soap = parse_request(request.body)
            return self._dispatch(request, soap, claims)
        except SoapFault as fault:
            return _fault(fault)

    def _dispatch(self, request: Request, soap: SoapRequest, claims: Mapping[str, Any]) -> Response:
        operation = OPERATIONS.get(soap.operation)
        if operation is None:
            raise SoapFault(
                "ErrorInvalidOperation", f"The lab does not emulate the EWS operation {soap.operation}."
            )
        if claims.get("idtyp") != "app":
            raise SoapFault("ErrorAccessDenied", "The lab's EWS accepts app-only tokens only.")
        if soap.impersonation is None:
            raise SoapFault("ErrorInvalidExchangeImpersonationHeaderData")
        address = self._impersonated_address(soap.impersonation)
        anchor = request.header("X-AnchorMailbox")
        if anchor and self.ctx.tenant.find_mailbox(anchor) is None:
            # Exchange Online routes by the anchor mailbox before it reads the SOAP header (unverified).
            raise SoapFault("ErrorNonExistentMailbox", values={"SmtpAddress": anchor})
        decision = authz.authorize(
            self.ctx.tenant, str(claims.get("appid", "")), address, token_roles=list(claims.get("roles", []))
        )
        if not decision.allowed:
            refused = refusal(decision.reason, claims, address, self._authorize_uri())
            if isinstance(refused, SoapFault):
                raise refused
            return refused
        return self._run(operation, soap, decision.mailbox or address)

    def _impersonated_address(self, impersonation: Impersonation) -> str:
        if not impersonation.value:
            raise SoapFault("ErrorInvalidExchangeImpersonationHeaderData")
        if impersonation.kind != "SID":
            return (
                impersonation.value
            )  # PrimarySmtpAddress, SmtpAddress and PrincipalName (UPN = primary here)
        with self.ctx.tenant.read() as state:
            found = next(
                (mb for mb in state.mailboxes if mb.sid.casefold() == impersonation.value.casefold()), None
            )
            if found is None:
                raise SoapFault("ErrorNonExistentMailbox", values={"SID": impersonation.value})
            return found.primary_smtp

    def _run(self, operation: Operation, soap: SoapRequest, address: str) -> Response:
        tenant = self.ctx.tenant
        with tenant.read() as state:
            needs_store = _mailbox(state, address).id not in state.calendars
        if operation.writes or needs_store:
            with tenant.change() as state:
                messages = self._messages(operation, state, soap, address)
        else:
            with tenant.read() as state:
                messages = self._messages(operation, state, soap, address)
        return Response(
            200, response_document(operation.name, messages), [("Content-Type", XML), _request_id()]
        )

    def _messages(
        self, operation: Operation, state: TenantState, soap: SoapRequest, address: str
    ) -> list[Element]:
        call = Call(state, _mailbox(state, address), soap, utc_now())
        try:
            return operation.handle(call)
        except EwsError as error:
            if error.code == "ErrorSchemaValidation":
                raise SoapFault.schema_validation(error.text) from None
            return [failure(operation.name, error, *_error_tail(operation.name))]

    def _authorize_uri(self) -> str:
        return f"{self.ctx.base_url}/{self.ctx.tenant.tenant_id}/oauth2/authorize"


def _mailbox(state: TenantState, address: str) -> Mailbox:
    found = state.find_mailbox(address)
    if found is None:  # authorize() found it a moment ago; a reset in between is the only way here
        raise SoapFault("ErrorNonExistentMailbox", values={"SmtpAddress": address})
    return found


def _error_tail(operation: str) -> list[Element]:
    """Elements an operation's error message must still carry to validate (ItemInfoResponseMessageType: Items)."""
    return [items_container()] if operation in ("CreateItem", "GetItem", "UpdateItem") else []


def _fault(fault: SoapFault) -> Response:
    return Response(500, fault_document(fault), [("Content-Type", XML), _request_id()])


def _request_id() -> tuple[str, str]:
    return ("request-id", str(uuid.uuid4()))
