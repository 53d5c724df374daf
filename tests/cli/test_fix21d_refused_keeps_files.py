"""fix21d: a command refused with exit 2 removes only what it made: an administrator's rooms.db.booking-ids (kept
from an earlier database, so that booking ids are never given twice) stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


def test_a_refused_command_keeps_a_booking_ids_file_it_did_not_make(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = tmp_path / "machine"
    machine.mkdir()
    remembered = machine / "rooms.db.booking-ids"
    remembered.write_text("41\n", encoding="utf-8")
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(machine))
    run = invoke("bookings", "cancel", "5", "--yes")
    assert run.code == 2, run.out + run.err
    one_line_error(run)
    assert remembered.read_text(encoding="utf-8") == "41\n"
    assert not (machine / "rooms.db").exists()
