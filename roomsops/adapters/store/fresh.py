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


def leftovers(path: Path) -> list[Path]:
    """The files a database at `path` may make: the database (at a symbolic link's target too: SQLite follows
    it), SQLite's journals beside either, and roomsops' id files beside `path`."""
    found: list[Path] = []
    for base in dict.fromkeys((path, path.resolve())):
        for name in (base.name, base.name + "-wal", base.name + "-shm", base.name + "-journal"):
            found.append(base.with_name(name))
    found += [id_file(path), high_water_file(path)]
    return list(dict.fromkeys(found))


def existing(paths: list[Path]) -> set[Path]:
    """Those of `paths` that exist now (a link, dangling or not, counts): never removed by discard_if_unused."""
    return {p for p in paths if p.is_symlink() or p.exists()}


def discard_if_unused(store: Store, path: Path, existed: set[Path] | None = None) -> bool:
    """Close `store` and remove the SQLite database at `path`, with the files kept beside it, when it holds no
    record (no person, room, booking or sync state): the database the refused command created. Only files this
    command made go: none in `existed` (what was there before it opened the database) and never a symbolic link
    (an administrator's link to the database's real place). True when removed; a database with anything in it
    (another command may have written it meanwhile) is kept."""
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
    before = existed or set()
    for leftover in leftovers(path):
        if leftover in before or leftover.is_symlink():
            continue
        with suppress(OSError):
            leftover.unlink(missing_ok=True)
    return True
