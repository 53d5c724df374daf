"""Issue 24, items 3 and 5: `sync test`, `auth test` and `doctor` test each person over the service its sync mode
uses (Microsoft365: Microsoft Graph — token roles, user lookup, calendar read, a probe write with --write-probe);
`ews status` reports the persons still on EWS and the next command. Against the lab, counted requests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.test_readme_json import assert_documented
from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

GRAPH_STEPS = ["Graph token", "Graph connection", "user lookup", "primary SMTP address", "calendar read"]


def checks(run: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(run.out)["checks"]}


def consent(lab: LabHelper, permission: str, grant: bool) -> None:
    rooms = lab.info["apps"]["rooms"]["app_id"]
    body = {"app_id": rooms, "permission": permission, "grant": grant, "resource": "graph"}
    assert lab.admin("POST", "/lab/consent", json=body).status_code == 200


def test_diagnostics_follow_the_persons_sync_mode(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    adele, diego = addr("AdeleV"), addr("DiegoS")
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))

    # A Microsoft365 person is tested over Graph, the probe write creates and deletes one event; no EWS call.
    lab.reset_requests()
    run = invoke("--json", "sync", "test", adele, "--write-probe", env=env)
    assert run.code == 0, run.out + run.err
    assert list(checks(run)) == [*GRAPH_STEPS, "probe write"]
    assert "Calendars.ReadWrite" in checks(run)["Graph token"]["message"]
    counted = lab.requests()
    assert (counted.get("graph:events.create"), counted.get("graph:events.delete")) == (1, 1)
    assert not [k for k in counted if k.startswith("ews:")]
    items = lab.admin("GET", f"/lab/mailboxes/{adele}/calendar").json()["items"]
    assert not [i for i in items if "roomsops sync test" in i.get("subject", "")]
    # Without --write-probe nothing is written; an O365 person is tested over EWS as before.
    lab.reset_requests()
    run = invoke("--json", "sync", "test", adele, env=env)
    assert run.code == 0 and list(checks(run)) == GRAPH_STEPS
    assert "graph:events.create" not in lab.requests()
    ews_run = ok(invoke("--json", "sync", "test", diego, "--write-probe", env=env))
    assert (
        "impersonation" in checks(ews_run) and "--write-probe applies to Microsoft365 persons" in ews_run.err
    )
    # Graph not reached: the connection step fails and the run is exit 3 (cannot connect).
    closed = env | {"ROOMSOPS_CLOUD_GRAPH_URL": "https://127.0.0.1:9"}
    run = invoke("--json", "sync", "test", adele, env=closed)
    assert run.code == 3 and checks(run)["Graph connection"]["status"] == "failed", run.out

    # auth test: the Graph token's roles beside EWS's, and the mailbox probed over its own service.
    auth = json.loads(ok(invoke("--json", "auth", "test", "--mailbox", adele, env=env)).out)
    by_name = {c["name"]: c["status"] for c in auth["checks"]}
    assert by_name == {
        "token": "ok",
        "roles": "ok",
        "Graph token": "ok",
        "Graph roles": "ok",
        f"mailbox {adele} over Graph": "ok",
    }
    assert_documented("auth test", auth)

    # doctor: the persons per mode, the Graph token, the Graph probe of a Microsoft365 mailbox.
    run = invoke("--json", "doctor", "--mailbox", adele, env=env)
    found = checks(run)
    assert run.code == 0, run.out
    assert found["sync modes"]["message"] == "1 Microsoft365 (Graph), 1 O365 (EWS)"
    assert (found["Graph roles"]["status"], found["Graph probe"]["status"]) == ("ok", "ok")
    assert "EWS probe" not in found

    # ews status: Diego is still on EWS; the next command moves him.
    doc = json.loads(ok(invoke("--json", "ews", "status", env=env)).out)
    assert_documented("ews status", doc)
    ready = doc["readiness"]
    assert ready["persons_on_ews"] == [{"email": diego, "sync_mode": "O365"}]
    assert (ready["persons_on_graph"], ready["shutdown"]) == (1, "2027-04-01")
    assert ready["next_command"] == "roomsops sync migrate --to graph --all"
    assert "next: roomsops sync migrate --to graph --all" in ok(invoke("ews", "status", env=env)).out

    # Without the Graph permission Calendars.ReadWrite: each command names it and fails (exit 1).
    consent(lab, "Calendars.ReadWrite", grant=False)
    try:
        run = invoke("--json", "sync", "test", adele, env=env)
        assert run.code == 1
        failed = checks(run)["Graph token"]
        assert failed["status"] == "failed" and "Calendars.ReadWrite" in failed["remedy"]
        assert checks(run)["calendar read"]["message"] == "not run: an earlier step failed"
        assert invoke("auth", "test", env=env).code == 1
        assert checks(invoke("--json", "doctor", env=env))["Graph roles"]["status"] == "failed"
    finally:
        consent(lab, "Calendars.ReadWrite", grant=True)

    # Every person on Graph: ready, and EWS switched off is no failure of the sync's any more.
    ok(invoke("persons", "set", diego, "--sync-mode", "Microsoft365", env=env))
    with lab.lab.tenant.change() as state:
        state.organization.ews_enabled = False
    run = invoke("--json", "ews", "status", env=env)
    assert run.code == 0, run.out
    ready = json.loads(run.out)["readiness"]
    assert (ready["persons_on_ews"], ready["persons_on_graph"], ready["next_command"]) == ([], 2, None)
    assert checks(invoke("--json", "doctor", env=env))["EWS readiness"]["status"] == "ok"


def test_rbac_graph_role_for_microsoft365_persons_beside_the_ews_role(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    consent(lab, "Calendars.ReadWrite", grant=False)  # RBAC alone opens calendars over Graph
    rbac_env = env | {"ROOMSOPS_POLICY_ENGINE": "rbac"}
    adele, diego, megan = addr("AdeleV"), addr("DiegoS"), addr("MeganB")
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    sp = ["--sp-object-id", lab.app("rooms")["object_id"]]
    try:
        # An application access policy governs Graph too: --permission is RBAC's alone (exit 2, nothing made).
        refused = invoke(
            "policy", "restrict", "--engine", "aap", "--from-persons", "--permission", "graph", env=env
        )
        assert refused.code == 2 and "--permission" in refused.err

        restrict = [
            "--json",
            "policy",
            "restrict",
            "--engine",
            "rbac",
            *sp,
            "--from-persons",
            "--probe",
            megan,
        ]
        run = invoke(*restrict, "--permission", "graph", env=env)
        assert run.code == 0, run.out + run.err
        doc = json.loads(run.out)
        assert_documented("policy restrict --engine rbac", doc)
        assert doc["role"] == "Application Calendars.ReadWrite" and doc["tenant_wide_grant"] is False
        # --from-persons: the Microsoft365 person is a member beside the O365 one.
        assert [(t["mailbox"], t["access_check_result"]) for t in doc["tests"]] == [
            (adele, "Granted"),
            (diego, "Granted"),
            (megan, "Denied"),
        ]
        # Test-ServicePrincipalAuthorization answers for the Graph role; --live asks Graph itself.
        test = ["--json", "policy", "test", "--engine", "rbac", "--live", adele, megan]
        tested = json.loads(ok(invoke(*test, "--permission", "graph", env=env)).out)
        assert_documented("policy test --engine rbac", tested)
        assert tested["role"] == "Application Calendars.ReadWrite"
        assert [(t["access_check_result"], t["live"]) for t in tested["tests"]] == [
            ("Granted", "Granted"),
            ("Denied", "Denied"),
        ]
        # The EWS role is kept for the EWS persons: only Graph's is assigned so far; then both on one scope.
        ews_only = json.loads(invoke("--json", "policy", "test", "--engine", "rbac", diego, env=env).out)
        assert ews_only["tests"][0]["access_check_result"] == "Denied"
        ok(invoke(*restrict, env=env))
        roles = sorted(a["role"] for a in lab.admin("GET", "/lab/state").json()["rbac"]["role_assignments"])
        assert roles == ["Application Calendars.ReadWrite", "Application EWS.AccessAsApp"]
        ews_now = json.loads(ok(invoke("--json", "policy", "test", "--engine", "rbac", diego, env=env)).out)
        assert ews_now["tests"][0]["access_check_result"] == "Granted"

        # With RBAC the Graph token needs no tenant-wide role: sync test and persons check pass over Graph.
        run = invoke("--json", "sync", "test", adele, "--write-probe", env=rbac_env)
        assert run.code == 0, run.out
        assert checks(run)["Graph token"]["status"] == "ok"
        lab.reset_requests()
        persons = json.loads(ok(invoke("--json", "persons", "check", env=rbac_env)).out)
        assert_documented("persons check", persons)
        assert [(c["email"], c["status"]) for c in persons["checks"]] == [(adele, "ok"), (diego, "ok")]
        assert lab.requests().get("graph:users.get") == 1

        # list shows both roles; remove --permission graph takes Graph's away, the scope stays for EWS's.
        listed = json.loads(ok(invoke("--json", "policy", "list", "--engine", "rbac", env=env)).out)
        assert sorted(a["role"] for a in listed["assignments"]) == roles
        remove = ["--json", "policy", "remove", "--engine", "rbac", "--group", "SyncIsAllowed", "--yes"]
        removed = json.loads(ok(invoke(*remove, "--permission", "graph", env=env)).out)
        assert removed["removed_assignments"] == ["Calendars.ReadWrite SyncIsAllowed"]
        assert removed["removed_scope"] is None
        left = [a["role"] for a in lab.admin("GET", "/lab/state").json()["rbac"]["role_assignments"]]
        assert left == ["Application EWS.AccessAsApp"]
    finally:
        consent(lab, "Calendars.ReadWrite", grant=True)


@pytest.mark.parametrize("lost", ["drop_before", "drop_after"])
def test_a_probe_create_whose_answer_is_lost_is_looked_up_by_its_transaction_id_and_deleted(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, lost: str
) -> None:
    """The probe's POST is never sent again: its slot is read for the event with its transactionId, which is
    deleted when the POST had made it (drop_after) — nothing is left either way, and the check says so (failed:
    the connection lost an answer)."""
    lab = fresh_lab
    adele = addr("AdeleV")
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    lab.fault(protocol="graph", operation="events.create", kind=lost, count=1)
    lab.reset_requests()
    run = invoke("--json", "sync", "test", adele, "--write-probe", env=env)
    probe = checks(run)["probe write"]
    outcome = (
        "it had made the event, found by its transactionId and deleted"
        if lost == "drop_after"
        else ("no event with its transactionId was made")
    )
    assert (run.code, probe["status"]) == (1, "failed"), run.out
    assert f"{outcome}: nothing is left in the calendar" in probe["message"]
    assert "looks it up by its tag" not in probe["message"] + (probe["remedy"] or "")
    counted = lab.requests()
    assert counted.get("graph:events.create") == 1  # not sent again
    assert counted.get("graph:events.delete", 0) == (1 if lost == "drop_after" else 0)
    items = lab.admin("GET", f"/lab/mailboxes/{adele}/calendar").json()["items"]
    assert not [i for i in items if "roomsops sync test" in i.get("subject", "")]
