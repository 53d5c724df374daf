"""The seam between the lab's HTTPS server and its protocols: Request, Response, handlers and routes.

The server does latency, counting and faults for every protocol; protocols only classify and answer.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

#: Fault kinds the server can inject (POST /lab/faults).
FAULT_KINDS = (
    "server_busy",
    "server_busy_200",  # EWS: ErrorServerBusy as an error message inside an HTTP 200 answer
    "exceeded_connection_count",  # EWS: ErrorExceededConnectionCount
    "http_503",
    "http_500",
    "http_401",
    "drop_before",
    "drop_after",
)


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # as sent: path and query
    path: str  # decoded path, without the query
    query: dict[str, list[str]]
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client: tuple[str, int]
    # Which TCP connection carried the request (unique per server): NTLM authenticates a connection, not a request.
    connection: int = 0

    @classmethod
    def build(
        cls,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        client: tuple[str, int],
        connection: int = 0,
    ) -> Request:
        split = urllib.parse.urlsplit(target)
        return cls(
            method=method.upper(),
            target=target,
            path=urllib.parse.unquote(split.path),
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
            headers=tuple(headers),
            body=body,
            client=client,
            connection=connection,
        )

    def header(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";", 1)[0].strip().lower()

    def form(self) -> dict[str, str]:
        """The url-encoded form body (first value of each field); empty unless the content type says form."""
        if self.content_type != "application/x-www-form-urlencoded":
            return {}
        try:
            parsed = urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}
        return {k: v[0] for k, v in parsed.items()}

    def json(self) -> Any:
        """The JSON body; raises ValueError when it is not JSON."""
        if not self.body.strip():
            return None
        value = json.loads(self.body.decode("utf-8"))
        # JSON may escape a lone surrogate ("\ud800"), which Python reads into a str UTF-8 cannot encode: stored, it
        # would make every later save of tenant.json fail. UnicodeEncodeError is a ValueError: "not JSON" to callers.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False  # answer, then close the connection

    @classmethod
    def json(cls, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return cls(status, body, [("Content-Type", "application/json; charset=utf-8"), *headers])

    @classmethod
    def text(
        cls, status: int, text: str, content_type: str = "text/plain", headers: Iterable[tuple[str, str]] = ()
    ) -> Response:
        return cls(
            status, text.encode("utf-8"), [("Content-Type", f"{content_type}; charset=utf-8"), *headers]
        )

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class LabHandler:
    """A protocol of the lab: names each request (`classify`), answers it (`handle`), and may shape
    injected faults its own way (`fault_response`, e.g. a SOAP ErrorServerBusy for EWS)."""

    def classify(self, request: Request) -> tuple[str, str]:
        """(protocol, operation): counted as `<protocol>:<operation>`, matched against injected faults."""
        raise NotImplementedError

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def fault_response(self, kind: str, back_off_ms: int, request: Request) -> Response | None:
        """This protocol's shape of an injected fault (e.g. a SOAP ErrorServerBusy); None = generic."""
        return None

    def extra_counts(self, request: Request, response: Response) -> Iterable[str]:
        """Further count keys a request produced (e.g. `cmdlet:<Name>` inside a WinRM message)."""
        return ()

    def settle(self) -> None:
        """Called after a request handled for an injected `drop_after` fault, before its answer is dropped: wait
        until what the request started has taken effect (e.g. a WinRM pipeline that runs in its own thread)."""


@dataclass(frozen=True)
class Route:
    """Which paths a handler serves; `instrumented` routes get latency, counting and faults."""

    matches: Callable[[str], bool]
    handler: LabHandler
    instrumented: bool = True

    @classmethod
    def prefix(cls, prefix: str, handler: LabHandler, *, instrumented: bool = True) -> Route:
        # Case-insensitive like IIS: clients write /EWS/Exchange.asmx and /ews/exchange.asmx alike.
        lowered = prefix.lower()
        return cls(lambda path: path.lower().startswith(lowered), handler, instrumented)

    @classmethod
    def pattern(cls, pattern: re.Pattern[str], handler: LabHandler, *, instrumented: bool = True) -> Route:
        return cls(lambda path: pattern.match(path) is not None, handler, instrumented)


def generic_fault(kind: str, back_off_ms: int) -> Response:
    """A protocol-neutral answer for an injected fault (protocols may shape their own)."""
    retry_after = [("Retry-After", str(max(1, -(-back_off_ms // 1000))))] if back_off_ms else []
    if kind == "http_401":
        return Response.text(
            401, "Unauthorized (injected by the lab)", headers=[("WWW-Authenticate", "Bearer")]
        )
    if kind == "http_500":
        return Response.text(500, "Internal Server Error (injected by the lab)")
    if kind == "server_busy":
        return Response.text(429, "Too Many Requests (injected by the lab)", headers=retry_after)
    return Response.text(503, "Service Unavailable (injected by the lab)", headers=retry_after)
