"""Graph's error answers: `{"error": {"code", "message", "innerError": {...}}}` (graph/errors)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from roomsops.lab.web import Response


class GraphError(Exception):
    """An error answer of the lab's Graph: HTTP status, Graph's error code and message, extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = list(headers)

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.headers)


def error_body(code: str, message: str) -> dict[str, object]:
    request_id = str(uuid.uuid4())
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "request-id": request_id,
                "client-request-id": request_id,
            },
        }
    }


def error_response(status: int, code: str, message: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response.json(status, error_body(code, message), [*headers])


def bad_request(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def not_found(message: str = "The specified object was not found in the store.") -> GraphError:
    return GraphError(404, "ErrorItemNotFound", message)


ACCESS_DENIED = "Access is denied. Check credentials and try again."
#: What Graph answers when an application access policy keeps the app out of a mailbox (observed, FIDELITY.md).
POLICY_DENIED = (
    "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."
)
THROTTLED = "ApplicationThrottled"
