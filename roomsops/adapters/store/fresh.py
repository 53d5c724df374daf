"""A database that a refused command created: removed again, so that a command refused with exit 2 ("nothing was
changed") leaves no rooms.db behind on a fresh machine (issue 21.9: "nothing created when a command fails")."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from sqlalchemy import select

from roomsops.adapters.store.db import Store, high_water_file, id_file
from roomsops.adapters.store.schema import id_high_water, installation, metadata, schema_version
from roomsops.core.errors import RoomsopsError

#: What every new database holds before anything is recorded in it.
_BOOKKEEPING = frozenset({schema_version.name, installation.name, id_high_water.name})


def discard_if_unused(store: Store, path: Path) -> bool:
    """Close `store` and remove the SQLite database at `path`, with the files kept beside it, when it holds no
    record (no person, room, booking or sync state): the database the refused command created. True when removed;
    a database with anything in it (another command may have written it meanwhile) is kept."""
    try:
        with store.read() as conn:
            for table in metadata.sorted_tables:
                if (
                    table.name not in _BOOKKEEPING
                    and conn.execute(select(table).limit(1)).first() is not None
                ):
                    return False
    except RoomsopsError:
        return False
    store.close()
    for leftover in (
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
        path.with_name(path.name + "-journal"),
        id_file(path),
        high_water_file(path),
    ):
        with suppress(OSError):
            leftover.unlink(missing_ok=True)
    return True
