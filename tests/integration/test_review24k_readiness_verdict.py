"""review24k: `ews status` tells the administrator of a tenant whose every person syncs over Graph that "the sync
cannot work" and to switch EWS on again.

Steps: AdeleV and DiegoS sync in Microsoft365 (Graph); EWS is switched off for the tenant (EwsEnabled False, what
Microsoft does from 2026-10-01 and what the readiness report invites: "EWS can be switched off for the sync app").
`roomsops ews status`.

Expected (issue 24 item 5, "new tenants whose EWS is already blocked must sync from day one"; README: `ews status`
"exit 0 once every person is on Graph"): the report says the installation is ready and does not tell the
administrator to enable EWS again, nor that the sync cannot work (it works, over Graph; `sync` exits 0).

Actual: exit 0 and "ready: ... EWS can be switched off", but the verdict line above it still says "EwsEnabled is
False: EWS is off for every app; the sync cannot work (roomsops ews allow --enable)" — the remedy undoes the switch
the readiness report advised; `doctor`'s "EWS readiness" check says the same. With EwsEnabled unset it says "Run 'roomsops ews allow' ... then set EwsEnabled to True
(--enable)" likewise."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def test_review24k_ews_status_does_not_ask_to_enable_ews_when_every_person_is_on_graph(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    for person in ("AdeleV", "DiegoS"):
        ok(invoke("persons", "add", addr(person).lower(), "--sync-mode", "Microsoft365", env=env))
    with lab.lab.tenant.change() as state:  # EWS off for the tenant (Microsoft's phased blocking)
        state.organization.ews_enabled = False
    ok(invoke("sync", env=env))  # the sync works without EWS

    status = invoke("ews", "status", env=env)
    assert status.code == 0, status.out + status.err
    assert "ready: no person syncs over EWS" in status.out
    assert "the sync cannot work" not in status.out, status.out
    assert "--enable" not in status.out, status.out
    # doctor's "EWS readiness" check carries the same verdict beside "no person syncs over EWS".
    doctor = invoke("--json", "doctor", env=env)
    readiness = next(c for c in json.loads(doctor.out)["checks"] if c["name"] == "EWS readiness")
    assert "cannot work" not in readiness["message"] and "--enable" not in readiness["message"], readiness


def test_review24k_ews_off_for_a_graph_persons_mailbox_is_no_failure(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    """AdeleV syncs over EWS (O365), DiegoS over Graph (Microsoft365). The administrator switches EWS off for
    Diego's mailbox only (Set-CASMailbox -EwsEnabled $false: the per-mailbox step of moving off EWS); Diego's sync
    does not use EWS. Expected: `ews status --mailbox diego` and `doctor --mailbox diego` answer as before the switch
    (issue 24 item 3: "doctor reports per mode"). Actual: both exit 1; doctor's "EWS readiness" turns failed with
    the tenant's verdict ("EwsEnabled is unset ... set EwsEnabled to True"), which names no mailbox at all."""
    lab = fresh_lab
    adele, diego = addr("AdeleV").lower(), addr("DiegoS").lower()
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("sync", env=env))

    def readiness() -> tuple[int, int, str]:
        status = invoke("ews", "status", "--mailbox", diego, env=env)
        doctor = invoke("--json", "doctor", "--mailbox", diego, env=env)
        check = next(c for c in json.loads(doctor.out)["checks"] if c["name"] == "EWS readiness")
        return status.code, doctor.code, check["status"]

    before = readiness()
    with lab.lab.tenant.change() as state:
        mailbox = next(m for m in state.mailboxes if m.primary_smtp.lower() == diego)
        mailbox.ews_enabled = False
    ok(invoke("sync", env=env))  # Diego's sync does not need EWS
    assert readiness() == before


def test_ews_off_for_an_ews_persons_mailbox_still_fails_and_names_the_mailbox(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    """The control of the per-mode judgement: the same switch on the mailbox of a person the sync reaches over EWS
    (O365) stops her sync, so `ews status --mailbox` fails (exit 1) and the verdict names that mailbox."""
    adele, diego = addr("AdeleV").lower(), addr("DiegoS").lower()
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    with fresh_lab.lab.tenant.change() as state:
        for mailbox in state.mailboxes:
            if mailbox.primary_smtp.lower() in (adele, diego):
                mailbox.ews_enabled = False
    status = invoke("ews", "status", "--mailbox", adele, "--mailbox", diego, env=env)
    assert status.code == 1, status.out + status.err
    assert f"EwsEnabled is False for mailbox {adele}:" in status.out, status.out
    assert diego not in status.out.split("EwsEnabled is False for mailbox", 1)[1].split("\n")[0], status.out
    doc = json.loads(invoke("--json", "ews", "status", "--mailbox", adele, "--mailbox", diego, env=env).out)
    assert doc["mailboxes_over_graph"] == [diego]
