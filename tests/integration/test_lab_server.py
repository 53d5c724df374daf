"""The lab's server seams: faults, counts, latency, loopback binding, the admin API and authorize()."""

from __future__ import annotations

import socket
import time
import uuid
from typing import Any

import jwt
import pytest
import requests

from roomsops.lab.authz import authorize

from .conftest import LabHelper

pytestmark = pytest.mark.integration


def token_request(lab: LabHelper, **extra: str) -> requests.Response:
    return lab.session.post(
        lab.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": lab.app("rooms")["app_id"],
            "client_secret": lab.app("rooms")["secret"],
            "scope": lab.scope,
            **extra,
        },
        timeout=10,
    )


def fresh_assertion(lab: LabHelper) -> dict[str, str]:
    """Form fields of a certificate assertion, whose jti makes its second use visible (a replay)."""
    rooms = lab.app("rooms")
    now = int(time.time())
    claims = {
        "aud": lab.token_url,
        "iss": rooms["app_id"],
        "sub": rooms["app_id"],
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "exp": now + 600,
    }
    key = open(rooms["certificate_file"], encoding="ascii").read()
    x5t = jwt.utils.base64url_encode(bytes.fromhex(rooms["thumbprint"])).decode()
    return {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": jwt.encode(claims, key, algorithm="RS256", headers={"x5t": x5t}),
    }


def assertion_request(lab: LabHelper, fields: dict[str, str]) -> requests.Response:
    rooms = lab.app("rooms")
    data = {"grant_type": "client_credentials", "client_id": rooms["app_id"], "scope": lab.scope, **fields}
    return lab.session.post(lab.token_url, data=data, timeout=10)


# --- faults -----------------------------------------------------------------------------------------------


def test_a_fault_applies_to_exactly_the_next_count_matching_requests(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    fault = lab.fault(
        protocol="token", operation="client_credentials", kind="http_503", count=2, back_off_ms=1500
    )
    assert fault["remaining"] == 2
    statuses = []
    for _ in range(3):
        response = token_request(lab)
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.json()["error"] == "temporarily_unavailable"
            assert response.headers["Retry-After"] == "2"
    assert statuses == [503, 503, 200]
    assert lab.admin("GET", "faults").json() == []
    assert lab.requests()["token:client_credentials"] == 3


def test_a_fault_matches_only_its_operation(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    lab.fault(protocol="token", operation="device_code", kind="http_500", count=1)
    assert token_request(lab).status_code == 200
    assert len(lab.admin("GET", "faults").json()) == 1


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [
        ("server_busy", 429, "temporarily_unavailable"),
        ("http_500", 500, "server_error"),
        ("http_401", 401, "invalid_client"),
    ],
)
def test_token_faults_answer_in_entras_shape(
    fresh_lab: LabHelper, kind: str, status: int, error: str
) -> None:
    fresh_lab.fault(protocol="token", operation="*", kind=kind, back_off_ms=300)
    response = token_request(fresh_lab)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"].startswith("AADSTS")


def test_drop_before_loses_the_request_and_drop_after_only_its_answer(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    lab.fault(protocol="token", operation="client_credentials", kind="drop_before")
    fields = fresh_assertion(lab)
    with pytest.raises(requests.ConnectionError):
        assertion_request(lab, fields)
    # The dropped request never reached the token service: the same assertion is still unused.
    assert assertion_request(lab, fields).status_code == 200

    lab.fault(protocol="token", operation="client_credentials", kind="drop_after")
    fields = fresh_assertion(lab)
    with pytest.raises(requests.ConnectionError):
        assertion_request(lab, fields)
    # The token service did handle it (the assertion is now used), only the answer was lost.
    replay = assertion_request(lab, fields)
    assert replay.status_code == 401
    assert replay.json()["error_codes"] == [50013]
    assert lab.requests()["token:client_credentials"] == 4


def test_bad_fault_specifications_are_refused(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    for spec in (
        {"protocol": "smtp", "kind": "http_503"},
        {"protocol": "token", "kind": "explode"},
        {"protocol": "token", "kind": "http_503", "count": 0},
        {"protocol": "token", "kind": "http_503", "back_off_ms": -1},
        {"protocol": "token", "kind": "http_503", "count": "2"},
        {"protocol": "token", "kind": "http_503", "colour": "red"},
        {"protocol": "cmdlet", "kind": "http_503"},  # a cmdlet fault is a cmdlet error, nothing else
        {"protocol": "ews", "kind": "cmdlet_error"},
    ):
        response = lab.admin("POST", "faults", json=spec)
        assert response.status_code == 400, spec
        assert response.json()["error"]["message"]
    assert lab.admin("GET", "faults").json() == []


# --- counts, latency, binding ---------------------------------------------------------------------------------


def test_requests_are_counted_per_protocol_operation(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    lab.session.get(f"{lab.authority}/v2.0/.well-known/openid-configuration", timeout=10)
    lab.session.get(f"{lab.authority}/discovery/v2.0/keys", timeout=10)
    token_request(lab)
    lab.session.get(f"{lab.base_url}/no/such/path", timeout=10)
    lab.admin("GET", "state")
    assert lab.requests() == {
        "token:client_credentials": 1,
        "token:keys": 1,
        "token:openid-configuration": 1,
    }
    lab.reset_requests()
    assert lab.requests() == {}


def test_latency_delays_protocol_requests_but_not_the_admin_api(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    # A latency long beside one loopback request, so a loaded machine cannot blur the two.
    lab.settings(latency_ms=1500)
    try:
        started = time.monotonic()
        assert lab.session.get(f"{lab.authority}/v2.0/.well-known/openid-configuration", timeout=10).ok
        assert time.monotonic() - started >= 1.5
        started = time.monotonic()
        lab.admin("GET", "requests")
        assert time.monotonic() - started < 1.5
    finally:
        lab.settings(latency_ms=0)


def test_the_server_listens_on_127_0_0_1_only(lab: LabHelper) -> None:
    host, port = lab.lab.server_address
    assert host == "127.0.0.1"
    assert port == lab.lab.port
    for url in lab.info["endpoints"].values():
        assert url.startswith(f"https://127.0.0.1:{port}")
    # Another loopback address reaches every socket bound to 0.0.0.0, but not one bound to 127.0.0.1.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", port), timeout=2):
        pass


def test_unknown_paths_are_404(lab: LabHelper) -> None:
    assert lab.session.get(f"{lab.base_url}/EWS/Exchange.asmx", timeout=10).status_code == 404
    response = lab.admin("GET", "nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- admin API ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "bad_json"),
        (b"[1, 2]", "bad_request"),
        (b'{"email": "x@roomslab.onmicrosoft.com", "colour": "red"}', "unknown_field"),
        (b'{"email": 42}', "bad_field"),
        (b'{"display_name": "No Address"}', "missing_field"),
        (b'{"email": "not-an-address"}', "bad_field"),
        (b'{"email": "x@roomslab.onmicrosoft.com", "kind": "printer"}', "bad_field"),
    ],
)
def test_admin_api_refuses_bad_bodies_with_400(fresh_lab: LabHelper, body: bytes, code: str) -> None:
    response = fresh_lab.admin("POST", "mailboxes", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_admin_api_refuses_wrong_methods_with_405(lab: LabHelper) -> None:
    response = lab.admin("DELETE", "state")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_state_lists_the_seed_tenant_without_secrets(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    response = lab.admin("GET", "state")
    state = response.json()
    assert state["tenant_id"] == lab.tenant_id
    assert state["domain"] == "roomslab.onmicrosoft.com"
    assert lab.app("rooms")["secret"] not in response.text
    assert lab.info["admin_user"]["password"] not in response.text
    rooms = next(a for a in state["apps"] if a["key"] == "rooms")
    assert rooms["application_permissions"] == ["full_access_as_app"]
    assert rooms["certificates"][0]["thumbprint_sha1"] == lab.app("rooms")["thumbprint"]
    admin = next(a for a in state["apps"] if a["key"] == "admin")
    assert admin["application_permissions"] == ["Exchange.ManageAsApp"]
    assert admin["directory_roles"] == ["Exchange Administrator"]
    by_address = {m["primary_smtp"]: m for m in state["mailboxes"]}
    diego = by_address["DiegoS@roomslab.onmicrosoft.com"]
    assert diego["aliases"] == ["diego.siciliani@roomslab.onmicrosoft.com"]
    assert diego["sid"].startswith("S-1-5-21-")
    assert diego["ews_enabled"] is None
    zurich = by_address["room-zurich@roomslab.onmicrosoft.com"]
    assert (zurich["display_name"], zurich["kind"], zurich["automate_processing"]) == (
        "Zürich",
        "room",
        "AutoAccept",
    )
    assert state["organization"] == {"ews_enabled": None, "ews_allowed_app_ids": []}
    assert len(lab.info["mailboxes"]) == len(state["mailboxes"]) == 7


def test_added_mailboxes_resolve_by_alias_and_reset_removes_them(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    created = lab.admin(
        "POST",
        "mailboxes",
        json={
            "email": "Room-Genf@roomslab.onmicrosoft.com",
            "display_name": "Genève",
            "kind": "room",
            "aliases": ["geneve@roomslab.onmicrosoft.com"],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "room"
    assert created.json()["automate_processing"] == "AutoAccept"
    calendar = lab.admin("GET", "mailboxes/GENEVE@roomslab.onmicrosoft.com/calendar")
    assert calendar.json() == {"mailbox": "Room-Genf@roomslab.onmicrosoft.com", "items": []}
    taken = lab.admin(
        "POST",
        "mailboxes",
        json={"email": "someone@x.example", "aliases": ["ADELE@roomslab.onmicrosoft.com"]},
    )
    assert taken.status_code == 409

    ids_before = {m["primary_smtp"]: m["id"] for m in lab.admin("GET", "mailboxes").json()}
    lab.reset()
    ids_after = {m["primary_smtp"]: m["id"] for m in lab.admin("GET", "mailboxes").json()}
    assert "Room-Genf@roomslab.onmicrosoft.com" not in ids_after
    assert all(ids_before[address] == ids_after[address] for address in ids_after)
    assert lab.admin("GET", "mailboxes/geneve@roomslab.onmicrosoft.com/calendar").status_code == 404


def test_consent_for_an_unknown_app_is_404(lab: LabHelper) -> None:
    response = lab.admin(
        "POST",
        "consent",
        json={"app_id": str(uuid.uuid4()), "permission": "full_access_as_app", "grant": True},
    )
    assert response.status_code == 404


# --- authorize() ------------------------------------------------------------------------------------------------


def test_authorize_decides_on_the_tenant_wide_permission(fresh_lab: LabHelper) -> None:
    lab = fresh_lab
    tenant = lab.lab.tenant
    rooms, admin = lab.app("rooms")["app_id"], lab.app("admin")["app_id"]

    decision = authorize(tenant, rooms, "Diego.Siciliani@ROOMSLAB.onmicrosoft.com")
    assert (decision.allowed, decision.reason) == (True, "ok")
    assert decision.mailbox == "DiegoS@roomslab.onmicrosoft.com"

    assert authorize(tenant, rooms, "nobody@roomslab.onmicrosoft.com").reason == "mailbox_not_found"
    assert authorize(tenant, str(uuid.uuid4()), "DiegoS@roomslab.onmicrosoft.com").reason == "app_not_found"
    assert authorize(tenant, admin, "DiegoS@roomslab.onmicrosoft.com").reason == "no_permission"
    # A token's roles decide over the tenant's current consent (a revoked consent bites with the next token).
    token_roles: list[Any] = []
    assert (
        authorize(tenant, rooms, "AdeleV@roomslab.onmicrosoft.com", token_roles=token_roles).reason
        == "no_permission"
    )

    tenant.set_consent(rooms, "full_access_as_app", False)
    refused = authorize(tenant, rooms, "room-bern@roomslab.onmicrosoft.com")
    assert (refused.allowed, refused.reason) == (False, "no_permission")
    assert "full_access_as_app" in refused.detail
