"""Issue 17.1: the lab's admin API answers only to its token; /lab/health stays open for readiness probes.

The attack: any local user (127.0.0.1 is shared) asked GET /lab/info and got every secret of the lab (app
secrets, PFX passwords, the WinRM and administrator passwords), and could change the tenant through the rest.
"""

from __future__ import annotations

import stat

import pytest

from .conftest import LabHelper

pytestmark = pytest.mark.integration

#: Every admin endpoint that is not a readiness probe, with a body where it takes one.
GUARDED = [
    ("GET", "/lab/info", None),
    ("GET", "/lab/state", None),
    ("POST", "/lab/reset", {}),
    ("GET", "/lab/mailboxes", None),
    ("POST", "/lab/consent", {"app_id": "x", "permission": "full_access_as_app"}),
    ("GET", "/lab/faults", None),
    ("POST", "/lab/faults", {"protocol": "ews", "kind": "http_500"}),
    ("DELETE", "/lab/faults", None),
    ("POST", "/lab/device/approve", {"user_code": "ABC"}),
    ("GET", "/lab/settings", None),
    ("POST", "/lab/settings", {"latency_ms": 0}),
    ("GET", "/lab/requests", None),
    ("GET", "/lab/winrm", None),
    ("GET", "/lab/certstore", None),
    ("POST", "/lab/groups", {"name": "x"}),
    ("GET", "/lab/nothing-here", None),
]


def secrets_of(lab: LabHelper) -> list[str]:
    info = lab.info
    found = [info["winrm"]["password"], info["admin_user"]["password"], info["admin_api"]["token"]]
    for app in info["apps"].values():
        found += [app["secret"], app["pfx_password"]]
    return [s for s in found if s]


def test_without_the_token_lab_info_is_401_and_shows_no_secret(fresh_lab: LabHelper) -> None:
    # Before the fix this answered 200 with lab.json: the attack of issue 17.1.
    response = fresh_lab.session.get(f"{fresh_lab.base_url}/lab/info", timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"
    for secret in secrets_of(fresh_lab):
        assert secret not in response.text
    # With the token, the same call serves lab.json (what tests and scripts rely on).
    authorized = fresh_lab.admin("GET", "info")
    assert authorized.status_code == 200
    assert authorized.json()["apps"]["rooms"]["secret"] == fresh_lab.app("rooms")["secret"]


@pytest.mark.parametrize(("method", "path", "body"), GUARDED)
def test_every_admin_endpoint_but_health_needs_the_token(
    fresh_lab: LabHelper, method: str, path: str, body: object
) -> None:
    before = fresh_lab.admin("GET", "settings").json()
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"X-Lab-Token": "wrong"},
        {"Authorization": "Basic x"},
    ):
        response = fresh_lab.session.request(
            method, f"{fresh_lab.base_url}{path}", json=body, headers=headers, timeout=10
        )
        assert response.status_code == 401, (path, headers, response.text)
        for secret in secrets_of(fresh_lab):
            assert secret not in response.text
    assert fresh_lab.admin("GET", "settings").json() == before  # nothing changed


def test_health_is_open_and_both_token_headers_are_accepted(fresh_lab: LabHelper) -> None:
    health = fresh_lab.session.get(f"{fresh_lab.base_url}/lab/health", timeout=10)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    token = fresh_lab.lab.admin_token
    for headers in ({"Authorization": f"Bearer {token}"}, {"X-Lab-Token": token}):
        response = fresh_lab.session.get(f"{fresh_lab.base_url}/lab/state", headers=headers, timeout=10)
        assert response.status_code == 200


def test_the_token_is_in_lab_json_which_only_its_owner_reads(fresh_lab: LabHelper) -> None:
    token = fresh_lab.info["admin_api"]["token"]
    assert token == fresh_lab.lab.admin_token
    assert len(token) >= 40
    mode = stat.S_IMODE((fresh_lab.dir / "lab.json").stat().st_mode)
    assert mode == 0o600
