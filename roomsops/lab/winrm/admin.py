"""Admin endpoints for the management host: its WinRM shells, its certificate store, and directory groups.

`GET /lab/winrm` (open and deleted shells), `GET /lab/certstore`, `POST /lab/certstore` (change, add or remove a
certificate of Cert:\\LocalMachine\\My), `POST /lab/groups` (a group as another tool would have made it, e.g.
synced from on-premises AD). Mounted uninstrumented, like the rest of /lab/.
"""

from __future__ import annotations

import datetime as dt
import re

from roomsops.lab import certstore
from roomsops.lab.admin import ApiError, Field, parse_body
from roomsops.lab.cmdlets.directory import (
    DISTRIBUTION,
    SECURITY,
    AmbiguousIdentity,
    new_group,
    recipients,
    resolve,
)
from roomsops.lab.context import LabContext
from roomsops.lab.web import LabHandler, Request, Response
from roomsops.lab.winrm.shells import ShellRegistry

PATH = re.compile(r"^/lab/(winrm|certstore|groups)/?$")


class HostAdmin(LabHandler):
    def __init__(self, ctx: LabContext, shells: ShellRegistry) -> None:
        self.ctx = ctx
        self.shells = shells

    def classify(self, request: Request) -> tuple[str, str]:
        return "lab", request.path

    def handle(self, request: Request) -> Response:
        match = PATH.match(request.path)
        endpoint = {
            ("GET", "winrm"): self._winrm,
            ("GET", "certstore"): self._certstore,
            ("POST", "certstore"): self._change_certstore,
            ("POST", "groups"): self._add_group,
        }.get((request.method, match[1] if match else ""))
        if endpoint is None:
            allowed = (
                "GET"
                if match and match[1] == "winrm"
                else "POST"
                if match and match[1] == "groups"
                else "GET, POST"
            )
            return _error(405, "method_not_allowed", f"use {allowed}", [("Allow", allowed)])
        try:
            return endpoint(request)
        except ApiError as err:
            return _error(err.status, err.code, str(err))

    def _winrm(self, request: Request) -> Response:
        return Response.json(200, self.shells.snapshot())

    def _certstore(self, request: Request) -> Response:
        with self.ctx.tenant.read() as state:
            return Response.json(
                200, {"path": certstore.STORE_PATH, "certificates": list(certstore.store(state))}
            )

    def _change_certstore(self, request: Request) -> Response:
        body = parse_body(
            request,
            [
                Field("thumbprint", str, required=True),
                Field("subject", str),
                Field("has_private_key", bool),
                Field("not_before", str),
                Field("not_after", str),
                Field("key_readers", list),
                Field("key_denied", list),
                Field("friendly_name", str),
                Field("remove", bool, default=False),
            ],
        )
        thumbprint = body["thumbprint"].strip().upper()
        if not certstore.valid_thumbprint(thumbprint):
            raise ApiError(400, "bad_field", "thumbprint must be 40 hexadecimal digits")
        for name in ("not_before", "not_after"):
            if body[name] is not None:
                body[name] = _iso(name, body[name])
        for field in ("key_readers", "key_denied"):
            names = body[field]
            if names is not None and not all(isinstance(r, str) and r.strip() for r in names):
                raise ApiError(400, "bad_field", f"{field} must be a list of account names")
        readers, denied = body["key_readers"], body["key_denied"]
        with self.ctx.tenant.change() as state:
            certs = certstore.store(state)
            cert = certstore.find(state, thumbprint)
            if body["remove"]:
                if cert is None:
                    raise ApiError(404, "not_found", f"no certificate {thumbprint} in {certstore.STORE_PATH}")
                certs.remove(cert)
            else:
                if cert is None:
                    if not body["subject"]:
                        raise ApiError(400, "missing_field", "a new certificate needs a subject")
                    now = dt.datetime.now(dt.UTC)
                    cert = {
                        "thumbprint": thumbprint,
                        "subject": body["subject"],
                        "issuer": body["subject"],
                        "not_before": certstore.iso(now - dt.timedelta(days=1)),
                        "not_after": certstore.iso(now + dt.timedelta(days=365)),
                        "has_private_key": True,
                        "key_readers": ["NT AUTHORITY\\SYSTEM", certstore.ADMINISTRATORS],
                        "friendly_name": "",
                    }
                    certs.append(cert)
                for key in ("subject", "has_private_key", "not_before", "not_after", "friendly_name"):
                    if body[key] is not None:
                        cert[key] = body[key]
                if readers is not None:
                    cert["key_readers"] = [r.strip() for r in readers]
                if denied is not None:
                    cert["key_denied"] = [r.strip() for r in denied]
            result = list(certs)
        return Response.json(200, {"path": certstore.STORE_PATH, "certificates": result})

    def _add_group(self, request: Request) -> Response:
        body = parse_body(
            request,
            [
                Field("name", str, required=True),
                Field("type", str, default=SECURITY),
                Field("members", list, default=[]),
                Field("is_dir_synced", bool, default=False),
                Field("managed_by", list, default=[]),
            ],
        )
        name = body["name"].strip()
        if body["type"] not in (SECURITY, DISTRIBUTION):
            raise ApiError(400, "bad_field", f"type must be {SECURITY!r} or {DISTRIBUTION!r}")
        alias = re.sub(r"[^A-Za-z0-9._-]", "", name) or "group"
        with self.ctx.tenant.change() as state:
            if any(r.name.casefold() == name.casefold() for r in recipients(state)):
                raise ApiError(409, "conflict", f"a recipient named {name} exists")
            members = []
            for identity in body["members"]:
                try:
                    found = resolve(state, str(identity))
                except AmbiguousIdentity:
                    found = None
                if found is None:
                    raise ApiError(400, "bad_field", f"member {identity!r} names no single recipient")
                members.append(found)
            group = new_group(
                state,
                name=name,
                alias=alias,
                display_name=name,
                primary_smtp=f"{alias}@{state.domain}",
                group_type=body["type"],
                managed_by=[str(m) for m in body["managed_by"]],
                members=members,
                is_dir_synced=body["is_dir_synced"],
            )
            state.groups.append(group)
        return Response.json(201, group)


def _iso(name: str, value: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "bad_field", f"{name} must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return certstore.iso(moment)


def _error(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message}}, headers or [])
