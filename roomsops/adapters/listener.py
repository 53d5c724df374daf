"""An HTTP listener for a WSGI application (cheroot: threaded, pure Python, runs on Windows too), started in a
thread of its own beside `roomsops serve`'s scheduler and stopped with it.

Why cheroot (issue 26): roomsops' sync is synchronous (threads, requests, exchangelib), so a threaded WSGI server
fits without an event loop; cheroot is maintained by the CherryPy project, has no C extension, supports Windows,
and serves TLS from a certificate file itself (the Graph webhook listener may need it without a reverse proxy).
waitress has no TLS of its own; uvicorn with starlette and aiohttp bring an asyncio loop and more packages.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cheroot import wsgi
from cheroot.errors import MaxSizeExceeded
from cheroot.server import ChunkedRFile, HTTPConnection, HTTPRequest
from cheroot.ssl.builtin import BuiltinSSLAdapter

from roomsops.core.errors import InputError
from roomsops.core.logs import log

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Deadlines:
    """Connections in a request (their TLS handshake, request line, headers and body) and when each must be done:
    a thread shuts the socket of one past its deadline, so its worker thread is free again. cheroot's `timeout`
    only limits each silent wait; a client sending a byte now and then would hold a thread for as long as it
    likes (and with more such clients than threads, every request waits)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._open: dict[int, tuple[float, _Connection]] = {}
        self._changed = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._watch, name="listen deadlines", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def enter(self, conn: _Connection) -> None:
        with self._changed:
            self._open[id(conn)] = (time.monotonic() + self.seconds, conn)
            self._changed.notify()

    def leave(self, conn: _Connection) -> None:
        with self._changed:
            self._open.pop(id(conn), None)

    def _watch(self) -> None:
        with self._changed:
            while not self._stopped:
                now = time.monotonic()
                for key, (deadline, conn) in list(self._open.items()):
                    if deadline <= now:
                        del self._open[key]
                        conn.cut = True
                        # the plain socket's shutdown (an SSLSocket's would drop its TLS state under the reader):
                        # the worker's blocked read returns at once, its request ends and the connection closes
                        try:
                            socket.socket.shutdown(conn.socket, socket.SHUT_RDWR)
                        except OSError:
                            pass
                soonest = min((d for d, _ in self._open.values()), default=None)
                self._changed.wait(timeout=None if soonest is None else max(0.0, soonest - now))


class _LazyHandshake(BuiltinSSLAdapter):
    """cheroot's TLS adapter with the handshake left to the worker thread that serves the connection
    (`_Connection`): cheroot does it in its one accepting thread, so each client that connects and sends nothing
    stalls every other connection for the read timeout."""

    def wrap(self, sock: Any) -> tuple[Any, dict[str, Any]]:
        wrapped = self.context.wrap_socket(sock, do_handshake_on_connect=False, server_side=True)
        return wrapped, {"wsgi.url_scheme": "https", "HTTPS": "on"}


_serving = threading.local()  # the connection a worker thread serves (`_Server.error_log`)


#: A client's failed connections (reset, closed mid-TLS, an answer it did not read) are logged in one line each, the
#: first `CLIENT_ERRORS_LOGGED` and then every `CLIENT_ERRORS_EVERY`th: any client can cause them at will.
CLIENT_ERRORS_LOGGED = 10
CLIENT_ERRORS_EVERY = 1000

#: The most bytes of a request line and its headers read (cheroot's default, 0, reads any size: megabytes of header
#: held in memory per connection). nginx's and IIS's limits are 8 and 16 KiB; Graph's requests have a few hundred
#: bytes of headers. Over it: 413 (cheroot's answer to headers too large; 414 for a request line), connection closed.
MAX_HEADER = 16 * 1024


class _Server(wsgi.Server):
    deadlines: _Deadlines | None = None
    label = "listener"
    client_errors = 0
    too_large = 0
    #: called once per request refused as too large (its headers or its body), e.g. to count it in a metric
    on_too_large: Callable[[], None] | None = None
    _count_lock = threading.Lock()

    def refused_too_large(self, status: str) -> None:
        """A request refused by cheroot as too large (413/414): counted, and logged in one line the first
        `CLIENT_ERRORS_LOGGED` times and then every `CLIENT_ERRORS_EVERY`th (any client can send them at will)."""
        with self._count_lock:
            self.too_large += 1
            count = self.too_large
        if self.on_too_large is not None:
            with contextlib.suppress(Exception):
                self.on_too_large()
        if count <= CLIENT_ERRORS_LOGGED or count % CLIENT_ERRORS_EVERY == 0:
            log.warning(
                "%s: a request was refused as too large (%s); %d so far",
                self.label,
                status,
                count,
                extra={"fields": {"event": "request_too_large", "count": count}},
            )

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        """cheroot's log of a failed request, but not for one its deadline cut (the write of its answer fails: not
        a problem of the server's), and in one bounded line, without cheroot's traceback, for a connection that
        failed on the client's side (an OSError: a garbage request line sent over TLS by a client that closes
        without reading the 400 makes four tracebacks)."""
        if getattr(getattr(_serving, "conn", None), "cut", False):
            return
        failed = sys.exc_info()[1]
        if isinstance(failed, OSError):
            with self._count_lock:
                self.client_errors += 1
                count = self.client_errors
            if count <= CLIENT_ERRORS_LOGGED or count % CLIENT_ERRORS_EVERY == 0:
                log.warning(
                    "%s: a client's connection failed (%s); %d so far",
                    self.label,
                    type(failed).__name__,
                    count,
                    extra={"fields": {"event": "client_connection_failed", "count": count}},
                )
            return
        super().error_log(msg, level, traceback)


class BodyTooLarge(OSError):
    """A request body over the listener's `max_body`, or a line of its chunked framing (a chunk's size line with its
    extensions, a trailer field) over `max_header`: raised by `wsgi.input`'s reads, so an application that answers
    an OSError of its body with 413 answers these so too (cheroot's own `MaxSizeExceeded` escaped the application:
    500 with a traceback)."""


class _BoundedLines:
    """The connection's reader with each line read bounded: cheroot reads a chunked body's size line and its trailer
    fields with an unbounded `readline()` (review2627: megabytes held in memory per connection, past the headers'
    limit)."""

    def __init__(self, rfile: Any, limit: int) -> None:
        self._rfile, self._limit = rfile, limit

    def readline(self, size: int | None = -1) -> bytes:
        bound = self._limit + 1 if size is None or size < 0 else min(size, self._limit + 1)
        line = bytes(self._rfile.readline(bound))
        if len(line) > self._limit:
            raise BodyTooLarge(f"a line of the chunked body is longer than {self._limit} bytes")
        return line

    def read(self, size: int | None = -1) -> bytes:
        return bytes(self._rfile.read(size))


class _ChunkedBody(ChunkedRFile):
    """cheroot's chunked body with its lines bounded (`_BoundedLines`) and every refusal as too large an OSError
    (`BodyTooLarge`)."""

    def __init__(self, rfile: Any, maxlen: int, line_limit: int) -> None:
        super().__init__(_BoundedLines(rfile, line_limit), maxlen)

    def read(self, size: int | None = None) -> bytes:
        try:
            return bytes(super().read(size))
        except MaxSizeExceeded:
            raise BodyTooLarge(f"the chunked body is larger than {self.maxlen} bytes") from None

    def readline(self, size: int | None = None) -> bytes:
        try:
            return bytes(super().readline(size))
        except MaxSizeExceeded:
            raise BodyTooLarge(f"the chunked body is larger than {self.maxlen} bytes") from None


class _Request(HTTPRequest):
    """cheroot's request, telling the server of each refused as too large (headers over `MAX_HEADER`, a body over
    the listener's `max_body`), and with a chunked body's lines bounded by `max_header` (`_ChunkedBody`)."""

    def respond(self) -> None:
        if not self.chunked_read:
            super().respond()
            return
        # cheroot's `respond` for a chunked body, with the body's reader bounded
        limit = self.server.max_request_header_size or MAX_HEADER
        self.rfile = _ChunkedBody(self.conn.rfile, self.server.max_request_body_size, limit)
        self.server.gateway(self).respond()
        if self.ready:
            self.ensure_headers_sent()
        if self.chunked_write:
            self.conn.wfile.write(b"0\r\n\r\n")

    def simple_response(self, status: Any, msg: Any = "") -> None:
        code = str(status)[:3]
        if code in ("413", "414") and isinstance(self.server, _Server):
            self.server.refused_too_large(str(status))
        super().simple_response(status, msg)


class _Connection(HTTPConnection):
    """A connection whose TLS handshake runs in its worker thread, and whose each request runs under the server's
    deadline (`_Deadlines`)."""

    RequestHandlerClass = _Request
    _handshaken = False
    cut = False  # its request's deadline passed: the socket was shut

    def communicate(self) -> bool:
        deadlines = getattr(self.server, "deadlines", None)
        if deadlines is not None:
            deadlines.enter(self)
        _serving.conn = self
        try:
            if isinstance(self.socket, ssl.SSLSocket) and not self._handshaken:
                try:
                    self.socket.do_handshake()
                except ssl.SSLError as exc:  # plain HTTP spoken to the TLS port: told so (as cheroot does)
                    if "http request" in str(exc).lower():
                        _plain_refusal(self.socket)
                    return False
                except OSError:  # a timeout, a dropped or cut connection: closed
                    return False
                self._handshaken = True
                adapter = self.server.ssl_adapter
                if isinstance(adapter, BuiltinSSLAdapter):
                    self.ssl_env = adapter.get_environ(self.socket)
            return bool(super().communicate())
        finally:
            _serving.conn = None
            if deadlines is not None:
                deadlines.leave(self)


class Listener:
    """`app` served on (host, port) until `stop()`; port 0 takes any free port (`address` says which)."""

    def __init__(
        self,
        host: str,
        port: int,
        app: WsgiApp,
        label: str,
        threads: int = 4,
        tls: tuple[Path, Path | None] | None = None,
        max_body: int = 0,
        timeout: int = 10,
        deadline: float | None = None,
        max_header: int = MAX_HEADER,
        on_too_large: Callable[[], None] | None = None,
    ) -> None:
        """`tls`: (certificate file, key file or None when the certificate's PEM holds the key) to serve HTTPS;
        `max_body`: requests with a larger body are answered 413 by cheroot (0: no limit); `timeout`: seconds a
        connection may stay silent while a request is read (then it is closed); `threads`: requests served at once
        (a connection in a request holds one; a connection idle between requests holds none); `deadline`: seconds
        a request may take from the start of its reading (with TLS: of its handshake) to its answer, however
        slowly its client sends (then its connection is closed; None: no limit); `max_header`: the most bytes of request
        line and headers read (over it: 413, or 414 for the request line); `on_too_large`: called for each request
        refused as too large (headers or body)."""
        self._server = _Server((host, port), app, numthreads=threads, server_name="roomsops", timeout=timeout)
        self._server.ConnectionClass = _Connection
        self._server.label = label
        self._server.max_request_body_size = max_body
        self._server.max_request_header_size = max_header
        self._server.on_too_large = on_too_large
        self._deadlines = _Deadlines(deadline) if deadline is not None else None
        self._server.deadlines = self._deadlines
        if tls is not None:
            cert, key = tls
            try:
                self._server.ssl_adapter = _LazyHandshake(str(cert), str(key or cert))
            except (OSError, ValueError) as exc:
                raise InputError(
                    f"{label}: cannot serve TLS with {cert} ({exc})",
                    "set serve.tls_cert_file and serve.tls_key_file to a PEM certificate and its private key",
                    code="listen_failed",
                ) from None
        self._label = label
        self._thread: threading.Thread | None = None

    def start(self) -> tuple[str, int]:
        """Bind and listen (exit 2 naming the setting when the address cannot be bound), then serve in a thread."""
        try:
            self._server.prepare()
        except OSError as exc:
            host, port = self._server.bind_addr[:2]
            raise InputError(
                f"{self._label}: cannot listen on {host}:{port} ({exc.strerror or exc})",
                f"set {self._label} to a free port of an address of this machine",
                code="listen_failed",
            ) from None
        if self._deadlines is not None:
            self._deadlines.start()
        self._thread = threading.Thread(target=self._server.serve, name=f"listen {self._label}", daemon=True)
        self._thread.start()
        return self.address

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.bind_addr[:2]
        return str(host), int(port)

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._deadlines is not None:
            self._deadlines.stop()


def _plain_refusal(sock: socket.socket) -> None:
    message = b"The client sent a plain HTTP request, but this server only speaks HTTPS on this port."
    head = f"HTTP/1.1 400 Bad Request\r\nContent-Length: {len(message)}\r\nContent-Type: text/plain\r\n"
    try:
        socket.socket.sendall(sock, head.encode("ascii") + b"Connection: close\r\n\r\n" + message)
    except OSError:
        pass
