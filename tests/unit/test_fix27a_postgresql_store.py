"""fix27a: a server database's connection pool holds a whole sync at the highest concurrency, an exhausted pool is
a one-line error, and a NUL character never fails a write on PostgreSQL (issue 27)."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from sqlalchemy import select, update

from roomsops.adapters.store import now_utc, open_store
from roomsops.adapters.store.db import POOL_CONNECTIONS, Store, create_store_engine
from roomsops.adapters.store.schema import persons
from roomsops.core.errors import OperationFailed
from roomsops.core.settings import SYNC_CONCURRENCY_MAX


def test_the_pool_gives_every_mailbox_of_the_highest_concurrency_a_connection_at_once(
    postgres_url: str,
) -> None:
    open_store(postgres_url).close()  # the schema
    assert POOL_CONNECTIONS >= SYNC_CONCURRENCY_MAX + 4
    store = Store(create_store_engine(postgres_url, pool_timeout_s=0.5), "the test database")
    try:
        with ExitStack() as held:
            # 32 mailboxes each in a transaction, and the margin (the service's listeners, lease renewals) beside.
            connections = [held.enter_context(store.read()) for _ in range(SYNC_CONCURRENCY_MAX + 4)]
            assert len({id(c) for c in connections}) == SYNC_CONCURRENCY_MAX + 4
            assert all(c.execute(select(1)).scalar() == 1 for c in connections)
    finally:
        store.close()


def test_an_exhausted_pool_is_a_one_line_error_not_a_traceback(postgres_url: str) -> None:
    open_store(postgres_url).close()
    store = Store(
        create_store_engine(postgres_url, pool_connections=1, pool_timeout_s=0.1), "the test database"
    )
    try:
        with store.read():
            with pytest.raises(OperationFailed) as raised:
                with store.read():
                    pass
    finally:
        store.close()
    error = raised.value
    assert error.code == "database_pool_exhausted"
    assert error.one_line().startswith(
        "all 1 connections to the database the test database stayed in use for 0.1 s — run the command again"
    ), error.one_line()
    assert "\n" not in error.one_line()


def test_a_nul_character_in_a_string_is_stored_without_it_on_postgresql(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        with store.write() as conn:
            conn.execute(
                persons.insert().values(
                    email="diego@contoso.com",
                    email_key="diego@contoso.com",
                    name="Die\x00go",
                    sync_mode="O365",
                    created_utc=now_utc(),
                    updated_utc=now_utc(),
                )
            )
            conn.execute(update(persons).values(sync_url="https://\x00example/ews"))  # an update, too
        with store.read() as conn:
            row = conn.execute(select(persons.c.name, persons.c.sync_url)).one()
    finally:
        store.close()
    assert tuple(row) == ("Diego", "https://example/ews")
