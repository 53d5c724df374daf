"""review26w: the webhook (on the internet when it serves TLS itself, serve.tls_cert_file) reads request headers of
any size. cheroot's `max_request_header_size` is left at 0 (no limit) by `Listener`, so a header line of megabytes
is read into memory, parsed and handed to the app: a notification POST with a 4 MiB header is answered 202 like any
other. Only the request deadline (5 s) bounds it — as many bytes as a client can send in 5 s, per connection, on
each of the webhook's 32 threads: on a fast link gigabytes of the service's memory for anyone who can reach it.

The issue asks for "request size limits" on the webhook, and README says it "reads at most 1 MiB per" request body
(the server refuses twice that): an operator expects the headers bounded too — refused (431, or 400/413) once they
pass some tens of KiB, as nginx (8 KiB buffers) or IIS (16 KiB) would in front of it — not read whole.

Against the lab: serve with its webhook on TLS (the lab's certificate) and DiegoS subscribed; one POST of an empty
notification collection carrying a 4 MiB header. No timing."""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import Invoke

from .test_serve_lab import HUNG, stopped
from .test_serve_webhook_lab import diego_over_graph, serve_subscribed

pytestmark = pytest.mark.integration
__all__ = ["diego_over_graph", "stopped"]  # the fixtures, used by name

PAD = 4 * 1024 * 1024  # twice what the server refuses as a body (2 * MAX_BODY)


def status_of(url: str, ca: str, header: bytes) -> int:
    """POST an empty notification collection to `url` with `header` among its headers: the answer's status."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 0)
    body = b'{"value": []}'
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n".encode()
        + header
        + f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    context = ssl.create_default_context(cafile=ca)
    with context.wrap_socket(socket.create_connection((host, port), timeout=30), server_hostname=host) as s:
        try:
            s.sendall(request)
        except OSError:  # refused while it was sent: the server closed after its answer
            pass
        answer = b""
        while b"\r\n" not in answer:
            piece = s.recv(4096)
            if not piece:
                break
            answer += piece
    return int(answer.split(b" ", 2)[1])


def test_review26w_the_webhook_refuses_megabytes_of_headers(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    process, err, _, hook, _ = serve_subscribed(env, tmp_path, stopped, fresh_lab, addr("DiegoS"))
    assert status_of(hook, fresh_lab.ca, b"X-Pad: small") == 202  # the control: an ordinary request is taken
    status = status_of(hook, fresh_lab.ca, b"X-Pad: " + b"a" * PAD)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0, err.read_text()[-2000:]
    assert status in (400, 413, 431), status
    # fix26v: said once (a bounded line: the first ones and then every 1000th), not with cheroot's traceback
    logged = (tmp_path / "roomsops.log").read_text()
    assert logged.count("serve.listen: a request was refused as too large (413") == 1, logged[-2000:]
