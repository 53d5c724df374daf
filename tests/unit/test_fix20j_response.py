"""fix20j: a room listed on several lines of a meeting answers on one entry (`Meeting.response_of`)."""

from __future__ import annotations

from roomsops.core.calendar import Meeting

ROOM = "zurich@contoso.example"


def meeting(responses: list[str], times: list[str]) -> Meeting:
    return Meeting(
        item_id="i",
        change_key="c",
        fields=None,
        responses=tuple((ROOM, r) for r in responses),
        answered=tuple((ROOM, t) for t in times),
    )


def test_an_answer_on_any_entry_beats_unknown() -> None:
    assert meeting(["Unknown", "Accept"], ["2026-01-01T10:00:00+00:00"]).response_of(ROOM) == "Accept"
    assert (
        meeting(["NoResponseReceived", "Decline"], ["2026-01-01T10:00:00+00:00"]).response_of(ROOM)
        == "Decline"
    )
    assert meeting(["Unknown", "Unknown"], []).response_of(ROOM) == "Unknown"


def test_a_decline_wins_over_another_answer_only_when_it_is_the_newest() -> None:
    older, newer = "2026-01-01T10:00:00+00:00", "2026-01-01T11:00:00+00:00"
    assert meeting(["Accept", "Decline"], [older, newer]).response_of(ROOM) == "Decline"
    assert meeting(["Accept", "Decline"], [newer, older]).response_of(ROOM) == "Accept"
    assert meeting(["Decline", "Accept"], [older, older]).response_of(ROOM) == "Accept"
    assert meeting(["Decline", "Accept"], [older]).response_of(ROOM) == "Accept"  # times unknown
