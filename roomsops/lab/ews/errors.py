"""EWS error answers: per-item errors (a ResponseMessage with ResponseClass="Error") and whole-request SOAP faults.

Message texts: where a Microsoft page or a public observation shows Exchange's wording it is used; the rest are
the lab's (listed as unverified in FIDELITY.md). Every code used here is a member of ResponseCodeType.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Exchange's wording where known (web-service-reference pages, observations); else the lab's.
MESSAGE_TEXTS = {
    "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
    "ErrorCalendarEndDateIsEarlierThanStartDate": "EndDate is earlier than StartDate",
    "ErrorCalendarViewRangeTooBig": "The time range of the calendar view is larger than the maximum of two years.",
    "ErrorChangeKeyRequiredForWriteOperations": "The change key is required for this operation.",
    "ErrorExceededConnectionCount": (
        "You have exceeded the available concurrent connections for your account.  Try again once your other "
        "requests have completed."
    ),
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorImpersonateUserDenied": "The account does not have permission to impersonate the requested user.",
    "ErrorInvalidChangeKey": "The change key is invalid.",
    "ErrorInvalidExchangeImpersonationHeaderData": (
        "ExchangeImpersonation SOAP header must be present for this type of OAuth token."
    ),
    "ErrorInvalidIdMalformed": "Id is malformed.",
    "ErrorInvalidOperation": "The operation is not valid for this item.",
    "ErrorInvalidPagingMaxRows": "The maximum number of rows to return must be a positive number.",
    "ErrorInvalidPropertyRequest": "The property request is not valid.",
    "ErrorInvalidSubscription": "The subscription is not valid.",
    "ErrorInvalidSyncStateData": "Synchronization state data is corrupt or otherwise invalid.",
    "ErrorInvalidWatermark": "The watermark is not valid.",
    "ErrorIrresolvableConflict": (
        "The send or update operation could not be performed because the change key passed in the request "
        "does not match the current change key for the item."
    ),
    "ErrorItemNotFound": "The specified object was not found in the store.",
    "ErrorNameResolutionNoResults": "No results were found.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorSchemaValidation": "The request failed schema validation.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
    "ErrorSubscriptionNotFound": "No subscription was found with the specified ID.",
    "ErrorUnsupportedPathForQuery": "The property path is not supported for a query restriction.",
}


def text_of(code: str) -> str:
    return MESSAGE_TEXTS.get(code, code)


class EwsError(Exception):
    """An error answer for one item or one request message (HTTP 200, ResponseClass="Error")."""

    def __init__(
        self, code: str, text: str | None = None, *, values: Mapping[str, str] | None = None
    ) -> None:
        self.code = code
        self.text = text or text_of(code)
        self.values = dict(values or {})  # MessageXml <t:Value Name="..."> entries
        super().__init__(f"{code}: {self.text}")

    @classmethod
    def schema(cls, violation: str) -> EwsError:
        """A request the schema would refuse; raised deep in parsing, answered as a SOAP fault by the service."""
        return cls("ErrorSchemaValidation", f"{text_of('ErrorSchemaValidation')} {violation}")


class SoapFault(Exception):
    """A whole-request error: HTTP 500 with a SOAP fault (what Exchange does for ErrorServerBusy, schema
    validation, impersonation and mailbox resolution failures)."""

    def __init__(
        self,
        code: str,
        text: str | None = None,
        *,
        values: Mapping[str, str] | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        self.code = code
        self.text = text or text_of(code)
        self.values = dict(values or {})  # <t:Value Name=...> inside MessageXml (e.g. BackOffMilliseconds)
        self.details = dict(details or {})  # other MessageXml children (LineNumber, LinePosition, Violation)
        super().__init__(f"{code}: {self.text}")

    @classmethod
    def schema_validation(
        cls, violation: str, *, line: int | None = None, position: int | None = None
    ) -> SoapFault:
        details = {}
        if line is not None:
            details["LineNumber"] = str(line)
        if position is not None:
            details["LinePosition"] = str(position)
        details["Violation"] = violation
        return cls("ErrorSchemaValidation", details=details)

    @classmethod
    def server_busy(cls, back_off_ms: int) -> SoapFault:
        # BackOffMilliseconds is the <t:Value> exchangelib reads (services/common.py _raise_soap_errors).
        values = {"BackOffMilliseconds": str(back_off_ms)} if back_off_ms > 0 else {}
        return cls("ErrorServerBusy", values=values)
