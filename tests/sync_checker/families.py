"""The operation families the checker can generate, and which of them are off until Sync engine v2 fixes them.

Switching a family on is a one-line change: delete its line from OFF_UNTIL_V2 (the reason is the finding the
checker made on the engine as it was; docs/sync-checker.md lists the same). `SYNC_CHECKER_FAMILIES=all` (or a
comma list) overrides the selection for one run, e.g. `SYNC_CHECKER_FAMILIES=all scripts/soak --minutes 5`.

`SYNC_CHECKER_BACKEND=ews|graph|mixed` (scripts/soak's `--backend`) says which service the persons are synced
over (tests/sync_checker/world.py, SYNC_MODES). Every family applies to each: NOT_ON_GRAPH lists those that do
not, with the reason (empty: none).
"""

from __future__ import annotations

import os

#: Every family: name -> what its steps do.
FAMILIES: dict[str, str] = {
    # ROOMS (through the CLI)
    "rooms_add": "a new booking (organizer, room, free slot, title, attendees)",
    "rooms_edit": "edit one field of a booking: title, time, room, attendees, reminder, private, free/busy",
    "rooms_cancel": "cancel a booking",
    "rooms_subsecond": "a booking time with milliseconds (ROOMS keeps them, Exchange keeps whole seconds)",
    "rooms_long_title": "a title longer than Exchange's 255-character subject",
    "rooms_series": "a ROOMS series (weekly, three occurrences, or across the spring DST change): booked, one "
    "occurrence cancelled or moved, or a new pattern (issue 25)",
    "far_future": "bug 6: a booking moved beyond the 90-day window is not moved in Exchange (seen on main), I5",
    # Outlook (through the lab's admin API and raw EWS as the organizer)
    "outlook_edit": "edit one field of a synced meeting: subject, time, reminder, sensitivity, free/busy",
    "outlook_room_attendees": "change a synced meeting's room or attendees in Outlook",
    "outlook_delete": "delete a synced meeting with cancellations",
    "outlook_delete_silent": "delete a synced meeting without cancellations (soft, hard, or dragged to Deleted Items)",
    "outlook_restore": "restore a meeting from Deleted Items",
    "outlook_new_meeting": "a new meeting of a synced person inviting a ROOMS room",
    "outlook_odd_free_busy": "a new meeting inviting a room shown as WorkingElsewhere or NoData",
    "outlook_zero_length": "a new zero-length meeting inviting a room",
    "outlook_empty_subject": "a new meeting inviting a room with an empty subject",
    "outlook_all_day": "an all-day appointment in a synced person's calendar",
    "outlook_series": "a recurring series in a synced person's calendar",
    "outlook_room_series": "a weekly series inviting a ROOMS room made in Outlook; one occurrence of a synced series "
    "moved or deleted in Outlook, or its pattern changed (issue 25 item 5)",
    "foreign_items": "appointments never to be touched: untagged, another installation's",
    "outlook_two_rooms": "a new meeting with both ROOMS rooms (the second as a resource or a required attendee)",
    "outlook_second_room": "the other ROOMS room added in Outlook to a synced meeting (resource or attendee)",
    # Exchange's rooms
    "room_answers": "the rooms' attendant answers every pending request now",
    "room_declines": "a room declines, for each policy reason: MaximumDurationInMinutes 30, BookingWindowInDays "
    "1-3, a conflict (an outsider's meeting holding the room at a slot ROOMS thinks free)",
    "sync_master": "`rooms set ROOM --sync-master` / `--no-sync-master`",
    # Persons
    "persons_leave": "a person leaves the sync: sync mode None or EWS1, or `persons remove --cancel-bookings`",
    # Conflicts
    "conflict_cancel": "an Outlook time edit onto a slot ROOMS holds, for a person with SyncConflictBehaviour Cancel",
    "conflict_rollback": "an Outlook time edit onto a slot ROOMS holds, for a person with Rollback",
    # Races and resolutions (bugs 7, 8, 11)
    "rooms_edit_during_pass": "an Outlook edit, then a ROOMS edit of the same booking while the pass runs (bug 7)",
    "outlook_edit_after_write": "an Outlook edit right after roomsops' write to the meeting, before its next read (bug 8)",
    "resolve_ignore": "`sync resolve --use ignore` on a room or attendee difference, then passes (bug 11)",
    # Faults during a pass (lab /lab/faults, then a pass)
    "fault_lost_answer": "the next write is applied, its answer lost (drop_after)",
    "fault_dropped": "the next request's connection is dropped before it is applied (drop_before)",
    "fault_throttle": "ErrorServerBusy with BackOffMilliseconds on the next request",
    "fault_401": "HTTP 401 on the next request",
    "fault_double": "two faults in a row on the same operation",
    "invalid_sync_state": "bug 5: a meeting deleted in Outlook, then ErrorInvalidSyncStateData: the recovery "
    "loses the deletion, the booking stays active without a meeting (seen on main), I2/I5",
    # Process
    "kill": "bug 4: SIGKILL during CreateItem, then a ROOMS cancel: the meeting stays live (not fixed on main; "
    "a 3-min soak with rooms_cancel found nothing), I2/I5",
}

#: Families whose bug the engine on main still has, each with the bug and the checker's finding (docs/sync-checker.md,
#: "Findings"). Delete a line when the engine fixes it and a soak of the family is clean; the bounded CI run
#: (tests/integration/test_sync_checker.py) then includes it.
OFF_UNTIL_V2: dict[str, str] = {
    # The issue 20 families (outlook_second_room, outlook_delete_silent, room_declines, conflict_rollback,
    # invalid_sync_state) are on again since fix20c (docs/sync-checker.md, "Issue 20: rooms").
}


#: Families that cannot apply when persons are synced over Microsoft Graph, with the reason; a Graph or mixed run
#: leaves them out. Empty: each family's step is the same over Graph (Outlook's hands are the lab's admin API), or
#: aimed at Graph's own operation (the fault families, machine.GRAPH_OPERATIONS; `invalid_sync_state` forgets
#: Graph's delta states, which then answer 410 syncStateNotFound; `kill` and the race families count Graph's
#: requests).
NOT_ON_GRAPH: dict[str, str] = {}

#: The backends a run can sync the persons over (world.SYNC_MODES): EWS, Microsoft Graph, or both.
BACKENDS = ("ews", "graph", "mixed")


def selected_backend() -> str:
    """The backend a run syncs over: $SYNC_CHECKER_BACKEND, default ews."""
    chosen = os.environ.get("SYNC_CHECKER_BACKEND", "").strip() or "ews"
    if chosen not in BACKENDS:
        raise ValueError(f"unknown backend {chosen!r}; known: {', '.join(BACKENDS)}")
    return chosen


def selected_workers() -> int:
    """$SYNC_CHECKER_WORKERS: 0 (default: each pass is one `roomsops sync`, on SQLite) or N >= 2 (each pass is N
    `roomsops sync --worker` processes at once, on PostgreSQL: $SYNC_CHECKER_DATABASE, default the tests' server,
    tests/postgres.py; issue 27)."""
    chosen = os.environ.get("SYNC_CHECKER_WORKERS", "").strip() or "0"
    if not chosen.isdigit() or int(chosen) == 1:
        raise ValueError(f"SYNC_CHECKER_WORKERS must be 0 or a number of workers from 2 on, not {chosen!r}")
    return int(chosen)


def for_backend(families: frozenset[str], backend: str) -> frozenset[str]:
    """The families a run over `backend` generates: without those NOT_ON_GRAPH when Graph syncs anyone."""
    return families if backend == "ews" else families - frozenset(NOT_ON_GRAPH)


def selected() -> frozenset[str]:
    """The families a run generates: all but OFF_UNTIL_V2, unless $SYNC_CHECKER_FAMILIES says otherwise."""
    chosen = os.environ.get("SYNC_CHECKER_FAMILIES", "").strip()
    if chosen == "all":
        return frozenset(FAMILIES)
    if chosen:
        names = {n.strip() for n in chosen.split(",") if n.strip()}
        unknown = names - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown families: {', '.join(sorted(unknown))}; known: {', '.join(FAMILIES)}")
        return frozenset(names)
    return frozenset(FAMILIES) - frozenset(OFF_UNTIL_V2)
