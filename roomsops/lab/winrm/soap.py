"""WS-Management envelopes as the lab's WinRM reads and writes them (MS-WSMV over SOAP 1.2).

Only what pypsrp's shell and PowerShell layers send: Create, Command, Send, Receive, Signal and Delete on
the PowerShell resource; every answer echoes the request's MessageID in RelatesTo (pypsrp checks it).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "pwsh": "http://schemas.microsoft.com/powershell",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
}
for _prefix, _uri in NS.items():
    if _prefix != "p":
        ET.register_namespace(_prefix, _uri)

SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
TRANSFER_URI = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
#: The wsa:Action URIs the lab answers, by the short name counted as `wsman:<Action>`.
ACTIONS = {
    f"{TRANSFER_URI}/Create": "Create",
    f"{TRANSFER_URI}/Delete": "Delete",
    f"{SHELL_URI}/Command": "Command",
    f"{SHELL_URI}/Send": "Send",
    f"{SHELL_URI}/Receive": "Receive",
    f"{SHELL_URI}/Signal": "Signal",
}
#: Session configurations a stock Windows host offers to PowerShell remoting (the lab emulates both alike).
POWERSHELL_RESOURCES = {
    "http://schemas.microsoft.com/powershell/microsoft.powershell",
    "http://schemas.microsoft.com/powershell/powershell.7",
}
SIGNAL_PS_CTRL_C = "powershell/signal/ctrl_c"  # what pypsrp's PowerShell.stop() sends
SIGNAL_CTRL_C = f"{SHELL_URI}/signal/ctrl_c"
SIGNAL_TERMINATE = f"{SHELL_URI}/signal/terminate"
STATE_DONE = f"{SHELL_URI}/CommandState/Done"
STATE_RUNNING = f"{SHELL_URI}/CommandState/Running"

# WSManFault codes (winerror.h ERROR_WSMAN_*, as Windows answers them).
FAULT_OPERATION_TIMEOUT = 2150858793  # ERROR_WSMAN_OPERATION_TIMEDOUT: an empty Receive ran out its time
FAULT_SHELL_NOT_FOUND = 2150858843  # "... the shell was not found on the server"
FAULT_ACTION_NOT_SUPPORTED = 2150858752  # ERROR_WSMAN_ACTION_NOT_SUPPORTED
FAULT_INVALID_RESOURCE = 2150858778  # ERROR_WSMAN_INVALID_RESOURCE_URI
FAULT_BAD_MESSAGE = 2150858817  # a malformed envelope (the lab's choice of code; unverified)
MACHINE = "MGMT01"  # the management host's name in faults and shell owners

_DURATION = re.compile(r"^PT(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?$", re.IGNORECASE)


class SoapError(ValueError):
    """An envelope the lab cannot read (answered with a WSManFault)."""


@dataclass(frozen=True)
class Envelope:
    """The parts of a WS-Man request the lab acts on."""

    action: str  # the full wsa:Action URI
    message_id: str
    resource_uri: str
    shell_id: str | None  # the ShellId selector
    operation_timeout: float | None  # seconds (wsman:OperationTimeout)
    max_envelope_size: int | None
    body: ET.Element

    @property
    def name(self) -> str:
        """The short action name (`Create`, `Receive`, ...), or the URI's last segment when unknown."""
        return ACTIONS.get(self.action, self.action.rsplit("/", 1)[-1] or "Unknown")


def q(tag: str) -> str:
    """`prefix:local` as ElementTree's `{uri}local`."""
    prefix, local = tag.split(":", 1)
    return f"{{{NS[prefix]}}}{local}"


def parse(data: bytes) -> Envelope:
    head = data[:1024].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise SoapError("DOCTYPE and ENTITY declarations are not accepted")
    try:
        root = ET.fromstring(data)  # noqa: S314 - DOCTYPE/ENTITY refused above; expat resolves nothing external
    except ET.ParseError as exc:
        raise SoapError(f"the request is not XML: {exc}") from None
    header, body = root.find("s:Header", NS), root.find("s:Body", NS)
    if root.tag != q("s:Envelope") or header is None or body is None:
        raise SoapError("the request is not a SOAP 1.2 envelope")
    action = (header.findtext("wsa:Action", namespaces=NS) or "").strip()
    message_id = (header.findtext("wsa:MessageID", namespaces=NS) or "").strip()
    if not action or not message_id:
        raise SoapError("wsa:Action and wsa:MessageID are required")
    selector = header.find("wsman:SelectorSet/wsman:Selector[@Name='ShellId']", NS)
    max_size = header.findtext("wsman:MaxEnvelopeSize", namespaces=NS)
    return Envelope(
        action=action,
        message_id=message_id,
        resource_uri=(header.findtext("wsman:ResourceURI", namespaces=NS) or "").strip(),
        shell_id=(selector.text or "").strip().upper() if selector is not None else None,
        operation_timeout=duration(header.findtext("wsman:OperationTimeout", namespaces=NS)),
        max_envelope_size=int(max_size) if max_size and max_size.strip().isdigit() else None,
        body=body,
    )


def duration(text: str | None) -> float | None:
    """An xs:duration like `PT20S` or `PT20.000S` in seconds (the forms WS-Man clients send)."""
    match = _DURATION.match((text or "").strip())
    if match is None or not (match["m"] or match["s"]):
        return None
    return float(match["m"] or 0) * 60 + float(match["s"] or 0)


def response(request: Envelope, body_children: list[ET.Element]) -> bytes:
    """The `<action>Response` envelope relating to `request`."""
    envelope = ET.Element(q("s:Envelope"))
    header = ET.SubElement(envelope, q("s:Header"))
    ET.SubElement(header, q("wsa:Action")).text = f"{request.action}Response"
    ET.SubElement(header, q("wsa:MessageID")).text = f"uuid:{str(uuid.uuid4()).upper()}"
    ET.SubElement(header, q("wsa:RelatesTo")).text = request.message_id
    ET.SubElement(
        header, q("wsa:To")
    ).text = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
    body = ET.SubElement(envelope, q("s:Body"))
    body.extend(body_children)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=False)


def fault(message_id: str | None, code: int, reason: str, *, subcode: str = "w:InternalError") -> bytes:
    """A SOAP Fault with a WSManFault detail (what pypsrp turns into WSManFaultError with `.code`)."""
    envelope = ET.Element(q("s:Envelope"))
    header = ET.SubElement(envelope, q("s:Header"))
    ET.SubElement(header, q("wsa:Action")).text = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
    ET.SubElement(header, q("wsa:MessageID")).text = f"uuid:{str(uuid.uuid4()).upper()}"
    if message_id:
        ET.SubElement(header, q("wsa:RelatesTo")).text = message_id
    body = ET.SubElement(envelope, q("s:Body"))
    soap_fault = ET.SubElement(body, q("s:Fault"))
    code_el = ET.SubElement(soap_fault, q("s:Code"))
    ET.SubElement(code_el, q("s:Value")).text = "s:Receiver"
    ET.SubElement(ET.SubElement(code_el, q("s:Subcode")), q("s:Value")).text = subcode
    ET.SubElement(ET.SubElement(soap_fault, q("s:Reason")), q("s:Text"), {"xml:lang": "en-US"}).text = reason
    detail = ET.SubElement(soap_fault, q("s:Detail"))
    wsman_fault = ET.SubElement(detail, q("wsmanfault:WSManFault"), Code=str(code), Machine=MACHINE)
    ET.SubElement(wsman_fault, q("wsmanfault:Message")).text = reason
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=False)


def element(tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.Element(q(tag), attrs)
    if text is not None:
        el.text = text
    return el


def child(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, q(tag), attrs)
    if text is not None:
        el.text = text
    return el
