"""An HTTP listener for a WSGI application (cheroot: threaded, pure Python, runs on Windows too), started in a
thread of its own beside `roomsops serve`'s scheduler and stopped with it.

Why cheroot (issue 26): roomsops' sync is synchronous (threads, requests, exchangelib), so a threaded WSGI server
fits without an event loop; cheroot is maintained by the CherryPy project, has no C extension, supports Windows,
and serves TLS from a certificate file itself (the Graph webhook listener may need it without a reverse proxy).
waitress has no TLS of its own; uvicorn with starlette and aiohttp bring an asyncio loop and more packages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cheroot import wsgi

from roomsops.core.errors import InputError

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


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
    ) -> None:
        """`tls`: (certificate file, key file or None when the certificate's PEM holds the key) to serve HTTPS;
        `max_body`: requests with a larger body are answered 413 by cheroot (0: no limit); `timeout`: seconds a
        connection may stay silent while a request is read (then it is closed); `threads`: requests served at once
        (a connection held open holds one)."""
        self._server = wsgi.Server(
            (host, port), app, numthreads=threads, server_name="roomsops", timeout=timeout
        )
        self._server.max_request_body_size = max_body
        if tls is not None:
            from cheroot.ssl.builtin import BuiltinSSLAdapter

            cert, key = tls
            try:
                self._server.ssl_adapter = BuiltinSSLAdapter(str(cert), str(key or cert))
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
