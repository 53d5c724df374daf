"""WinRM at /wsman: HTTP authentication, WS-Man actions, and PowerShell shells (psrpcore) behind them.

Requests are counted as `wsman:<Action>` (Create, Command, Send, Receive, Signal, Delete); requests that only
authenticate (a 401, an NTLM handshake leg) as `wsman:Auth`. Naming an encrypted message means decrypting it,
which advances the NTLM sequence numbers, so a request is prepared once (in `classify`) and kept for `handle`.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
import uuid
from dataclasses import dataclass

from roomsops.lab.context import LabContext
from roomsops.lab.web import LabHandler, Request, Response
from roomsops.lab.winrm import soap
from roomsops.lab.winrm.httpauth import Authenticator, Outcome
from roomsops.lab.winrm.shells import RECEIVE_MAX, PipelineRun, ShellError, ShellRegistry

log = logging.getLogger("roomsops.lab.winrm")

WSMAN_PATH = re.compile(r"^/wsman/?$", re.IGNORECASE)
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
DEFAULT_OPERATION_TIMEOUT = 20.0  # pypsrp's default wsman:OperationTimeout
SETTLE_WAIT = 30.0  # how long a drop_after fault waits for the pipelines its request started
USER_FILE = "winrm-ntlm-users"  # DIR/…: the acceptor's account file (0600)


@dataclass
class Prepared:
    request: Request
    auth: Outcome
    envelope: soap.Envelope | None
    operation: str
    problem: str | None = None  # why the envelope could not be read


class WinRMService(LabHandler):
    def __init__(self, ctx: LabContext) -> None:
        self.ctx = ctx
        with ctx.tenant.read() as state:
            username, password = state.management_host.winrm_username, state.management_host.winrm_password
        self.auth = Authenticator(username, password, ctx.dir / USER_FILE, ctx.pki.server_cert_file)
        self.shells = ShellRegistry(ctx)
        self._local = threading.local()

    # --- LabHandler ---------------------------------------------------------------------------------------------

    def classify(self, request: Request) -> tuple[str, str]:
        return "wsman", self._prepare(request).operation

    def handle(self, request: Request) -> Response:
        prepared = self._prepare(request)
        self._local.prepared = None
        self._local.started = []
        auth = prepared.auth
        if not auth.authenticated:
            log.info("WinRM request refused (401): %s", auth.error)
            return Response(401, b"", list(auth.challenge))
        if prepared.envelope is None:
            if prepared.problem is None:  # the handshake's last leg of an encrypting client: no SOAP yet
                return Response(200, b"", list(auth.reply_headers))
            status, body = 500, soap.fault(None, soap.FAULT_BAD_MESSAGE, prepared.problem)
        else:
            status, body = self._dispatch(prepared.envelope, auth.user or "")
        headers = list(auth.reply_headers)
        if auth.encrypted and auth.state is not None:
            content_type, body = self.auth.wrap(auth.state, body)
            return Response(status, body, [*headers, ("Content-Type", content_type)])
        return Response(status, body, [*headers, ("Content-Type", SOAP_CONTENT_TYPE)])

    def settle(self) -> None:
        """A `drop_after` fault loses the answer of a request that took effect: the pipelines it started run to
        their end before the connection drops (they run in their own threads), so "applied" is deterministic."""
        for run in getattr(self._local, "started", []):
            run.finished.wait(SETTLE_WAIT)
        self._local.started = []

    def _started(self, runs: list[PipelineRun]) -> None:
        self._local.started = [*getattr(self._local, "started", []), *runs]

    def fault_response(self, kind: str, back_off_ms: int, request: Request) -> Response | None:
        if kind == "http_401":
            # The connection's authentication is gone; only Basic is offered so that every client fails at once
            # instead of silently re-running the NTLM handshake.
            self.auth.forget(request.connection)
            return Response(401, b"", [("WWW-Authenticate", 'Basic realm="WSMAN"')])
        return None

    # --- preparing a request --------------------------------------------------------------------------------------

    def _prepare(self, request: Request) -> Prepared:
        cached: Prepared | None = getattr(self._local, "prepared", None)
        if cached is not None and cached.request is request:
            return cached
        auth = self.auth.authenticate(request)
        envelope, problem, operation = None, None, "Auth"
        if auth.authenticated and auth.body.strip():
            try:
                envelope = soap.parse(auth.body)
                operation = envelope.name
            except soap.SoapError as exc:
                problem, operation = str(exc), "Invalid"
        prepared = Prepared(request, auth, envelope, operation, problem)
        self._local.prepared = prepared
        return prepared

    # --- WS-Man actions ---------------------------------------------------------------------------------------

    def _dispatch(self, env: soap.Envelope, user: str) -> tuple[int, bytes]:
        handlers = {
            "Create": self._create,
            "Command": self._command,
            "Send": self._send,
            "Receive": self._receive,
            "Signal": self._signal,
            "Delete": self._delete,
        }
        handler = handlers.get(env.name) if env.action in soap.ACTIONS else None
        if handler is None:
            return 500, soap.fault(
                env.message_id,
                soap.FAULT_ACTION_NOT_SUPPORTED,
                f"The WS-Management service cannot process the request. The action {env.action} is not supported.",
                subcode="a:ActionNotSupported",
            )
        try:
            return 200, handler(env, user)
        except ShellError as exc:
            subcode = "w:TimedOut" if exc.code == soap.FAULT_OPERATION_TIMEOUT else "w:InvalidSelectors"
            return 500, soap.fault(env.message_id, exc.code, str(exc), subcode=subcode)
        except (ValueError, binascii.Error) as exc:
            return 500, soap.fault(env.message_id, soap.FAULT_BAD_MESSAGE, f"The request is malformed: {exc}")

    def _create(self, env: soap.Envelope, user: str) -> bytes:
        if env.resource_uri.casefold() not in soap.POWERSHELL_RESOURCES:
            raise ShellError(
                soap.FAULT_INVALID_RESOURCE,
                f"The WS-Management service cannot process the request. Cannot find the session configuration for "
                f"the resource URI {env.resource_uri} on {soap.MACHINE}.",
            )
        shell_el = env.body.find("rsp:Shell", soap.NS)
        if shell_el is None:
            raise ValueError("rsp:Shell is missing")
        shell_id = (shell_el.get("ShellId") or str(uuid.uuid4())).upper()
        creation = shell_el.findtext("pwsh:creationXml", namespaces=soap.NS) or ""
        shell = self.shells.create(shell_id, env.resource_uri, user)
        self._started(shell.feed(base64.b64decode(creation)))
        created = soap.element("wst:ResourceCreated")
        soap.child(created, "wsa:Address", f"{self.ctx.base_url}/wsman")
        refs = soap.child(created, "wsa:ReferenceParameters")
        soap.child(refs, "wsman:ResourceURI", env.resource_uri)
        selectors = soap.child(refs, "wsman:SelectorSet")
        soap.child(selectors, "wsman:Selector", shell_id, Name="ShellId")
        info = soap.element("rsp:Shell")
        for tag, text in (
            ("ShellId", shell_id),
            ("ResourceUri", env.resource_uri),
            ("Owner", f"{soap.MACHINE}\\{user}"),
            ("ClientIP", "127.0.0.1"),
            ("IdleTimeOut", "PT7200.000S"),
            ("InputStreams", "stdin pr"),
            ("OutputStreams", "stdout"),
            ("ShellRunTime", "P0DT0H0M0S"),
            ("ShellInactivity", "P0DT0H0M0S"),
        ):
            soap.child(info, f"rsp:{tag}", text)
        return soap.response(env, [created, info])

    def _command(self, env: soap.Envelope, user: str) -> bytes:
        shell = self.shells.get(env.shell_id)
        line = env.body.find("rsp:CommandLine", soap.NS)
        if line is None:
            raise ValueError("rsp:CommandLine is missing")
        command_id = uuid.UUID(line.get("CommandId") or str(uuid.uuid4()))
        shell.create_pipeline(command_id)
        arguments = line.findtext("rsp:Arguments", namespaces=soap.NS)
        if arguments:
            self._started(shell.feed(base64.b64decode(arguments)))
        answer = soap.element("rsp:CommandResponse")
        soap.child(answer, "rsp:CommandId", str(command_id).upper())
        return soap.response(env, [answer])

    def _send(self, env: soap.Envelope, user: str) -> bytes:
        shell = self.shells.get(env.shell_id)
        for stream in env.body.findall("rsp:Send/rsp:Stream", soap.NS):
            if stream.text:
                self._started(shell.feed(base64.b64decode(stream.text)))
        return soap.response(env, [soap.element("rsp:SendResponse")])

    def _receive(self, env: soap.Envelope, user: str) -> bytes:
        shell = self.shells.get(env.shell_id)
        desired = env.body.find("rsp:Receive/rsp:DesiredStream", soap.NS)
        command = desired.get("CommandId") if desired is not None else None
        pipeline_id = uuid.UUID(command) if command else None
        limit = RECEIVE_MAX
        if env.max_envelope_size:
            limit = max(4096, min(limit, (env.max_envelope_size - 4096) * 3 // 4))
        data, done = shell.receive(pipeline_id, env.operation_timeout or DEFAULT_OPERATION_TIMEOUT, limit)
        answer = soap.element("rsp:ReceiveResponse")
        attrs = {"Name": "stdout"}
        if command:
            attrs["CommandId"] = command.upper()
        soap.child(answer, "rsp:Stream", base64.b64encode(data).decode("ascii"), **attrs)
        if command:
            state = soap.STATE_DONE if done else soap.STATE_RUNNING
            soap.child(answer, "rsp:CommandState", CommandId=command.upper(), State=state)
        return soap.response(env, [answer])

    def _signal(self, env: soap.Envelope, user: str) -> bytes:
        shell = self.shells.get(env.shell_id)
        signal = env.body.find("rsp:Signal", soap.NS)
        if signal is None or not signal.get("CommandId"):
            raise ValueError("rsp:Signal with a CommandId is required")
        pipeline_id = uuid.UUID(signal.get("CommandId") or "")
        code = (signal.findtext("rsp:Code", namespaces=soap.NS) or "").strip().casefold()
        if code in (soap.SIGNAL_PS_CTRL_C.casefold(), soap.SIGNAL_CTRL_C.casefold()):
            shell.stop_pipeline(pipeline_id)
        elif code == soap.SIGNAL_TERMINATE.casefold():
            shell.close_pipeline(pipeline_id)
        return soap.response(env, [soap.element("rsp:SignalResponse")])

    def _delete(self, env: soap.Envelope, user: str) -> bytes:
        self.shells.delete(env.shell_id)
        return soap.response(env, [])
