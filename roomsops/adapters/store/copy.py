"""Copying one roomsops database into another (`roomsops db copy --to URL`): an SQLite installation moved to
PostgreSQL (issue 27).

The copy reads the source in one read transaction (a consistent snapshot) and writes the target in one write
transaction: it commits whole or not at all. It keeps every id and the installation id (the meetings the sync
wrote carry both), so the target is the same installation. Idempotent: a row already in the target (same
primary key, same values) is not copied again; a row whose key the target holds with other values is refused
(exit 2, nothing changed), as is a target that holds another installation's records. Afterwards every row of the
source is counted in the target (verified counts), and the target's id sequences are moved past every id copied
and the booking-id high-water mark (a booking id is never given again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, Table, func, insert, select, text, update

from roomsops.adapters.store.db import Store, without_nul
from roomsops.adapters.store.schema import id_high_water, installation, metadata, schema_version
from roomsops.core.errors import InputError, OperationFailed

#: Rows per INSERT (executemany).
CHUNK = 1000
#: The tables every new database has rows in: not "records".
_BOOKKEEPING = frozenset({schema_version.name, installation.name, id_high_water.name})


@dataclass(frozen=True)
class TableCopy:
    """One table's figures: rows in the source, copied now, already in the target, in the target afterwards."""

    table: str
    source: int
    copied: int
    present: int
    target: int

    @property
    def verified(self) -> bool:
        return self.copied + self.present == self.source


def _key(table: Table, row: Any) -> tuple[Any, ...]:
    return tuple(row._mapping[c.name] for c in table.primary_key.columns)


def _rows(conn: Connection, table: Table) -> list[Any]:
    order = list(table.primary_key.columns)
    return list(conn.execute(select(table).order_by(*order)))


def _records(conn: Connection) -> int:
    """Rows in the tables that hold records (persons, rooms, bookings, sync state)."""
    return sum(
        int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for t in metadata.sorted_tables
        if t.name not in _BOOKKEEPING
    )


def _installation(conn: Connection) -> Any:
    return conn.execute(select(installation)).one()


def copy_rows(source: Store, target: Store) -> list[TableCopy]:
    """Copy every row of `source` that `target` lacks; the figures per table (see the module)."""
    with source.read() as src, target.write() as dst:
        theirs, ours = _installation(src), _installation(dst)
        if theirs.installation_id != ours.installation_id:
            held = _records(dst)
            if held:
                raise InputError(
                    f"the target {target.label} holds another installation ({ours.installation_id}, {held} "
                    f"record(s)), not a copy of {source.label} ({theirs.installation_id}); nothing was copied",
                    "point --to at an empty database (or at an earlier copy of this installation)",
                    code="copy_target_not_empty",
                )
            dst.execute(
                update(installation).values(
                    installation_id=theirs.installation_id, created_utc=theirs.created_utc
                )
            )
        strict = not target.is_sqlite  # SQLite keeps any length and NULs; PostgreSQL neither (db.without_nul)
        figures = [_copy_table(src, dst, table, target.label, strict) for table in metadata.sorted_tables]
        if target.is_postgresql:
            _advance_sequences(dst)
        for f in figures:
            if not f.verified:
                raise OperationFailed(
                    f"the copy of table {f.table} does not add up ({f.source} in the source, {f.copied} copied, "
                    f"{f.present} already there); nothing was copied",
                    "run the copy again; if it persists, report it with both databases kept",
                    code="copy_not_verified",
                )
        return figures


def _too_long(table: Table, row: Any, label: str) -> InputError | None:
    """A value longer than its column's VARCHAR limit: SQLite kept it, a server database refuses it."""
    for column in table.columns:
        limit = column.type.length if isinstance(column.type, String) else None
        value = row._mapping[column.name]
        if limit is not None and isinstance(value, str) and len(without_nul(value)) > limit:
            return InputError(
                f"row {_show(_key(table, row))} of table {table.name} has a {column.name} of "
                f"{len(without_nul(value))} characters, longer than the {limit} the target {label} holds; "
                "nothing was copied",
                f"shorten that {column.name} to at most {limit} characters in the source (with the roomsops "
                "command that edits it, or remove the record), then run the copy again",
                code="copy_value_too_long",
            )
    return None


def _copy_table(src: Connection, dst: Connection, table: Table, label: str, strict: bool) -> TableCopy:
    rows = _rows(src, table)
    if table.name == installation.name:
        n = len(rows)
        return TableCopy(table.name, n, 0, n, n)
    there = {_key(table, r): r for r in _rows(dst, table)}
    before = len(there)
    if table.name == id_high_water.name:
        return _copy_high_water(dst, rows, there)
    missing, differ = [], []
    for row in rows:
        found = there.get(_key(table, row))
        values = without_nul(tuple(row)) if strict else tuple(row)  # as the target stored them
        if found is None:
            problem = _too_long(table, row, label) if strict else None
            if problem is not None:
                raise problem
            missing.append(dict(row._mapping))
        elif tuple(found) != values and table.name != schema_version.name:
            differ.append(_key(table, row))
    if differ:
        keys = ", ".join(map(_show, differ[:3])) + (" ..." if len(differ) > 3 else "")
        raise InputError(
            f"the target {label} already holds {len(differ)} row(s) of {table.name} with other values than "
            f"the source ({keys}): the source went on changing since an earlier copy into it (or the target "
            "was changed); nothing was copied",
            "copy the source as it is now into an empty database (drop and recreate the target, or point --to at "
            "a new one); the copy never overwrites what the target holds",
            code="copy_target_differs",
        )
    for start in range(0, len(missing), CHUNK):
        dst.execute(insert(table), missing[start : start + CHUNK])
    after = int(dst.execute(select(func.count()).select_from(table)).scalar_one())
    if after != before + len(missing):
        raise OperationFailed(
            f"table {table.name} in {label} holds {after} rows after the copy, not {before + len(missing)}; "
            "nothing was copied",
            "run the copy again with no roomsops command using the target",
            code="copy_not_verified",
        )
    return TableCopy(table.name, len(rows), len(missing), len(rows) - len(missing), after)


def _copy_high_water(dst: Connection, rows: Sequence[Any], there: dict[tuple[Any, ...], Any]) -> TableCopy:
    """The highest id ever given per table: the target keeps the higher of both marks."""
    copied = 0
    for row in rows:
        found = there.get((row.name,))
        if found is None:
            dst.execute(insert(id_high_water).values(name=row.name, value=row.value))
            copied += 1
        elif found.value < row.value:
            dst.execute(update(id_high_water).where(id_high_water.c.name == row.name).values(value=row.value))
    after = int(dst.execute(select(func.count()).select_from(id_high_water)).scalar_one())
    return TableCopy(id_high_water.name, len(rows), copied, len(rows) - copied, after)


def _show(key: tuple[Any, ...]) -> str:
    return str(key[0]) if len(key) == 1 else "(" + ", ".join(map(str, key)) + ")"


def _advance_sequences(dst: Connection) -> None:
    """Rows copied with their ids leave PostgreSQL's sequences where they were: move each past the highest id of
    its table (for bookings, also past the highest id ever given), never back."""
    for table in metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        highest = int(dst.execute(select(func.coalesce(func.max(column), 0))).scalar_one())
        if table.name == "bookings":
            mark = dst.execute(
                select(id_high_water.c.value).where(id_high_water.c.name == "bookings")
            ).scalar()
            highest = max(highest, int(mark or 0))
        sequence = dst.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
        ).scalar()
        if sequence is None:
            continue
        given = int(dst.execute(text("SELECT nextval(:s)"), {"s": sequence}).scalar_one()) - 1
        value = max(highest, given)
        if value >= 1:
            dst.execute(text("SELECT setval(:s, :v, true)"), {"s": sequence, "v": value})
        else:
            dst.execute(text("SELECT setval(:s, 1, false)"), {"s": sequence})
