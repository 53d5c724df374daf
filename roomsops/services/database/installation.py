"""`roomsops db adopt-id`: settle which installation id holds after the database was re-created or swapped.

Every meeting the sync writes is tagged with the database's installation id, which is also remembered
beside the database file; when the two disagree, every command refuses the database until this settles it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from roomsops.adapters.store import db
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.settings import Settings
from roomsops.services.rooms.common import database_url, no_database

Use = Literal["database", "remembered"]


@dataclass(frozen=True)
class AdoptedId(Result):
    database: str
    action: str  # adopted | unchanged
    installation_id: str
    previous: str | None  # the id that no longer holds: meetings tagged with it are foreign from now on

    def lines(self) -> list[str]:
        if self.action == "unchanged":
            return [f"{self.database}: installation id {self.installation_id} (unchanged)"]
        lines = [f"{self.database}: installation id {self.installation_id} (adopted)"]
        if self.previous:
            lines.append(
                f"  meetings tagged with {self.previous} are foreign to this installation from now on"
            )
        return lines


def _exists(path: Path) -> bool:
    try:
        return path.resolve().exists()
    except (OSError, RuntimeError):  # a loop of links: the open names it with its remedy
        return True


def adopt_id(settings: Settings, use: Use, confirm: Callable[[str], None], audit: AuditLog) -> AdoptedId:
    """Make the database and the id remembered beside it agree, as `use` says (asks first)."""
    url = database_url(settings)
    ids = db.installation_ids(url)
    shown = str(ids.path)
    # No database and no id remembered beside it: settings that lead to no database (review21y), not an id to
    # settle; each --use would otherwise send the administrator to the other.
    if ids.remembered is None and not _exists(ids.path):
        raise no_database(ids.path)
    chosen, dropped = (ids.database, ids.remembered) if use == "database" else (ids.remembered, ids.database)
    if chosen is not None and chosen == dropped:
        return AdoptedId(database=shown, action="unchanged", installation_id=chosen, previous=None)
    if chosen is not None:
        question = f"Make {chosen} the installation id of {shown}"
        if dropped:
            question += f"? Meetings the sync wrote with {dropped} will never be updated or cancelled again"
        confirm(question + "?")
    before = db.adopt_installation_id(url, use)
    adopted = (before.database if use == "database" else before.remembered) or ""
    audit.record("db.adopt-id", shown, {"use": use, "installation_id": adopted, "previous": dropped}, "ok")
    return AdoptedId(database=shown, action="adopted", installation_id=adopted, previous=dropped)
