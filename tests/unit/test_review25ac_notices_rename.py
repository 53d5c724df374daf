"""review25ac: a note stored for a person's mailbox (`sync_notices`, fix25ab) is lost for good when the person is
renamed (`persons set OLD --email NEW`, e.g. after a name change) before a pass says it.

What happens: a pass takes an occurrence Outlook deleted and stores its note under the mailbox's address, and dies
before its summary (or, under a worker, the note is kept: see test_review25ac_worker_notice). The administrator
renames the person. `rename_person` moves the mailbox's sync links, its record and its differences to the new
address — not its notes: the next passes read `notices_of(NEW)` and never say the note stored under OLD, and no one
ever drops that row (it stays in `sync_notices` until the booking is deleted).

What should be (docs/series.md: "forgotten only once a pass has said it"): the notes move with the person, as
`booking_sync`, `mailbox_sync` and `sync_differences` do: the next pass of the new address says them."""

from __future__ import annotations

import pytest

from roomsops.adapters import store as db
from roomsops.adapters.store import Store, now_utc
from roomsops.adapters.store import queries as q
from tests.unit.test_store_room_asks import bookings_of, store

__all__ = ["store"]


@pytest.mark.both_databases
def test_a_stored_notice_moves_with_a_renamed_person(store: Store) -> None:
    made = bookings_of(store)
    with store.write() as conn:
        q.add_notices(conn, made["adelev@contoso.com"][0], "AdeleV@contoso.com", ["the note"], now_utc())
        adele = q.get_person(conn, "adelev@contoso.com")
        assert adele is not None
        db.rename_person(conn, adele, "adele.vance@contoso.com", now_utc(), same_mailbox=True)
    with store.read() as conn:
        assert [n for _, n in q.notices_of(conn, "adele.vance@contoso.com")] == ["the note"]
        assert q.notices_of(conn, "adelev@contoso.com") == []
