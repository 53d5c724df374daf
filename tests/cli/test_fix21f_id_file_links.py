"""fix21f: the files roomsops keeps beside the database (`rooms.db.installation-id`, `rooms.db.booking-ids`) when
they are symbolic links (e.g. to a folder that is backed up): written at the link's target, the link stays a link
(as RoomsAppSettings.config and the sync summary). Before: the temporary file was renamed over the link, which
became a regular file, and the backed-up target kept an old booking-id mark (ids given twice after a restore)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import Invoke, ok

START = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)


def test_id_files_that_are_symbolic_links_are_written_at_their_targets(
    invoke: Invoke, tmp_path: Path
) -> None:
    """Steps: in the data folder, rooms.db.booking-ids links to kept/booking-ids (holding 41, an earlier database's
    mark) and rooms.db.installation-id links to kept/installation-id (not there yet); then a person, a room and a
    booking are added. Expected: both links stay links; the installation id is written to its target; the
    booking gets id 42 and the target of rooms.db.booking-ids holds 42."""
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "booking-ids").write_text("41\n", encoding="utf-8")
    marks, ids = tmp_path / "rooms.db.booking-ids", tmp_path / "rooms.db.installation-id"
    marks.symlink_to(kept / "booking-ids")
    ids.symlink_to(kept / "installation-id")  # dangling: the target is created by the first write

    ok(invoke("persons", "add", "diego@contoso.com"))
    ok(invoke("rooms", "add", "room-zurich@contoso.com", "--name", "Zurich"))
    added = ok(
        invoke(
            "--json", "bookings", "add", "--organizer", "diego@contoso.com", "--room", "room-zurich@contoso.com",
            "--start", START.isoformat(), "--end", (START + timedelta(hours=1)).isoformat(), "--title", "Call",
        )
    )  # fmt: skip

    assert marks.is_symlink() and ids.is_symlink()
    assert (kept / "booking-ids").read_text(encoding="utf-8") == "42\n"
    uuid.UUID((kept / "installation-id").read_text(encoding="utf-8").strip())
    assert json.loads(added.out)["booking"]["id"] == 42, added.out
