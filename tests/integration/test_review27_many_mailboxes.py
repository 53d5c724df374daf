"""review27: the lease look-up `roomsops serve` makes each round on PostgreSQL (`worker.leased`: which due mailboxes a
killed worker still leases) over more mailboxes than one PostgreSQL statement takes parameters (65,535). Issue 27 is
for tens of thousands of synced persons; every other list of mailboxes or ids the store sends is cut in chunks
(`leases.ensure_mailboxes`: 500). Real parts: the PostgreSQL server of tests/postgres.py (no lab: the look-up is the
database's alone)."""

from __future__ import annotations

import pytest

from roomsops.adapters.store import db
from roomsops.core.errors import OperationFailed
from roomsops.services.sync.worker import leased, refuse_beside_leases

from .test_pg27b_workers import ON_POSTGRESQL

pytestmark = pytest.mark.integration

#: One more than PostgreSQL's bound parameters per statement.
MAILBOXES = 65_536


@ON_POSTGRESQL
def test_review27_the_lease_look_up_of_a_round_takes_more_mailboxes_than_one_statements_parameters(
    rooms_database: str,
) -> None:
    store = db.open_store(rooms_database)
    try:
        mailboxes = [f"person{i:05d}@campus.example" for i in range(MAILBOXES)]
        try:
            held = leased(store, mailboxes)
        except OperationFailed as exc:  # actual
            pytest.fail(exc.one_line())
        assert held == set()
        refuse_beside_leases(store, mailboxes, "r27", "'roomsops sync'")  # no live lease: no refusal
    finally:
        store.close()
