"""SOAP envelopes of the lab's EWS: namespaces, element builders, request parsing, response and fault documents.

Responses are built element by element in schema order (types.xsd / messages.xsd), never by string pasting.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from roomsops.lab.ews.errors import EwsError, SoapFault

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
M_NS = "http://schemas.microsoft.com/exchange/services/2006/messages"
T_NS = "http://schemas.microsoft.com/exchange/services/2006/types"
E_NS = "http://schemas.microsoft.com/exchange/services/2006/errors"

# Answers carry the prefixes Exchange Online writes (s:, m:, t:, e:), declared on the envelope. Elements are built
# with these literal prefixes: ElementTree's prefix registry is process-wide, and pypsrp and the lab's WinRM bind
# "s" and "m" to other namespaces there.
PREFIXES = {SOAP_NS: "s", M_NS: "m", T_NS: "t", E_NS: "e"}

#: What Exchange Online reports in ServerVersionInfo (exchangelib maps 15.20 to its EXCHANGE_O365 build).
SERVER_VERSION = {
    "MajorVersion": "15",
    "MinorVersion": "20",
    "MajorBuildNumber": "8901",
    "MinorBuildNumber": "22",
    "Version": "V2018_01_08",
}

Element = ET.Element


def qname(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _build(
    ns: str, tag: str, children: Iterable[Element | None], text: str | None, attrs: Mapping[str, str]
) -> Element:
    element = ET.Element(f"{PREFIXES[ns]}:{tag}", {k: v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    element.extend(c for c in children if c is not None)
    return element


def m(tag: str, *children: Element | None, text: str | None = None, **attrs: str) -> Element:
    """An element of the messages namespace (m:); None children are skipped, so optional parts read inline."""
    return _build(M_NS, tag, children, text, attrs)


def t(tag: str, *children: Element | None, text: str | None = None, **attrs: str) -> Element:
    """An element of the types namespace (t:)."""
    return _build(T_NS, tag, children, text, attrs)


def t_opt(tag: str, value: str | None) -> Element | None:
    """A text element of the types namespace, or None (left out) when there is no value."""
    return None if value is None else t(tag, text=value)


def xml_bool(value: bool) -> str:
    return "true" if value else "false"


# --- requests ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Impersonation:
    """The ExchangeImpersonation/ConnectingSID header: which of its identifiers, and the value."""

    kind: str  # PrimarySmtpAddress | SmtpAddress | PrincipalName | SID
    value: str


@dataclass(frozen=True)
class SoapRequest:
    operation: str  # local name of the first child of s:Body, e.g. "GetFolder"
    body: Element  # that element
    impersonation: Impersonation | None
    server_version: str | None  # RequestServerVersion/@Version
    time_zone: str | None  # TimeZoneContext/TimeZoneDefinition/@Id


def parse_request(data: bytes) -> SoapRequest:
    """The SOAP request, or SoapFault ErrorSchemaValidation for what is not a SOAP envelope with a body."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        # Entities are refused outright: the lab parses with the standard library, which expands them.
        raise SoapFault.schema_validation("DTD is prohibited in this XML document.")
    try:
        root = ET.fromstring(data)  # noqa: S314 - DOCTYPE/ENTITY refused above; no external resolution in expat
    except ET.ParseError as exc:
        line, column = exc.position
        raise SoapFault.schema_validation(str(exc), line=line, position=column) from None
    if root.tag != qname(SOAP_NS, "Envelope"):
        raise SoapFault.schema_validation("The root element is not a SOAP 1.1 Envelope.")
    body = root.find(qname(SOAP_NS, "Body"))
    if body is None or len(body) == 0:
        raise SoapFault.schema_validation("The SOAP Body is missing or empty.")
    operation = body[0]
    if not operation.tag.startswith(f"{{{M_NS}}}"):
        raise SoapFault.schema_validation(
            f"The element '{local_name(operation.tag)}' is not an EWS operation."
        )
    header = root.find(qname(SOAP_NS, "Header"))
    impersonation = None
    server_version = None
    time_zone = None
    if header is not None:
        sid = header.find(f"{{{T_NS}}}ExchangeImpersonation/{{{T_NS}}}ConnectingSID")
        if sid is not None:
            if len(sid) != 1:
                raise SoapFault(
                    "ErrorInvalidExchangeImpersonationHeaderData",
                    "The impersonation header must name exactly one of PrincipalName, SID, PrimarySmtpAddress "
                    "or SmtpAddress.",
                )
            impersonation = Impersonation(local_name(sid[0].tag), (sid[0].text or "").strip())
        version = header.find(f"{{{T_NS}}}RequestServerVersion")
        server_version = version.get("Version") if version is not None else None
        zone = header.find(f"{{{T_NS}}}TimeZoneContext/{{{T_NS}}}TimeZoneDefinition")
        time_zone = zone.get("Id") if zone is not None else None
    return SoapRequest(local_name(operation.tag), operation, impersonation, server_version, time_zone)


def peek_operation(data: bytes) -> str:
    """The operation of a request for counting (`ews:<Operation>`), without judging the rest of it."""
    try:
        return parse_request(data).operation
    except SoapFault:
        return "invalid"


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def child(element: Element, ns: str, tag: str) -> Element | None:
    return element.find(qname(ns, tag))


def child_text(element: Element, ns: str, tag: str) -> str | None:
    found = element.find(qname(ns, tag))
    return None if found is None else (found.text or "")


def parse_bool(value: str | None, field: str) -> bool:
    if value is None:
        raise EwsError.schema(f"{field} has no value")
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise EwsError.schema(f"'{value}' is not a valid xs:boolean for {field}")


def parse_int(value: str | None, field: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise EwsError.schema(f"'{value}' is not a valid xs:int for {field}") from None


def parse_datetime(value: str | None, field: str) -> dt.datetime:
    """An xs:dateTime as an aware UTC datetime; a value without offset counts as UTC (unverified, see FIDELITY)."""
    text = (value or "").strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EwsError.schema(f"'{text}' is not a valid xs:dateTime for {field}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def format_datetime(moment: dt.datetime) -> str:
    """UTC with a Z, to the second, as Exchange writes xs:dateTime values."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# --- responses -----------------------------------------------------------------------------------------


def success(operation: str, *children: Element | None) -> Element:
    """A `<m:{Operation}ResponseMessage ResponseClass="Success">` with ResponseCode NoError, then `children`."""
    return m(
        f"{operation}ResponseMessage", m("ResponseCode", text="NoError"), *children, ResponseClass="Success"
    )


def failure(operation: str, error: EwsError, *tail: Element | None, response_class: str = "Error") -> Element:
    """An error message in schema order: MessageText, ResponseCode, DescriptiveLinkKey, MessageXml, then the
    operation's own elements (`tail`, e.g. the empty m:Items that ItemInfoResponseMessageType requires)."""
    return m(
        f"{operation}ResponseMessage",
        m("MessageText", text=error.text),
        m("ResponseCode", text=error.code),
        m("DescriptiveLinkKey", text="0"),
        _message_xml(m("MessageXml"), error.values),
        *tail,
        ResponseClass=response_class,
    )


def _message_xml(container: Element, values: Mapping[str, str]) -> Element | None:
    if not values:
        return None
    for name, value in values.items():
        container.append(t("Value", text=value, Name=name))
    return container


def envelope(body_child: Element, *, with_version: bool = True) -> bytes:
    root = ET.Element("s:Envelope", {f"xmlns:{prefix}": uri for uri, prefix in PREFIXES.items()})
    if with_version:
        header = ET.SubElement(root, "s:Header")
        header.append(t("ServerVersionInfo", **SERVER_VERSION))
    body = ET.SubElement(root, "s:Body")
    body.append(body_child)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def response_document(operation: str, messages: Iterable[Element]) -> bytes:
    """`<m:{Operation}Response><m:ResponseMessages>...` inside an envelope with ServerVersionInfo."""
    return envelope(m(f"{operation}Response", m("ResponseMessages", *messages)))


def fault_document(fault: SoapFault) -> bytes:
    """A SOAP 1.1 fault the way Exchange writes one: faultcode in the types namespace, detail in the errors
    namespace, MessageXml in the types namespace (which is where exchangelib looks for BackOffMilliseconds)."""
    element = ET.Element("s:Fault")
    code = ET.SubElement(element, "faultcode")
    # The QName in faultcode's text needs its prefix declared; Exchange declares xmlns:a on faultcode itself.
    code.set("xmlns:a", T_NS)
    code.text = f"a:{fault.code}"
    reason = ET.SubElement(element, "faultstring")
    reason.set("xml:lang", "en-US")
    reason.text = fault.text
    detail = ET.SubElement(element, "detail")
    detail.append(_build(E_NS, "ResponseCode", (), fault.code, {}))
    detail.append(_build(E_NS, "Message", (), fault.text, {}))
    if fault.values or fault.details:
        message_xml = t("MessageXml", *(t(name, text=value) for name, value in fault.details.items()))
        detail.append(_message_xml(message_xml, fault.values) or message_xml)
    return envelope(element, with_version=False)
