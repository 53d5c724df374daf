"""What `sync resume` says (review20f): a held booking that was sync-disabled before the hold is released from it
but stays sync-disabled; the text and the JSON say so apart, never "synced again"."""

from __future__ import annotations

from roomsops.core.results import to_jsonable
from roomsops.services.sync.run import ResumeResult


def test_a_sync_disabled_booking_is_said_apart_in_text_and_json() -> None:
    result = ResumeResult(person="diego@example.test", resumed=(3,), sync_disabled=(1,))
    text = "\n".join(result.lines())
    assert "booking(s) 3 are synced again" in text
    assert "booking(s) 1 stay sync-disabled" in text
    assert "1, 3" not in text and "synced again" not in text.split("\n")[1]
    assert to_jsonable(result) == {"person": "diego@example.test", "resumed": [3], "sync_disabled": [1]}


def test_only_sync_disabled_bookings_are_not_said_to_be_synced_again() -> None:
    text = "\n".join(ResumeResult(person="diego@example.test", resumed=(), sync_disabled=(1,)).lines())
    assert "synced again" not in text and "no bookings held back" not in text
    assert "booking(s) 1 stay sync-disabled" in text
