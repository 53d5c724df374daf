"""WinRM's HTTP authentication in the lab: Basic, and Negotiate/NTLM with MS-WSMV message encryption.

NTLM authenticates a *connection*: the handshake spans several requests on one TCP connection, after which
requests carry no Authorization header. State is therefore kept per `Request.connection`. pypsrp over
HTTPS does not encrypt messages unless `encryption="always"`; both forms are accepted, as Windows does.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spnego
import spnego.channel_bindings
import spnego.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from roomsops.lab.pki import write_private
from roomsops.lab.web import Request

log = logging.getLogger("roomsops.lab.winrm")

SPNEGO_ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = "Encrypted Boundary"
#: Domain parts a client may put before the local WinRM account's name ("labadmin", ".\\labadmin", ...).
HOST_DOMAINS = ("", ".", "MGMT01")
#: How many connections' NTLM state the lab remembers (the least recently used are dropped first; such a
#: connection's next request gets a 401 and pypsrp runs the handshake again).
MAX_CONNECTIONS = 512

# pyspnego's NTLM acceptor reads the accounts from the file named by $NTLM_USER_FILE, and several labs may
# run in one process (tests), each with its own password: the variable is set only around acceptor calls,
# under this lock, so that every lab sees its own file.
_NTLM_FILE_LOCK = threading.Lock()


@dataclass
class ConnectionState:
    """What one TCP connection has negotiated so far."""

    context: Any = None  # spnego server context during/after the handshake
    user: str | None = None  # set once the connection is authenticated


@dataclass
class Outcome:
    """The result of authenticating one request: the user and the plain SOAP body, or a 401 to send."""

    user: str | None
    body: bytes
    challenge: list[tuple[str, str]] = field(default_factory=list)  # WWW-Authenticate headers of a 401
    reply_headers: list[tuple[str, str]] = field(default_factory=list)  # e.g. the final Negotiate token
    encrypted: bool = False  # the request was wrapped, so the answer must be wrapped too
    state: ConnectionState | None = None
    error: str | None = None  # why authentication failed (the lab's log; never sent)

    @property
    def authenticated(self) -> bool:
        return self.user is not None


class Authenticator:
    """Checks the management host's one WinRM account; keeps NTLM state per connection."""

    def __init__(self, username: str, password: str, user_file: Path, server_cert_file: Path) -> None:
        self.username = username
        self._password = password
        self.user_file = user_file
        lines = "".join(f"{domain}:{username}:{password}\n" for domain in HOST_DOMAINS)
        write_private(user_file, lines.encode("utf-8"))
        self._bindings = _channel_bindings(server_cert_file)
        self._lock = threading.Lock()
        self._connections: OrderedDict[int, ConnectionState] = OrderedDict()

    def authenticate(self, request: Request) -> Outcome:
        value = request.header("Authorization") or ""
        scheme, _, token = value.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return self._basic(token.strip(), request.body)
        if scheme in ("negotiate", "ntlm", "kerberos"):
            return self._negotiate(request, token.strip())
        state = self._state(request.connection, create=False)
        if state is not None and state.user is not None:
            return self._authenticated_body(state, request)
        return Outcome(None, b"", challenge=self.challenge(), error="no Authorization header")

    def forget(self, connection: int) -> None:
        """Drop a connection's authentication (after a 401 the client must authenticate again)."""
        with self._lock:
            self._connections.pop(connection, None)

    @staticmethod
    def challenge() -> list[tuple[str, str]]:
        """The schemes WinRM offers in a 401, most preferred first."""
        return [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", 'Basic realm="WSMAN"')]

    def wrap(self, state: ConnectionState, body: bytes) -> tuple[str, bytes]:
        """Encrypt an answer the way the request was (MS-WSMV 2.2.9.1): returns (Content-Type, body)."""
        header, data, padding = state.context.wrap_winrm(body)
        parts = "\r\n".join(
            [
                f"--{BOUNDARY}",
                f"\tContent-Type: {SPNEGO_ENCRYPTED}",
                f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={len(body) + padding}",
                f"--{BOUNDARY}",
                "\tContent-Type: application/octet-stream",
                "",
            ]
        ).encode("ascii")
        payload = (
            parts + struct.pack("<i", len(header)) + header + data + f"--{BOUNDARY}--\r\n".encode("ascii")
        )
        return f'multipart/encrypted;protocol="{SPNEGO_ENCRYPTED}";boundary="{BOUNDARY}"', payload

    # --- schemes -------------------------------------------------------------------------------------------------

    def _basic(self, token: str, body: bytes) -> Outcome:
        try:
            user, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return Outcome(None, b"", challenge=self.challenge(), error="malformed Basic credentials")
        if not self._known_user(user) or password != self._password:
            return Outcome(
                None, b"", challenge=self.challenge(), error=f"wrong user name or password for {user!r}"
            )
        return Outcome(self.username, body)

    def _negotiate(self, request: Request, token_b64: str) -> Outcome:
        try:
            token = base64.b64decode(token_b64, validate=True) if token_b64 else b""
        except ValueError:
            return Outcome(None, b"", challenge=self.challenge(), error="malformed Negotiate token")
        state = self._state(request.connection, create=True)
        assert state is not None
        if state.context is None or state.context.complete or _is_ntlm_negotiate(token):
            state.user = None  # a new handshake on this connection starts over
            with self._user_file():
                state.context = spnego.server(protocol="negotiate", channel_bindings=self._bindings)
        try:
            with self._user_file():
                out = state.context.step(token)
        except (spnego.exceptions.SpnegoError, ValueError) as exc:
            self.forget(request.connection)
            return Outcome(None, b"", challenge=self.challenge(), error=f"NTLM authentication failed: {exc}")
        reply = [("WWW-Authenticate", "Negotiate " + base64.b64encode(out).decode("ascii"))] if out else []
        if not state.context.complete:
            return Outcome(None, b"", challenge=reply, state=state, error="NTLM handshake in progress")
        state.user = self.username
        outcome = self._authenticated_body(state, request)
        outcome.reply_headers = reply
        return outcome

    def _authenticated_body(self, state: ConnectionState, request: Request) -> Outcome:
        content_type = request.header("Content-Type") or ""
        if not content_type.lower().startswith("multipart/encrypted"):
            return Outcome(state.user, request.body, state=state)
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        try:
            body = _unwrap(state.context, request.body, match.group(1) if match else BOUNDARY)
        except (spnego.exceptions.SpnegoError, ValueError, IndexError, struct.error) as exc:
            self.forget(request.connection)
            return Outcome(None, b"", challenge=self.challenge(), error=f"cannot decrypt the message: {exc}")
        return Outcome(state.user, body, encrypted=True, state=state)

    def _known_user(self, user: str) -> bool:
        domain, _, name = user.rpartition("\\")
        return name.casefold() == self.username.casefold() and domain.upper() in HOST_DOMAINS

    def _state(self, connection: int, *, create: bool) -> ConnectionState | None:
        with self._lock:
            state = self._connections.get(connection)
            if state is not None:
                self._connections.move_to_end(connection)  # least recently used connections go first
            elif create:
                state = self._connections[connection] = ConnectionState()
                while len(self._connections) > MAX_CONNECTIONS:
                    self._connections.popitem(last=False)
            return state

    @contextlib.contextmanager
    def _user_file(self) -> Iterator[None]:
        with _NTLM_FILE_LOCK:
            previous = os.environ.get("NTLM_USER_FILE")
            os.environ["NTLM_USER_FILE"] = str(self.user_file)
            try:
                yield
            finally:
                if previous is None:
                    os.environ.pop("NTLM_USER_FILE", None)
                else:
                    os.environ["NTLM_USER_FILE"] = previous


def _unwrap(context: Any, data: bytes, boundary: str) -> bytes:
    """The SOAP text of a multipart/encrypted body (MS-WSMV 2.2.9.1.1)."""
    parts = [p for p in re.split(rb"--\s*" + re.escape(boundary.encode("ascii")) + rb"\r\n", data) if p]
    message = b""
    for i in range(0, len(parts), 2):
        length = int(parts[i].split(b"Length=")[1].strip())
        payload = re.sub(rb"--\s*" + re.escape(boundary.encode("ascii")) + rb"--\r\n$", b"", parts[i + 1])
        payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        header_length = struct.unpack("<i", payload[:4])[0]
        plain = context.unwrap_winrm(payload[4 : 4 + header_length], payload[4 + header_length :])
        if len(plain) != length:
            raise ValueError(f"decrypted {len(plain)} bytes, the envelope announced {length}")
        message += plain
    return message


def _is_ntlm_negotiate(token: bytes) -> bool:
    """An NTLM NEGOTIATE message (type 1), raw or inside SPNEGO: the start of a new handshake."""
    at = token.find(b"NTLMSSP\x00")
    return at >= 0 and token[at + 8 : at + 12] == b"\x01\x00\x00\x00"


def _channel_bindings(cert_file: Path) -> spnego.channel_bindings.GssChannelBindings | None:
    """tls-server-end-point bindings of the lab's TLS certificate (RFC 5929), as WinRM checks them."""
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except (OSError, ValueError):
        return None
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or algorithm.name in ("md5", "sha1"):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(serialization.Encoding.DER))
    return spnego.channel_bindings.GssChannelBindings(
        application_data=b"tls-server-end-point:" + digest.finalize()
    )
