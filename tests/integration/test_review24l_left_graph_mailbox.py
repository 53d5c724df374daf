"""review24l: EWS off for the mailbox of a person who left the sync over Graph is judged as an EWS mailbox.

Steps: AdeleV syncs in O365 (EWS), DiegoS in Microsoft365 (Graph) with one booking. Diego leaves the sync
(`persons set --sync-mode None`): his meeting stays in Exchange, linked by Graph ids (`left_persons_meetings`:
service "graph"; a cancellation or `sync purge` reaches it over Graph). The administrator switches EWS off for
Diego's mailbox (Set-CASMailbox -EwsEnabled $false). `ews status --mailbox diego`.

Expected (fix24k: "EWS off for the mailbox of a person the sync reaches over Graph is no failure"; docs/sync.md: a
person who left the sync "is reached over the service whose item ids their mailbox's links hold"): the answer is
as before the switch (exit 0), and the cancellation of his booking still reaches the meeting (it does, over Graph).

Actual: exit 1; the verdict says "EwsEnabled is False for mailbox diego: the sync cannot reach it over EWS
(Set-CASMailbox -EwsEnabled $true, or move the person to Graph: roomsops sync migrate --to graph --person ...)" —
his links are already Graph's, and `sync migrate` refuses a person in mode None. `mailboxes_over_graph` is chosen by
the person's mode only (`uses_graph(mode_of(...))`), never by the recorded service of a left person's links."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, live

pytestmark = pytest.mark.integration


def test_review24l_ews_off_for_a_left_graph_persons_mailbox_is_no_failure(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    adele, diego, zurich = addr("AdeleV").lower(), addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    ok(invoke("sync", env=env))
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    ok(invoke("sync", env=env))  # Diego left: his meeting stays in Exchange, linked over Graph
    assert len(live(lab, diego)) == 1

    before = invoke("ews", "status", "--mailbox", diego, env=env)
    assert before.code == 0, before.out + before.err  # the premise: Adele's EWS works, nothing off
    with lab.lab.tenant.change() as state:
        mailbox = next(m for m in state.mailboxes if m.primary_smtp.lower() == diego)
        mailbox.ews_enabled = False
    # The control: his links are Graph's, so the cancellation still reaches his meeting without EWS.
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    lab.reset_requests()
    ok(invoke("sync", env=env))
    assert live(lab, diego) == [] and live(lab, zurich, organizer=diego) == []
    assert not [k for k in lab.requests() if k.startswith("ews:") and diego in k.lower()]

    status = invoke("ews", "status", "--mailbox", diego, env=env)
    doc = json.loads(invoke("--json", "ews", "status", "--mailbox", diego, env=env).out)
    assert status.code == 0, status.out + status.err
    assert doc["mailboxes_over_graph"] == [diego], doc


def test_review24l_doctor_probes_a_left_graph_persons_mailbox_over_graph(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    """The same person, `doctor --mailbox diego` ("the mailbox probed over its own service"): expected as before
    EWS was switched off for his mailbox; actual: "EWS readiness" failed and the "EWS probe" fails, while his
    meetings are reached over Graph only."""
    lab = fresh_lab
    adele, diego, zurich = addr("AdeleV").lower(), addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    answer(lab)
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    ok(invoke("sync", env=env))

    def doctor() -> tuple[int, dict[str, str]]:
        run = invoke("--json", "doctor", "--mailbox", diego, env=env)
        return run.code, {c["name"]: c["status"] for c in json.loads(run.out)["checks"]}

    before = doctor()
    with lab.lab.tenant.change() as state:
        mailbox = next(m for m in state.mailboxes if m.primary_smtp.lower() == diego)
        mailbox.ews_enabled = False
    after = doctor()
    changed = {k: (before[1].get(k), v) for k, v in after[1].items() if before[1].get(k) != v}
    assert after == before, changed
