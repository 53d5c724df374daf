"""The lab's token service: Microsoft Entra ID's v2.0 endpoints for the lab tenant, issuing real JWTs.

Client credentials (secret or certificate), device code and refresh grants; Entra's error shapes and codes.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509

from roomsops.lab.bearer import CLOCK_SKEW, issuer_v1, normalize_resource
from roomsops.lab.context import LabContext
from roomsops.lab.pki import b64url
from roomsops.lab.tenant import ROLE_TEMPLATE_IDS, AppRegistration, DirectoryUser
from roomsops.lab.web import LabHandler, Request, Response

ACCESS_TOKEN_LIFETIME = 3599
REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600
DEVICE_CODE_LIFETIME = 900
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
#: Microsoft Graph's resource identifier: app-only tokens for it carry the app's Graph permissions (graph/).
GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph's application (client) id
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

TOKEN_PATH = re.compile(
    r"^/(?P<tenant>[^/]+)/(?P<endpoint>v2\.0/\.well-known/openid-configuration|discovery/v2\.0/keys"
    r"|discovery/keys|oauth2/v2\.0/token|oauth2/v2\.0/devicecode|oauth2/v2\.0/authorize)/?$",
    re.IGNORECASE,
)

_ENDPOINT_OPERATIONS = {
    "v2.0/.well-known/openid-configuration": "openid-configuration",
    "discovery/v2.0/keys": "keys",
    "discovery/keys": "keys",
    "oauth2/v2.0/devicecode": "device_authorization",
    "oauth2/v2.0/authorize": "authorize",
}
_CLAIMS_SUPPORTED = (
    "sub iss aud exp iat auth_time acr nonce preferred_username name tid ver at_hash c_hash email".split()
)
_GRANT_OPERATIONS = {
    "client_credentials": "client_credentials",
    DEVICE_CODE_GRANT: "device_code",
    "refresh_token": "refresh_token",
}


# --- errors in Entra's shape ---------------------------------------------------------------------------


class AadError(Exception):
    """An error answer of the token service: HTTP status, OAuth `error`, AADSTS number and message."""

    def __init__(self, status: int, error: str, code: int, message: str, **extra: Any) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.status = status
        self.error = error
        self.code = code
        self.message = message
        self.extra = extra

    def response(self, request: Request, headers: Iterable[tuple[str, str]] = ()) -> Response:
        trace_id = str(uuid.uuid4())
        correlation_id = _correlation_id(request)
        timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        body = {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}"
                f"\r\nTimestamp: {timestamp}"
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
            **self.extra,
        }
        return Response.json(self.status, body, [*_standard_headers(request, trace_id), *headers])


def _missing(name: str) -> AadError:
    return AadError(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
    )


# --- device code flows -------------------------------------------------------------------------------------


@dataclass
class DeviceFlow:
    device_code: str = field(repr=False)
    user_code: str
    client_id: str
    resource: str
    scopes: list[str]
    expires_at: float
    status: str = "pending"  # pending | approved | declined | redeemed
    user_upn: str | None = None
    polls: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "user_code": self.user_code,
            "client_id": self.client_id,
            "scopes": self.scopes,
            "status": self.status,
            "expires_in": max(0, int(self.expires_at - time.time())),
        }


class DeviceFlows:
    """Device authorizations in flight (in memory: a restart of the lab forgets them, as it should)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_device_code: dict[str, DeviceFlow] = {}

    def create(self, client_id: str, resource: str, scopes: list[str]) -> DeviceFlow:
        with self._lock:
            self._purge()
            flow = DeviceFlow(
                device_code=secrets.token_urlsafe(96),
                user_code="".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(9)),
                client_id=client_id,
                resource=resource,
                scopes=scopes,
                expires_at=time.time() + DEVICE_CODE_LIFETIME,
            )
            self._by_device_code[flow.device_code] = flow
            return copy.copy(flow)

    def decide(self, user_code: str, user_upn: str, *, approve: bool = True) -> DeviceFlow | None:
        """The administrator entered `user_code` and approved (or declined); None if no such pending code."""
        wanted = user_code.strip().upper().replace("-", "")
        with self._lock:
            for flow in self._by_device_code.values():
                if flow.user_code == wanted and flow.status == "pending" and flow.expires_at > time.time():
                    flow.status = "approved" if approve else "declined"
                    flow.user_upn = user_upn if approve else None
                    return copy.copy(flow)
        return None

    def poll(self, device_code: str, client_id: str, *, auto_approve_upn: str | None) -> DeviceFlow | None:
        """Count a poll; in auto mode the first poll signs the administrator in (answered as pending)."""
        with self._lock:
            flow = self._by_device_code.get(device_code)
            if flow is None or flow.client_id.casefold() != client_id.casefold():
                return None
            flow.polls += 1
            before = copy.copy(flow)
            if flow.status == "pending" and auto_approve_upn is not None and flow.expires_at > time.time():
                flow.status = "approved"
                flow.user_upn = auto_approve_upn
            if before.status == "approved":
                flow.status = "redeemed"
            return before

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            self._purge()
            return [f.public() for f in self._by_device_code.values() if f.status == "pending"]

    def _purge(self) -> None:
        cutoff = time.time() - DEVICE_CODE_LIFETIME  # keep expired flows a while to answer expired_token
        for code in [c for c, f in self._by_device_code.items() if f.expires_at < cutoff]:
            del self._by_device_code[code]


@dataclass
class _RefreshGrant:
    client_id: str
    user_upn: str
    resource: str
    expires_at: float


# --- the service ----------------------------------------------------------------------------------------------


class TokenService(LabHandler):
    """`/<tenant>/...` of Microsoft Entra ID for the lab tenant (the tenant id or its domain)."""

    def __init__(self, ctx: LabContext) -> None:
        self.ctx = ctx
        self.device_flows = DeviceFlows()
        self._lock = threading.Lock()
        self._used_assertions: dict[tuple[str, str], float] = {}  # (client_id, jti) -> exp
        self._refresh: dict[str, _RefreshGrant] = {}

    # LabHandler ---------------------------------------------------------------------------------------

    def classify(self, request: Request) -> tuple[str, str]:
        match = TOKEN_PATH.match(request.path)
        endpoint = match["endpoint"].lower() if match else ""
        if endpoint == "oauth2/v2.0/token":
            grant = request.form().get("grant_type", "")
            operation = (
                _GRANT_OPERATIONS.get(grant) or re.sub(r"[^A-Za-z0-9_.:-]", "_", grant)[:64] or "no_grant"
            )
            return "token", operation
        return "token", _ENDPOINT_OPERATIONS.get(endpoint, "unknown")

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except AadError as err:
            return err.response(request)

    def fault_response(self, kind: str, back_off_ms: int, request: Request) -> Response | None:
        retry = [("Retry-After", str(max(1, -(-back_off_ms // 1000))))] if back_off_ms else []
        if kind == "http_503":
            err = AadError(503, "temporarily_unavailable", 90006, "The service is temporarily unavailable.")
        elif kind == "server_busy":
            err = AadError(429, "temporarily_unavailable", 90055, "There are too many incoming requests.")
        elif kind == "http_500":
            err = AadError(
                500,
                "server_error",
                50000,
                "There was an error issuing a token or an issue with our sign-in service.",
            )
        elif kind == "http_401":
            err = AadError(401, "invalid_client", 50012, "Authentication failed.")
        else:
            return None
        return err.response(request, retry)

    # routing ---------------------------------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        match = TOKEN_PATH.match(request.path)
        if match is None:
            return Response.json(404, {"error": "not_found"})
        endpoint = match["endpoint"].lower()
        segment = match["tenant"]
        if not self._is_lab_tenant(segment):
            error = "invalid_tenant" if endpoint.endswith("openid-configuration") else "invalid_request"
            raise AadError(
                400,
                error,
                90002,
                f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing "
                "into the correct cloud. Check with your subscription administrator, this may happen if there are "
                "no active subscriptions for the tenant.",
            )
        expected_method = (
            "POST" if endpoint.startswith("oauth2/v2.0/") and endpoint != "oauth2/v2.0/authorize" else "GET"
        )
        if request.method != expected_method:
            raise AadError(
                400,
                "invalid_request",
                900561,
                f"The endpoint only accepts {expected_method} requests. Received a {request.method} request.",
            )
        base = self.ctx.public_base(request.header("Host"))
        if endpoint.endswith("openid-configuration"):
            return Response.json(200, self._openid_configuration(base), [("Cache-Control", "max-age=86400")])
        if endpoint.endswith("keys"):
            return Response.json(200, {"keys": [self.ctx.pki.signing.jwk(self._issuer_v2(base))]})
        if endpoint == "oauth2/v2.0/authorize":
            return Response.text(
                400, "The lab does not emulate interactive sign-in; use the device code flow.", "text/plain"
            )
        form = request.form()
        if endpoint == "oauth2/v2.0/devicecode":
            return self._device_authorization(request, form, base)
        grant = form.get("grant_type")
        if not grant:
            raise _missing("grant_type")
        if grant == "client_credentials":
            return self._client_credentials(request, form, base)
        if grant == DEVICE_CODE_GRANT:
            return self._device_code(request, form, base)
        if grant == "refresh_token":
            return self._refresh_token(request, form, base)
        raise AadError(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant}'.",
        )

    def _is_lab_tenant(self, segment: str) -> bool:
        return segment.casefold() in (self.ctx.tenant.tenant_id.casefold(), self.ctx.tenant.domain.casefold())

    def _issuer_v2(self, base: str) -> str:
        return f"{base}/{self.ctx.tenant.tenant_id}/v2.0"

    def _openid_configuration(self, base: str) -> dict[str, Any]:
        tenant = f"{base}/{self.ctx.tenant.tenant_id}"
        return {
            "token_endpoint": f"{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": self._issuer_v2(base),
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{tenant}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{tenant}/oauth2/v2.0/logout",
            "claims_supported": list(_CLAIMS_SUPPORTED),
            "tenant_region_scope": "EU",
            "cloud_instance_name": "roomslab",
        }

    # client credentials --------------------------------------------------------------------------------------

    def _client_credentials(self, request: Request, form: dict[str, str], base: str) -> Response:
        app = self._client_app(form)
        credential = self._authenticate_client(app, form)
        scope = form.get("scope", "").split()
        if not scope:
            raise _missing("scope")
        resource = self._app_only_resource(scope)
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": resource,
            "iss": issuer_v1(self.ctx.tenant.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "app_displayname": app.display_name,
            "appid": app.app_id,
            "appidacr": "2" if credential == "certificate" else "1",
            "idp": issuer_v1(self.ctx.tenant.tenant_id),
            "idtyp": "app",
            "oid": app.sp_object_id,
            "sub": app.sp_object_id,
            "tid": self.ctx.tenant.tenant_id,
            "uti": _uti(),
            "ver": "1.0",
        }
        permissions = app.graph_permissions if resource == GRAPH_RESOURCE else app.application_permissions
        if permissions:
            claims["roles"] = sorted(permissions)
        wids = [ROLE_TEMPLATE_IDS[r] for r in app.directory_roles if r in ROLE_TEMPLATE_IDS]
        if wids:
            claims["wids"] = wids
        token = self.ctx.pki.signing.sign(claims)
        body = {
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "ext_expires_in": ACCESS_TOKEN_LIFETIME,
            "access_token": token,
        }
        return self._ok(request, body)

    def _client_app(self, form: dict[str, str]) -> AppRegistration:
        client_id = form.get("client_id", "").strip()
        if not client_id:
            raise _missing("client_id")
        with self.ctx.tenant.read() as state:
            app = state.app_by_id(client_id)
            app = copy.deepcopy(app) if app else None
            tenant_name = state.display_name
        if app is None:
            raise AadError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. "
                "This can happen if the application has not been installed by the administrator of the tenant or "
                "consented to by any user in the tenant. You may have sent your authentication request to the "
                "wrong tenant.",
            )
        return app

    def _authenticate_client(self, app: AppRegistration, form: dict[str, str]) -> str:
        secret = form.get("client_secret")
        assertion = form.get("client_assertion")
        if secret is not None and assertion is not None:
            raise AadError(
                400, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid."
            )  # both credentials at once: unverified which code Entra answers
        if secret is not None:
            self._check_secret(app, secret)
            return "secret"
        if assertion is not None:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise AadError(
                    400,
                    "invalid_request",
                    50027,  # unverified: the code Entra answers for a wrong client_assertion_type
                    f"Invalid JWT token. The client_assertion_type must be '{ASSERTION_TYPE}'.",
                )
            self._check_assertion(app, assertion)
            return "certificate"
        raise AadError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )

    def _check_secret(self, app: AppRegistration, given: str) -> None:
        for secret in app.secrets:
            if hmac.compare_digest(secret.value.encode("utf-8"), given.encode("utf-8")):
                if _parse_iso(secret.end) < time.time():
                    raise AadError(
                        401,
                        "invalid_client",
                        7000222,
                        f"The provided client secret keys for app '{app.app_id}' are expired. Visit the Azure "
                        "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using "
                        "certificate credentials for added security: https://aka.ms/certCreds.",
                    )
                return
        raise AadError(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{app.app_id}'.",
        )

    def _check_assertion(self, app: AppRegistration, assertion: str) -> None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise AadError(
                401, "invalid_client", 50027, "Invalid JWT token. Token format not valid."
            ) from None
        by_sha256 = str(header.get("x5t#S256") or "").rstrip("=")
        by_sha1 = str(header.get("x5t") or "").rstrip("=")
        if not by_sha256 and not by_sha1:
            raise AadError(
                401,
                "invalid_client",
                50027,
                "Invalid JWT token. No certificate thumbprint specified in token header.",
            )
        registered = None
        for cert in app.certificates:
            if (by_sha256 and by_sha256 == b64url(bytes.fromhex(cert.thumbprint_sha256))) or (
                not by_sha256 and by_sha1 == b64url(bytes.fromhex(cert.thumbprint_sha1))
            ):
                registered = cert
                break
        if registered is None:
            raise AadError(
                401,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion is not registered on "
                f"application. [Reason - The key was not found., Thumbprint of key used by client: "
                f"'{_thumbprint_hex(by_sha256 or by_sha1)}', Please visit the Azure Portal, Graph Explorer or "
                f"directly use MS Graph to see configured keys for app Id '{app.app_id}'. Review the documentation "
                "at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service "
                "endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs="
                "http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/"
                f"{app.object_id}'].",
            )
        algorithm = header.get("alg")
        if algorithm not in ("RS256", "PS256"):
            raise AadError(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        public_key = x509.load_pem_x509_certificate(registered.pem.encode("ascii")).public_key()
        try:
            claims = jwt.decode(
                assertion,
                public_key,  # type: ignore[arg-type]
                algorithms=[algorithm],
                options={
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise AadError(
                401, "invalid_client", 700027, "Client assertion failed signature validation."
            ) from None
        except jwt.PyJWTError:
            raise AadError(
                401, "invalid_client", 50027, "Invalid JWT token. Token format not valid."
            ) from None
        if claims.get("iss") != app.app_id or claims.get("sub") != app.app_id:
            raise AadError(
                401,
                "invalid_client",
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the "
                "documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
            )
        audiences = claims.get("aud")
        given = audiences if isinstance(audiences, list) else [audiences]
        if not any(isinstance(a, str) and a.casefold() in self._token_endpoints() for a in given):
            raise AadError(
                401, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer."
            )
        self._check_assertion_times(claims)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise AadError(401, "invalid_client", 50027, "Invalid JWT token. The token has no 'jti' claim.")
        with self._lock:
            now = time.time()
            for key in [k for k, exp in self._used_assertions.items() if exp + CLOCK_SKEW < now]:
                del self._used_assertions[key]
            if (app.app_id, jti) in self._used_assertions:
                raise AadError(
                    401,
                    "invalid_client",
                    50013,
                    "Assertion is invalid: a client assertion with this 'jti' has already been used. Create a "
                    "new client assertion for every token request.",
                )
            self._used_assertions[(app.app_id, jti)] = float(claims["exp"])

    def _check_assertion_times(self, claims: dict[str, Any]) -> None:
        now = time.time()
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        numeric = isinstance(exp, int | float) and isinstance(nbf, int | float)
        if numeric and _number(exp) + CLOCK_SKEW >= now and _number(nbf) - CLOCK_SKEW <= now:
            return
        raise AadError(
            401,
            "invalid_client",
            700024,
            f"Client assertion is not within its valid time range. Current time: {_utc(now, precise=True)}, "
            f"assertion valid from {_utc(_number(nbf), precise=True)}, expiry time of assertion "
            f"{_utc(_number(exp), precise=True)}. Review the documentation at "
            "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
        )

    def _token_endpoints(self) -> set[str]:
        tenants = (self.ctx.tenant.tenant_id, self.ctx.tenant.domain)
        return {
            f"https://{host}/{tenant}/{path}".casefold()
            for host in self.ctx.hosts
            for tenant in tenants
            for path in ("oauth2/v2.0/token", "oauth2/token")
        }

    def _app_only_resource(self, scopes: list[str]) -> str:
        for scope in scopes:
            if not scope.endswith("/.default"):
                raise AadError(
                    400,
                    "invalid_scope",
                    1002012,
                    f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
                    "value with /.default suffixed to the resource identifier (application ID URI).",
                )
        # Graph's application id names the same resource as its application ID URI (graph/auth-v2-service).
        resources = {
            GRAPH_RESOURCE if r.lower() == GRAPH_APP_ID else r
            for r in (normalize_resource(s.removesuffix("/.default")) for s in scopes)
        }
        if len(resources) > 1:
            raise AadError(
                400,
                "invalid_scope",
                700022,
                "The provided value for the input parameter scope is not valid because it contains more than one "
                "resource.",
            )
        (resource,) = resources
        return self._known_resource(resource, app_only=True)

    def _known_resource(self, resource: str, *, app_only: bool = False) -> str:
        # Graph: app-only tokens only (the lab's Graph face serves applications, not signed-in users).
        if resource not in self.ctx.resources and not (app_only and resource == GRAPH_RESOURCE):
            with self.ctx.tenant.read() as state:
                name = state.display_name
            raise AadError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named {name}. This can "
                "happen if the application has not been installed by the administrator of the tenant or consented "
                "to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
            )
        return resource

    # device code flow ------------------------------------------------------------------------------------------

    def _device_authorization(self, request: Request, form: dict[str, str], base: str) -> Response:
        app = self._client_app(form)
        scopes = form.get("scope", "").split()
        if not scopes:
            raise _missing("scope")
        resource = self._delegated_resource(scopes)
        flow = self.device_flows.create(app.app_id, resource, scopes)
        uri = f"{base}/lab/device"
        body = {
            "user_code": flow.user_code,
            "device_code": flow.device_code,
            "verification_uri": uri,
            "expires_in": DEVICE_CODE_LIFETIME,
            "interval": self.ctx.options.device_code_interval,
            "message": f"To sign in, use a web browser to open the page {uri} and enter the code {flow.user_code} "
            "to authenticate.",
        }
        return self._ok(request, body)

    def _delegated_resource(self, scopes: list[str]) -> str:
        resources = set()
        for scope in scopes:
            if scope.lower() in OIDC_SCOPES:
                continue
            resource, _, _permission = scope.rpartition("/")
            if not resource:
                raise AadError(
                    400, "invalid_scope", 70011, f"The provided value for the input parameter 'scope' is not valid. "
                    f"The scope {scope} is not valid."
                )  # fmt: skip
            resources.add(normalize_resource(resource))
        if not resources:
            raise AadError(
                400,
                "invalid_scope",
                70011,
                "The provided value for the input parameter 'scope' is not valid. The lab issues tokens for its "
                "Exchange resource only; ask for <resource>/.default.",
            )
        if len(resources) > 1:
            raise AadError(
                400,
                "invalid_scope",
                700022,
                "The provided value for the input parameter scope is not valid because it contains more than one "
                "resource.",
            )
        (resource,) = resources
        return self._known_resource(resource)

    def _device_code(self, request: Request, form: dict[str, str], base: str) -> Response:
        app = self._client_app(form)
        device_code = form.get("device_code")
        if not device_code:
            raise _missing("device_code")
        if not app.public_client:
            raise AadError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        with self.ctx.tenant.read() as state:
            admin = copy.deepcopy(state.admin_user)
            auto = state.flags.device_code_approval == "auto"
        flow = self.device_flows.poll(device_code, app.app_id, auto_approve_upn=admin.upn if auto else None)
        if flow is None:
            raise AadError(
                400,
                "bad_verification_code",
                70018,
                "Invalid verification code. The device_code was not recognized.",
            )  # number unverified; the error string is documented
        if flow.status == "redeemed":
            raise AadError(
                400,
                "invalid_grant",
                70000,
                "The provided value for the input parameter 'device_code' is not valid.",
            )
        if flow.expires_at < time.time():
            raise AadError(400, "expired_token", 70019, "Verification code expired.")
        if flow.status == "declined":
            raise AadError(
                400, "authorization_declined", 70000, "The user declined the authorization request."
            )
        if flow.status == "pending":
            raise AadError(
                400,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        return self._user_tokens(request, app, admin, flow.resource, flow.scopes, form, base)

    def _refresh_token(self, request: Request, form: dict[str, str], base: str) -> Response:
        app = self._client_app(form)
        token = form.get("refresh_token")
        if not token:
            raise _missing("refresh_token")
        with self._lock:
            grant = self._refresh.get(_digest(token))
        if grant is None or grant.client_id != app.app_id or grant.expires_at < time.time():
            raise AadError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        scopes = form.get("scope", "").split() or [f"{grant.resource}/.default", "offline_access"]
        resource = self._delegated_resource(scopes)
        with self.ctx.tenant.read() as state:
            user = copy.deepcopy(state.admin_user)
        if user.upn != grant.user_upn:
            raise AadError(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
        return self._user_tokens(request, app, user, resource, scopes, form, base)

    def _user_tokens(
        self,
        request: Request,
        app: AppRegistration,
        user: DirectoryUser,
        resource: str,
        scopes: list[str],
        form: dict[str, str],
        base: str,
    ) -> Response:
        if not app.delegated_permissions:
            raise AadError(
                400,
                "invalid_grant",
                65001,
                f"The user or administrator has not consented to use the application with ID '{app.app_id}' named "
                f"'{app.display_name}'. Send an interactive authorization request for this user and resource.",
                suberror="consent_required",
            )
        tid = self.ctx.tenant.tenant_id
        now = int(time.time())
        scp = " ".join(sorted(app.delegated_permissions))
        claims: dict[str, Any] = {
            "aud": resource,
            "iss": issuer_v1(tid),
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "acr": "1",
            "amr": ["pwd"],
            "app_displayname": app.display_name,
            "appid": app.app_id,
            "appidacr": "0",
            "family_name": user.surname,
            "given_name": user.given_name,
            "idtyp": "user",
            "ipaddr": request.client[0],
            "name": user.display_name,
            "oid": user.object_id,
            "scp": scp,
            "sub": _pairwise_sub(user.object_id, app.app_id),
            "tid": tid,
            "unique_name": user.upn,
            "upn": user.upn,
            "uti": _uti(),
            "ver": "1.0",
        }
        wids = [ROLE_TEMPLATE_IDS[r] for r in user.directory_roles if r in ROLE_TEMPLATE_IDS]
        if wids:
            claims["wids"] = wids
        requested = {s.lower() for s in scopes}
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(f"{resource}/{p}" for p in sorted(app.delegated_permissions)),
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "ext_expires_in": ACCESS_TOKEN_LIFETIME,
            "access_token": self.ctx.pki.signing.sign(claims),
        }
        if "offline_access" in requested:
            refresh = secrets.token_urlsafe(64)
            with self._lock:
                self._refresh[_digest(refresh)] = _RefreshGrant(
                    app.app_id, user.upn, resource, time.time() + REFRESH_TOKEN_LIFETIME
                )
            body["refresh_token"] = refresh
        if "openid" in requested:
            body["id_token"] = self.ctx.pki.signing.sign(
                {
                    "aud": app.app_id,
                    "iss": self._issuer_v2(base),
                    "iat": now,
                    "nbf": now,
                    "exp": now + ACCESS_TOKEN_LIFETIME,
                    "name": user.display_name,
                    "oid": user.object_id,
                    "preferred_username": user.upn,
                    "sub": _pairwise_sub(user.object_id, app.app_id),
                    "tid": tid,
                    "ver": "2.0",
                }
            )
        if form.get("client_info") == "1":
            info = json.dumps({"uid": user.object_id, "utid": tid}).encode()
            body["client_info"] = b64url(info)
        return self._ok(request, body)

    def _ok(self, request: Request, body: dict[str, Any]) -> Response:
        headers = [*_standard_headers(request, str(uuid.uuid4())), ("Cache-Control", "no-store, no-cache")]
        return Response.json(200, body, [*headers, ("Pragma", "no-cache")])


# --- helpers ----------------------------------------------------------------------------------------------------


def _correlation_id(request: Request) -> str:
    given = request.header("client-request-id") or ""
    try:
        return str(uuid.UUID(given))
    except ValueError:
        return str(uuid.uuid4())


def _standard_headers(request: Request, trace_id: str) -> list[tuple[str, str]]:
    return [("x-ms-request-id", trace_id), ("client-request-id", _correlation_id(request))]


def _uti() -> str:
    return b64url(secrets.token_bytes(16))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _pairwise_sub(object_id: str, app_id: str) -> str:
    # Entra's `sub` is pairwise: the same user has a different subject for each application.
    return b64url(hashlib.sha256(f"{object_id}|{app_id}".encode()).digest())


def _thumbprint_hex(b64: str) -> str:
    try:
        return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex().upper()
    except ValueError:
        return b64


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _utc(seconds: float, *, precise: bool = False) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    if precise:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _parse_iso(value: str) -> float:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
