"""The lab's token service driven by the real msal (and raw HTTP where msal hides the wire)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import msal
import pytest
import requests

from roomsops.lab.bearer import BearerTokenError, verify_bearer_token, verify_request
from roomsops.lab.pki import generate_self_signed, private_key_pem, sha1_thumbprint
from roomsops.lab.web import Request

from .conftest import LabHelper

pytestmark = pytest.mark.integration


class RecordingSession(requests.Session):
    """An msal http_client that remembers the forms it posted (to look at client assertions)."""

    def __init__(self, ca: str) -> None:
        super().__init__()
        self.trust_env = False
        self.verify = ca
        self.posted: list[dict[str, Any]] = []

    def post(self, url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:
        self.posted.append(dict(data or {}))
        return super().post(url, data=data, json=json, **kwargs)


def confidential(
    lab: LabHelper, credential: Any, client_id: str | None = None, **kw: Any
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id or lab.app("rooms")["app_id"],
        client_credential=credential,
        authority=kw.pop("authority", lab.authority),
        instance_discovery=False,
        http_client=kw.pop("http_client", None) or lab.http(),
        **kw,
    )


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def rooms_key_pem(lab: LabHelper) -> str:
    return open(lab.app("rooms")["certificate_file"], encoding="ascii").read()


def assertion(lab: LabHelper, **overrides: Any) -> str:
    """A client assertion for the sync app, signed with its registered certificate (RS256 + x5t)."""
    now = int(time.time())
    claims = {
        "aud": lab.token_url,
        "iss": lab.app("rooms")["app_id"],
        "sub": lab.app("rooms")["app_id"],
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "iat": now,
        "exp": now + 600,
        **overrides,
    }
    thumbprint = jwt.utils.base64url_encode(bytes.fromhex(lab.app("rooms")["thumbprint"])).decode()
    return jwt.encode(claims, rooms_key_pem(lab), algorithm="RS256", headers={"x5t": thumbprint})


def post_assertion(lab: LabHelper, client_assertion: str) -> requests.Response:
    return lab.session.post(
        lab.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": lab.app("rooms")["app_id"],
            "scope": lab.scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion,
        },
        timeout=10,
    )


def test_client_secret_token_carries_app_claims_and_verifies_with_the_jwks(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    rooms = lab.app("rooms")
    result = confidential(lab, rooms["secret"]).acquire_token_for_client([lab.scope])
    assert result["token_type"] == "Bearer", result
    assert result["expires_in"] == 3599

    keys = lab.session.get(f"{lab.authority}/discovery/v2.0/keys", timeout=10).json()["keys"]
    header = jwt.get_unverified_header(result["access_token"])
    key = next(k for k in keys if k["kid"] == header["kid"])
    claims = jwt.decode(
        result["access_token"], jwt.PyJWK(key).key, algorithms=["RS256"], audience=lab.base_url
    )
    assert claims["roles"] == ["full_access_as_app"]
    assert claims["tid"] == lab.tenant_id
    assert claims["appid"] == rooms["app_id"]
    assert claims["app_displayname"] == "ROOMS"
    assert claims["oid"] == rooms["object_id"]
    assert claims["idtyp"] == "app"
    assert claims["appidacr"] == "1"
    assert claims["iss"] == f"https://sts.windows.net/{lab.tenant_id}/"
    assert claims["ver"] == "1.0"
    assert claims["exp"] - claims["iat"] == 3599


def test_certificate_with_sha1_thumbprint_signs_rs256_with_x5t(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    recorder = RecordingSession(lab.ca)
    credential = {"private_key": rooms_key_pem(lab), "thumbprint": lab.app("rooms")["thumbprint"]}
    result = confidential(lab, credential, http_client=recorder).acquire_token_for_client([lab.scope])
    assert "access_token" in result, result
    header = jwt.get_unverified_header(recorder.posted[-1]["client_assertion"])
    assert header["alg"] == "RS256"
    assert "x5t" in header and "x5t#S256" not in header
    assert claims_of(result["access_token"])["appidacr"] == "2"


def test_certificate_with_public_certificate_signs_ps256_with_x5t_s256(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    recorder = RecordingSession(lab.ca)
    pem = rooms_key_pem(lab)
    credential = {"private_key": pem, "public_certificate": pem}
    result = confidential(lab, credential, http_client=recorder).acquire_token_for_client([lab.scope])
    assert "access_token" in result, result
    header = jwt.get_unverified_header(recorder.posted[-1]["client_assertion"])
    assert header["alg"] == "PS256"
    assert (
        header["x5t#S256"].rstrip("=")
        == jwt.utils.base64url_encode(bytes.fromhex(lab.app("rooms")["thumbprint_sha256"])).decode()
    )
    assert claims_of(result["access_token"])["roles"] == ["full_access_as_app"]


@pytest.mark.parametrize(
    ("case", "error", "code"),
    [
        ("wrong_secret", "invalid_client", 7000215),
        ("unknown_app", "unauthorized_client", 700016),
        ("unregistered_certificate", "invalid_client", 700027),
    ],
)
def test_credential_errors_reach_msal_with_their_aadsts_code(
    fresh_lab: LabHelper, case: str, error: str, code: int
) -> None:
    lab = fresh_lab
    if case == "wrong_secret":
        app = confidential(lab, "not-the-secret")
    elif case == "unknown_app":
        app = confidential(lab, "whatever", client_id=str(uuid.uuid4()))
    else:
        key, cert = generate_self_signed("not registered")
        app = confidential(lab, {"private_key": private_key_pem(key), "thumbprint": sha1_thumbprint(cert)})
    result = app.acquire_token_for_client([lab.scope])
    assert result.get("error") == error, result
    assert result["error_codes"] == [code]
    assert result["error_description"].startswith(f"AADSTS{code}: ")


def test_error_answers_have_entras_shape_and_status(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    correlation = str(uuid.uuid4())
    response = lab.session.post(
        lab.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": lab.app("rooms")["app_id"],
            "client_secret": "wrong",
            "scope": lab.scope,
        },
        headers={"client-request-id": correlation},
        timeout=10,
    )
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert body["error_codes"] == [7000215]
    assert body["correlation_id"] == correlation
    assert uuid.UUID(body["trace_id"])
    assert body["timestamp"].endswith("Z")
    assert lab.app("rooms")["secret"] not in response.text


def test_unknown_tenant_is_aadsts90002(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    other = str(uuid.uuid4())
    with pytest.raises(ValueError) as raised:
        confidential(lab, lab.app("rooms")["secret"], authority=f"{lab.base_url}/{other}")
    # msal wraps the failed OpenID discovery; the lab's answer is the wrapped exception.
    assert "AADSTS90002" in str(raised.value.__context__)

    response = lab.session.post(
        f"{lab.base_url}/{other}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": lab.app("rooms")["app_id"],
            "scope": lab.scope,
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_codes"] == [90002]


def test_the_tenant_domain_names_the_tenant_too(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    app = confidential(lab, lab.app("rooms")["secret"], authority=f"{lab.base_url}/roomslab.onmicrosoft.com")
    result = app.acquire_token_for_client([lab.scope])
    assert claims_of(result["access_token"])["tid"] == lab.tenant_id


@pytest.mark.parametrize(
    ("scope", "error", "code"),
    [
        ("{base}/EWS.AccessAsUser.All", "invalid_scope", 1002012),
        ("https://outlook.office365.com/.default", "invalid_resource", 500011),
    ],
)
def test_app_only_scope_must_be_the_lab_resource_dot_default(
    fresh_lab: LabHelper, scope: str, error: str, code: int
) -> None:
    lab = fresh_lab
    result = confidential(lab, lab.app("rooms")["secret"]).acquire_token_for_client(
        [scope.format(base=lab.base_url)]
    )
    assert result.get("error") == error, result
    assert result["error_codes"] == [code]


def test_localhost_names_the_resource_too(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    scope = f"https://localhost:{lab.lab.port}/.default"
    result = confidential(lab, lab.app("rooms")["secret"]).acquire_token_for_client([scope])
    assert claims_of(result["access_token"])["aud"] == f"https://localhost:{lab.lab.port}"


def test_msal_caches_the_token_one_request_for_two_acquisitions(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    app = confidential(lab, lab.app("rooms")["secret"])
    first = app.acquire_token_for_client([lab.scope])
    second = app.acquire_token_for_client([lab.scope])
    assert first["access_token"] == second["access_token"]
    assert second["token_source"] == "cache"
    counts = lab.requests()
    assert counts["token:client_credentials"] == 1
    assert counts["token:openid-configuration"] == 1


def test_a_replayed_client_assertion_is_refused(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    signed = assertion(lab)
    assert post_assertion(lab, signed).status_code == 200
    again = post_assertion(lab, signed)
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"
    assert again.json()["error_codes"] == [50013]


def test_an_expired_client_assertion_is_refused(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    now = int(time.time())
    response = post_assertion(lab, assertion(lab, nbf=now - 7200, iat=now - 7200, exp=now - 3600))
    assert response.status_code == 401
    assert response.json()["error_codes"] == [700024]
    assert "not within its valid time range" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"aud": "https://login.microsoftonline.com/common/oauth2/v2.0/token"}, 700023),
        ({"iss": "11111111-1111-1111-1111-111111111111"}, 700021),
    ],
)
def test_an_assertion_for_another_audience_or_issuer_is_refused(
    fresh_lab: LabHelper, overrides: dict[str, str], code: int
) -> None:
    response = post_assertion(fresh_lab, assertion(fresh_lab, **overrides))
    assert response.status_code == 401
    assert response.json()["error_codes"] == [code]


def test_a_tampered_assertion_fails_signature_validation(fresh_lab: LabHelper) -> None:
    head, payload, signature = assertion(fresh_lab).split(".")
    forged = ".".join(
        [head, payload, signature[:-6] + ("AAAAAA" if signature[-6:] != "AAAAAA" else "BBBBBB")]
    )
    response = post_assertion(fresh_lab, forged)
    assert response.status_code == 401
    assert response.json()["error_codes"] == [700027]


def test_revoking_consent_removes_the_role_from_the_next_token(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    rooms = lab.app("rooms")
    revoked = lab.admin(
        "POST",
        "consent",
        json={"app_id": rooms["app_id"], "permission": "full_access_as_app", "grant": False},
    )
    assert revoked.status_code == 200
    assert revoked.json()["application_permissions"] == []
    token = confidential(lab, rooms["secret"]).acquire_token_for_client([lab.scope])["access_token"]
    assert "roles" not in claims_of(token)

    granted = lab.admin(
        "POST", "consent", json={"app_id": rooms["app_id"], "permission": "full_access_as_app", "grant": True}
    )
    assert granted.json()["application_permissions"] == ["full_access_as_app"]
    token = confidential(lab, rooms["secret"]).acquire_token_for_client([lab.scope])["access_token"]
    assert claims_of(token)["roles"] == ["full_access_as_app"]


def test_device_code_flow_signs_in_the_lab_administrator(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    admin = lab.app("admin")
    app = msal.PublicClientApplication(
        admin["app_id"], authority=lab.authority, instance_discovery=False, http_client=lab.http()
    )
    flow = app.initiate_device_flow(scopes=[lab.scope])
    assert flow["user_code"] in flow["message"]
    assert flow["interval"] == 1
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    claims = claims_of(result["access_token"])
    assert claims["upn"] == lab.info["admin_user"]["upn"] == "admin@roomslab.onmicrosoft.com"
    assert claims["scp"] == "Exchange.Manage"
    assert claims["idtyp"] == "user"
    assert claims["appid"] == admin["app_id"]
    assert claims["aud"] == lab.base_url
    assert "roles" not in claims
    account = app.get_accounts()[0]
    assert account["username"] == "admin@roomslab.onmicrosoft.com"
    counts = lab.requests()
    assert counts["token:device_authorization"] == 1
    assert counts["token:device_code"] == 2  # first poll pending (auto approval), second redeems
    # The answer lists the granted scopes, not ".default": msal's silent call redeems the refresh token.
    silent = app.acquire_token_silent([lab.scope], account=account)
    assert silent is not None and claims_of(silent["access_token"])["upn"] == account["username"]
    assert lab.requests()["token:refresh_token"] == 1


def test_device_code_waits_for_manual_approval_when_the_tenant_says_so(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    lab.settings(device_code_approval="manual")
    admin = lab.app("admin")
    started = lab.session.post(
        f"{lab.authority}/oauth2/v2.0/devicecode",
        data={"client_id": admin["app_id"], "scope": f"{lab.scope} openid profile offline_access"},
        timeout=10,
    ).json()
    poll = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "client_id": admin["app_id"],
        "device_code": started["device_code"],
    }
    for _ in range(2):
        pending = lab.session.post(lab.token_url, data=poll, timeout=10)
        assert pending.status_code == 400
        assert pending.json()["error"] == "authorization_pending"
        assert pending.json()["error_codes"] == [70016]
    assert lab.admin("GET", "device").json()["pending"][0]["user_code"] == started["user_code"]
    assert lab.admin("POST", "device/approve", json={"user_code": started["user_code"]}).status_code == 200
    granted = lab.session.post(lab.token_url, data=poll, timeout=10)
    assert granted.status_code == 200
    assert claims_of(granted.json()["access_token"])["upn"] == "admin@roomslab.onmicrosoft.com"
    again = lab.session.post(lab.token_url, data=poll, timeout=10)
    assert again.json()["error"] == "invalid_grant"


def test_device_code_needs_public_client_flows_on_the_app(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    rooms = lab.app("rooms")
    started = lab.session.post(
        f"{lab.authority}/oauth2/v2.0/devicecode",
        data={"client_id": rooms["app_id"], "scope": lab.scope},
        timeout=10,
    ).json()
    response = lab.session.post(
        lab.token_url,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": rooms["app_id"],
            "device_code": started["device_code"],
        },
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error_codes"] == [7000218]


def test_verify_bearer_token_checks_signature_audience_and_expiry(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    ctx = lab.lab.context
    token = confidential(lab, lab.app("rooms")["secret"]).acquire_token_for_client([lab.scope])[
        "access_token"
    ]
    claims = verify_bearer_token(token, ctx.pki.signing, audiences=ctx.resources, tenant_id=lab.tenant_id)
    assert claims["appid"] == lab.app("rooms")["app_id"]
    request = Request.build(
        "POST", "/EWS/Exchange.asmx", [("Authorization", f"Bearer {token}")], b"", ("", 0)
    )
    assert verify_request(ctx, request) == claims
    with pytest.raises(BearerTokenError) as missing:
        verify_request(ctx, Request.build("POST", "/EWS/Exchange.asmx", [], b"", ("", 0)))
    assert missing.value.reason == "missing"

    with pytest.raises(BearerTokenError) as expired:
        verify_bearer_token(
            token, ctx.pki.signing, audiences=ctx.resources, tenant_id=lab.tenant_id, now=time.time() + 7200
        )
    assert expired.value.reason == "expired"
    with pytest.raises(BearerTokenError) as audience:
        verify_bearer_token(
            token, ctx.pki.signing, audiences=["https://outlook.office365.com"], tenant_id=lab.tenant_id
        )
    assert audience.value.reason == "wrong_audience"
    head, payload, _ = token.split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"aud":"x"}').decode()
    with pytest.raises(BearerTokenError) as forged:
        verify_bearer_token(
            f"{head}.{forged_payload}.{token.split('.')[2]}",
            ctx.pki.signing,
            audiences=ctx.resources,
            tenant_id=lab.tenant_id,
        )
    assert forged.value.reason in ("bad_signature", "malformed")
    other_key, _ = generate_self_signed("another issuer")
    alien = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": ctx.pki.signing.kid})
    with pytest.raises(BearerTokenError) as alien_signature:
        verify_bearer_token(alien, ctx.pki.signing, audiences=ctx.resources, tenant_id=lab.tenant_id)
    assert alien_signature.value.reason == "bad_signature"
    assert payload


@pytest.mark.parametrize(
    ("change", "status", "error", "code"),
    [
        ({"scope": None}, 400, "invalid_request", 900144),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"client_secret": None}, 401, "invalid_client", 7000218),
        ({"scope": "{base}/.default https://localhost:1/.default"}, 400, "invalid_scope", 700022),
        (
            {"client_secret": None, "client_assertion": "x.y.z", "client_assertion_type": "{jwt}"},
            401,
            "invalid_client",
            50027,
        ),
    ],
)
def test_malformed_token_requests_are_refused_like_entra(
    fresh_lab: LabHelper, change: dict[str, str | None], status: int, error: str, code: int
) -> None:
    lab = fresh_lab
    form: dict[str, str | None] = {
        "grant_type": "client_credentials",
        "client_id": lab.app("rooms")["app_id"],
        "client_secret": lab.app("rooms")["secret"],
        "scope": lab.scope,
    }
    jwt_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    form.update({k: v.format(base=lab.base_url, jwt=jwt_type) if v else v for k, v in change.items()})
    response = lab.session.post(
        lab.token_url, data={k: v for k, v in form.items() if v is not None}, timeout=10
    )
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.json()["error_codes"] == [code]


def test_the_token_endpoint_takes_only_post(fresh_lab: LabHelper) -> None:
    response = fresh_lab.session.get(fresh_lab.token_url, timeout=10)
    assert response.status_code == 400
    assert response.json()["error_codes"] == [900561]


def test_an_expired_client_secret_is_aadsts7000222(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    tenant = lab.lab.tenant
    with tenant.change() as state:
        secret = state.app("rooms").secrets[0]
        end, secret.end = secret.end, "2020-01-01T00:00:00Z"
    try:
        result = confidential(lab, lab.app("rooms")["secret"]).acquire_token_for_client([lab.scope])
        assert result.get("error_codes") == [7000222], result
    finally:
        with tenant.change() as state:
            state.app("rooms").secrets[0].end = end
