"""The lab's one HTTPS server on 127.0.0.1: routes by path, and adds latency, counts and faults for all.

TLS is negotiated in each connection's own thread, so a slow or refusing client never blocks accept().
"""

from __future__ import annotations

import itertools
import logging
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from roomsops.lab.context import LOOPBACK, LabOptions
from roomsops.lab.faults import FaultBook, RequestCounter
from roomsops.lab.web import Request, Response, Route, generic_fault

log = logging.getLogger("roomsops.lab")

MAX_BODY = 32 * 1024 * 1024
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0


class _Drop:
    """Marker: close the connection without answering."""


DROP = _Drop()


def server_ssl_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


class Dispatcher:
    """Finds the route of a request and applies, in this order: count, latency, fault, handler."""

    def __init__(
        self, routes: Sequence[Route], counter: RequestCounter, faults: FaultBook, options: LabOptions
    ):
        self.routes = list(routes)
        self.counter = counter
        self.faults = faults
        self.options = options

    def dispatch(self, request: Request) -> Response | _Drop:
        route = next((r for r in self.routes if r.matches(request.path)), None)
        if route is None:
            return Response.json(
                404, {"error": {"code": "not_found", "message": f"no such path: {request.path}"}}
            )
        handler = route.handler
        if not route.instrumented:
            return self._handle(route, request)
        try:
            protocol, operation = handler.classify(request)
        except Exception:
            log.exception("lab handler could not classify %s %s", request.method, request.path)
            protocol, operation = "unknown", "unknown"
        self.counter.add(f"{protocol}:{operation}")
        if self.options.latency_ms > 0:
            time.sleep(self.options.latency_ms / 1000)
        fault = self.faults.take(protocol, operation)
        if fault is None:
            return self._handle(route, request)
        log.info("injecting %s into %s:%s (fault %d)", fault.kind, protocol, operation, fault.id)
        if fault.kind == "drop_before":
            return DROP
        if fault.kind == "drop_after":
            self._handle(route, request)  # the request takes effect; only its answer is lost
            route.handler.settle()
            return DROP
        shaped = handler.fault_response(fault.kind, fault.back_off_ms, request)
        return shaped if shaped is not None else generic_fault(fault.kind, fault.back_off_ms)

    def _handle(self, route: Route, request: Request) -> Response:
        try:
            response = route.handler.handle(request)
        except Exception:
            log.exception("lab handler failed on %s %s", request.method, request.path)
            return Response.json(
                500, {"error": {"code": "lab_error", "message": "the lab failed; see its log"}}
            )
        if route.instrumented:
            for key in route.handler.extra_counts(request, response):
                self.counter.add(key)
        return response


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _RequestHandler(BaseHTTPRequestHandler):
    server: LabHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "roomsops-lab"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    connection_id = 0  # set per connection in setup(); a request carries it (per-connection auth state)

    def setup(self) -> None:
        super().setup()
        self.connection_id = next(self.server.connection_ids)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except _BadRequest as exc:
            self.close_connection = True
            self._write(Response.json(exc.status, {"error": {"code": "bad_request", "message": str(exc)}}))
            return
        request = Request.build(
            self.command, self.path, self.headers.items(), body, self.client_address[:2], self.connection_id
        )
        outcome = self.server.dispatcher.dispatch(request)
        if isinstance(outcome, _Drop):
            self.close_connection = True
            self.server.drop(self.connection)
            return
        self._write(outcome)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw)
        except ValueError:
            raise _BadRequest(400, f"bad Content-Length {raw!r}") from None
        if length < 0 or length > MAX_BODY:
            raise _BadRequest(413, "request body too large")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "bad chunk size") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _BadRequest(413, "request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        names = {k.lower() for k, _ in response.headers}
        for key, value in response.headers:
            self.send_header(key, value)
        if "content-type" not in names and response.body:
            self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(response.body)))
        if response.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


class LabHTTPServer(ThreadingHTTPServer):
    """Threaded HTTPS on 127.0.0.1 only; `stop()` ends the accept loop and every open connection."""

    daemon_threads = False  # joined on stop, so that stop() returns with every handler finished
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, port: int, ssl_context: ssl.SSLContext, dispatcher: Dispatcher) -> None:
        self.ssl_context = ssl_context
        self.dispatcher = dispatcher
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        # Numbers connections for per-connection state (NTLM); next() on a count is atomic in CPython.
        self.connection_ids = itertools.count(1)
        super().__init__((LOOPBACK, port), _RequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        # A short poll interval only so that stop() returns quickly; accept() itself is event-driven.
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name=f"lab-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            self._shutdown_socket(sock)
        self.server_close()  # closes the listener and joins the connection threads

    def finish_request(self, request: Any, client_address: Any) -> None:
        raw: socket.socket = request
        self._track(raw)
        try:
            # Headers and body leave in separate writes; without NODELAY, Nagle + delayed ACK add 40 ms each.
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            raw.settimeout(HANDSHAKE_TIMEOUT)
            try:
                tls = self.ssl_context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.debug("TLS handshake with %s failed: %s", client_address, exc)
                return
            self._track(tls)  # before the raw socket is forgotten, so that stop() always sees one of them
        finally:
            self._untrack(raw)
        try:
            if not self._stopping.is_set():
                _RequestHandler(tls, client_address, self)
        except (ssl.SSLError, OSError) as exc:
            log.debug("connection from %s ended: %s", client_address, exc)
        finally:
            self._untrack(tls)
            tls.close()

    def drop(self, connection: socket.socket) -> None:
        """End a connection without answering (an injected drop): no response, no TLS close_notify."""
        self._shutdown_socket(connection)

    def _track(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(sock)

    @staticmethod
    def _shutdown_socket(sock: socket.socket) -> None:
        # socket.socket.shutdown, not SSLSocket.shutdown: the latter drops the SSL object under a reader.
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass
