"""The lab's address index (bench27g): `TenantState.find_mailbox` answers a hit without scanning every mailbox (a
lab of 10,000 mailboxes took 20 ms per lookup and 116 s to seed), and answers exactly as the scan did when the
mailboxes change: an alias added in place, a list replaced, a mailbox removed, an address moved."""

from __future__ import annotations

import pytest

from roomsops.lab import tenant as tenant_module
from roomsops.lab.tenant import Mailbox, TenantState, _mailbox, encode, new_tenant_state


def lab_with(n: int) -> TenantState:
    state = new_tenant_state()
    state.mailboxes = []  # only these (the seed's own mailboxes left out)
    for i in range(n):
        state.mailboxes.append(
            _mailbox(state, f"user{i:04d}@{state.domain}", f"user{i}", "user", [], 5000 + i)
        )
    return state


def test_a_hit_checks_one_mailbox_not_all(monkeypatch: pytest.MonkeyPatch) -> None:
    state = lab_with(2000)
    state.find_mailbox(f"user0000@{state.domain}")  # the index is built once
    checked = 0
    has_address = Mailbox.has_address

    def counting(self: Mailbox, address: str) -> bool:
        nonlocal checked
        checked += 1
        return has_address(self, address)

    monkeypatch.setattr(Mailbox, "has_address", counting)
    for i in range(0, 2000, 100):
        found = state.find_mailbox(f"  USER{i:04d}@{state.domain.upper()} ")
        assert found is not None and found.primary_smtp == f"user{i:04d}@{state.domain}"
    assert checked == 20  # one check per hit; the scan checked 1 + 100 + ... + 1901 mailboxes


def test_the_index_answers_as_the_scan_after_changes() -> None:
    state = lab_with(50)
    domain = state.domain
    assert state.find_mailbox(f"user0007@{domain}") is state.mailboxes[7]
    assert state.find_mailbox(f"nobody@{domain}") is None
    # An alias added in place (tests do it under tenant.change()): found, though the list did not change.
    state.mailboxes[3].aliases.append(f"Alias3@{domain}")
    assert state.find_mailbox(f"alias3@{domain}") is state.mailboxes[3]
    # The alias moved to another mailbox in place: the old owner no longer answers for it.
    state.mailboxes[3].aliases.remove(f"Alias3@{domain}")
    state.mailboxes[9].aliases.append(f"alias3@{domain}")
    assert state.find_mailbox(f"alias3@{domain}") is state.mailboxes[9]
    # A mailbox removed: the list replaced (tests filter it) or shortened.
    gone = state.mailboxes[9]
    state.mailboxes = [m for m in state.mailboxes if m is not gone]
    assert state.find_mailbox(f"alias3@{domain}") is None
    assert state.find_mailbox(f"user0009@{domain}") is None
    state.mailboxes.pop(0)
    assert state.find_mailbox(f"user0000@{domain}") is None
    assert state.find_mailbox(f"user0001@{domain}") is state.mailboxes[0]


def test_the_index_is_never_saved() -> None:
    state = lab_with(3)
    assert state.find_mailbox(f"user0001@{state.domain}") is not None
    data = encode(state)
    assert "_by_address" not in data and set(data) == {
        f.name for f in tenant_module.dataclasses.fields(state)
    }
