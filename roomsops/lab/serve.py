"""Starting and stopping the lab: `Lab` for in-process use (tests), `run()` for the blocking command."""

from __future__ import annotations

import contextlib
import errno
import http.client
import logging
import os
import secrets
import signal
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

from roomsops.lab.context import LabContext, LabOptions
from roomsops.lab.ews.delivery import answer_due, next_due, valid_room_answer_delay
from roomsops.lab.ews.soap import format_datetime, utc_now
from roomsops.lab.faults import FaultBook, RequestCounter
from roomsops.lab.files import SETTINGS_FILE, claim_settings_file, write_lab_files
from roomsops.lab.files import ForeignSettingsFile as ForeignSettingsFile  # for `lab serve`
from roomsops.lab.pki import ensure_pki
from roomsops.lab.protocols import build_routes
from roomsops.lab.server import Dispatcher, LabHTTPServer, server_ssl_context
from roomsops.lab.tenant import Tenant

#: DIR/apps/<name>.pem|.pfx of the seed apps (the sync app "ROOMS" and the admin app "roomsops-admin")
APP_CREDENTIALS = ("rooms", "roomsops-admin")
READY_TIMEOUT = 10.0

log = logging.getLogger("roomsops.lab")

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; two labs on one DIR are the user's to avoid
    fcntl = None  # type: ignore[assignment]


class LabError(Exception):
    """The lab could not start (port in use, DIR held by another lab, ...)."""


class Lab:
    """A running lab in this process: `with Lab(dir) as lab: ...` or `lab.start()` / `lab.stop()`."""

    def __init__(
        self,
        dir: Path | str,
        *,
        port: int = 0,
        latency_ms: int = 0,
        policy_delay: float = 0.0,
        expired_tls: bool = False,
        device_code_interval: int = 5,
        save_interval: float = 0.0,
        room_answer_delay: float = 5.0,
    ) -> None:
        """`save_interval`: 0 writes tenant.json on every change; > 0 writes it at most once per that many
        seconds (a background thread) and when the lab stops, for tenants too big to write on every change.
        `room_answer_delay`: seconds before a room's resource booking attendant answers a meeting request, as
        Exchange answers asynchronously (0: inside the sending request; POST /lab/room-answers/process: now)."""
        if not valid_room_answer_delay(room_answer_delay):
            raise ValueError("room_answer_delay must be a number of seconds from 0 through a year")
        if save_interval < 0:
            raise ValueError("save_interval must not be negative")
        self.dir = Path(dir).expanduser().resolve()
        self.requested_port = port
        self.options = LabOptions(
            latency_ms=latency_ms,
            policy_delay=policy_delay,
            device_code_interval=device_code_interval,
            expired_tls=expired_tls,
            save_interval=save_interval,
            room_answer_delay=room_answer_delay,
        )
        self._server: LabHTTPServer | None = None
        self._context: LabContext | None = None
        self._autosave: Autosave | None = None
        self._attendant: Attendant | None = None
        self._lock_file: IO[bytes] | None = None
        self.info: dict[str, Any] = {}

    # lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> Lab:
        if self._server is not None:
            raise LabError("the lab is already running")
        # Not writable by others, whatever the umask: whoever may write DIR could swap roomsops.toml or ca.pem.
        self.dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        self._lock_dir()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        pki = ensure_pki(self.dir, APP_CREDENTIALS, expired_tls=self.options.expired_tls)
        tenant_file = self.dir / "tenant.json"
        try:
            tenant = Tenant.open(
                tenant_file,
                {name: cred.certificate for name, cred in pki.apps.items()},
                save_interval=self.options.save_interval,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise LabError(
                f"{tenant_file} is not a lab tenant ({exc}); move it away to start afresh"
            ) from None
        with tenant.change() as state:
            state.flags.room_answer_delay = self.options.room_answer_delay
        self._autosave = Autosave(tenant)
        self._attendant = Attendant(tenant)
        counter, faults = RequestCounter(), FaultBook()
        dispatcher = Dispatcher([], counter, faults, self.options)
        try:
            server = LabHTTPServer(
                self.requested_port, server_ssl_context(pki.server_cert_file, pki.server_key_file), dispatcher
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LabError(f"port {self.requested_port} on 127.0.0.1 is already in use") from None
            raise
        self._server = server
        context = LabContext(
            self.dir,
            tenant,
            pki,
            counter,
            faults,
            self.options,
            server.port,
            admin_token=secrets.token_urlsafe(32),
        )
        dispatcher.routes = build_routes(context)
        self._context = context
        self.info = write_lab_files(context)
        server.start()
        self._autosave.start()
        self._attendant.start()
        self._wait_ready()

    def stop(self) -> None:
        """Stop serving (every request answered), then write changes not saved yet; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            for route in server.dispatcher.routes:  # let held requests go, stop background senders
                close = getattr(route.handler, "close", None)
                if callable(close):
                    close()
            server.stop()
        attendant, self._attendant = self._attendant, None
        if attendant is not None:
            attendant.stop()
        autosave, self._autosave = self._autosave, None
        try:
            if autosave is not None:
                autosave.stop()
            if self._context is not None:
                self._context.tenant.flush()
        finally:
            if self._lock_file is not None:
                self._lock_file.close()  # closing releases the lock
                self._lock_file = None

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # facts -----------------------------------------------------------------------------------------------

    @property
    def context(self) -> LabContext:
        if self._context is None:
            raise LabError("the lab is not running")
        return self._context

    @property
    def tenant(self) -> Tenant:
        return self.context.tenant

    @property
    def port(self) -> int:
        return self.context.port

    @property
    def base_url(self) -> str:
        return self.context.base_url

    @property
    def admin_token(self) -> str:
        """The admin API's token (also in lab.json): send it as `Authorization: Bearer <token>`."""
        return self.context.admin_token

    @property
    def server_address(self) -> tuple[str, int]:
        if self._server is None:
            raise LabError("the lab is not running")
        host, port = self._server.socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def settings_path(self) -> Path:
        return self.dir / SETTINGS_FILE

    @property
    def ca_path(self) -> Path:
        return self.dir / "ca.pem"

    # internals -------------------------------------------------------------------------------------------

    def _lock_dir(self) -> None:
        if fcntl is None:
            return
        # Owner-only (anyone who may open it could flock it and keep the lab from starting); never through a
        # link, never truncated: a link planted in DIR must not make the lab create or empty a file elsewhere.
        try:
            fd = os.open(self.dir / ".lab.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as exc:
            raise LabError(f"cannot open {self.dir / '.lab.lock'}: {exc.strerror}") from None
        handle = os.fdopen(fd, "r+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise LabError(f"another lab is running on {self.dir}") from None
        self._lock_file = handle

    def _wait_ready(self) -> None:
        """Return once an HTTPS request to the lab gets its answer (the socket accepts and serves)."""
        context = ssl.create_default_context(cafile=str(self.ca_path))
        if self.options.expired_tls:
            # Only a liveness probe: the deliberately expired certificate must not stop the lab from starting.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=2)
            try:
                connection.request("GET", "/lab/health")
                status = connection.getresponse().status
                if status != 200:
                    raise LabError(f"the lab answered its health check with HTTP {status}")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise LabError(f"the lab did not answer on port {self.port}") from None
                time.sleep(0.05)
            finally:
                connection.close()


class Autosave:
    """Writes the tenant's unsaved changes at most once per `tenant.save_interval` seconds (read on every turn,
    so POST /lab/settings may change it); with 0 every change writes itself and this thread has nothing to do."""

    POLL = 0.2  # seconds between looks at the interval and the unsaved changes

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lab-autosave", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.POLL):
            interval = self.tenant.save_interval
            if interval <= 0 or time.monotonic() - last < interval:
                continue
            try:
                if self.tenant.flush():
                    last = time.monotonic()
            except Exception:  # a full disk must not end the thread; the next turn tries again
                log.exception("could not write %s", self.tenant.path)
                last = time.monotonic()


class Attendant:
    """The rooms' resource booking attendant: answers meeting requests once their room answer delay is over
    (`roomsops.lab.ews.delivery.answer_due`), as Exchange does, seconds after the request was sent."""

    POLL = 0.1

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lab-attendant", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.POLL):
            now = format_datetime(utc_now())
            with self.tenant.read() as state:
                due = next_due(state)
            if due is None or due > now:  # both `YYYY-MM-DDThh:mm:ssZ`: text order is time order
                continue
            try:
                with self.tenant.change() as state:
                    answer_due(state, now)
            except Exception:  # one bad request must not stop every room from answering
                log.exception("the resource booking attendant failed")


def _print_ready(line: str) -> None:
    print(line, flush=True)  # flushed: a parent process waits for this line on a pipe


def run(
    dir: Path | str,
    port: int = 0,
    latency_ms: int = 0,
    policy_delay: float = 0.0,
    expired_tls: bool = False,
    ready: Callable[[str], None] = _print_ready,
    *,
    stop: threading.Event | None = None,
    save_interval: float = 0.0,
    room_answer_delay: float = 5.0,
    force: bool = False,
) -> int:
    """Run the lab until SIGINT/SIGTERM (or `stop` is set); `ready` gets "lab ready: DIR/roomsops.toml".
    Stopping writes tenant changes not saved yet (`save_interval` > 0). A roomsops.toml in DIR that the
    lab did not write raises ForeignSettingsFile, unless `force` (then it is backed up and replaced)."""
    claim_settings_file(Path(dir), force)
    stop_event = stop or threading.Event()
    lab = Lab(
        dir,
        port=port,
        latency_ms=latency_ms,
        policy_delay=policy_delay,
        expired_tls=expired_tls,
        save_interval=save_interval,
        room_answer_delay=room_answer_delay,
    )
    with _stop_on_signals(stop_event), lab:
        ready(f"lab ready: {lab.settings_path}")
        while not stop_event.wait(0.5):
            pass
    return 0


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
