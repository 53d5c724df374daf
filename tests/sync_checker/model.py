"""The checker's model of what must become true, and the invariants, judged from the lab and ROOMS alone.

The model never asks the engine what it did: it remembers the edits the checker made on each side (and when,
counted in passes), and compares them with the bookings (`roomsops bookings list`), the recorded differences
(`roomsops sync diff`), the failures the passes reported, and the calendars as the lab stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from roomsops.core.calendar import tagged_booking_id
from tests.campaign import BOOKING_TAG, meeting_differs, tag
from tests.sync_checker.world import ROOMS, PassRun, World, utc

#: Fields an edit can change, in the names of `sync diff`'s exchange_state.
FIELDS = ("subject", "start", "end", "reminder_minutes", "private", "free_busy", "attendees", "room")


def canonical(name: str, value: Any) -> Any:
    if name in ("start", "end"):
        return utc(value) if isinstance(value, str) else value
    if name == "attendees":
        return tuple(sorted(str(a).lower() for a in value))
    if name == "room":
        return str(value).lower()
    return value


def booking_value(booking: Mapping[str, Any], name: str) -> Any:
    raw = booking["title"] if name == "subject" else booking[name]
    return canonical(name, raw)


@dataclass(frozen=True)
class Edit:
    side: str  # "rooms" or "outlook"
    name: str  # one of FIELDS
    value: Any  # canonical
    epoch: int  # passes started before the edit


@dataclass
class NewMeeting:
    organizer: str
    item_id: str
    subject: str
    epoch: int
    uid: str = ""
    rooms: tuple[str, ...] = ()  # the ROOMS rooms it invites (resources, then required attendees), lower case
    others: tuple[str, ...] = ()  # every other recipient the checker put on it (attendees), lower case


class Violation(AssertionError):
    """An invariant does not hold; the message starts with the invariant's name (I1 … I6, summary)."""


@dataclass
class Model:
    edits: dict[int, list[Edit]] = field(default_factory=dict)
    deleted_in_outlook: dict[int, int] = field(default_factory=dict)  # booking id -> epoch of the deletion
    may_stay_live: set[int] = field(default_factory=set)  # restored from Deleted Items, or unlinked by Cancel
    new_meetings: list[NewMeeting] = field(default_factory=list)
    untouchable: dict[tuple[str, str], str] = field(default_factory=dict)  # (mailbox, item id) -> its JSON
    skipped_items: dict[str, int] = field(default_factory=dict)  # organizer -> all-day/series items made
    passes: list[tuple[int, PassRun]] = field(
        default_factory=list
    )  # (its number, the run) since the last settle
    epoch: int = 0  # passes started so far
    #: booking id -> field -> Exchange's value, settled with `sync resolve --use ignore` (until either side
    #: changes that field again): the two sides may differ there, and the difference must not come back.
    ignored: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: (booking id, field) -> the epoch of the checker's last Outlook edit of it: a value the meeting holds that
    #: Outlook set after the last pass's start is unseen by the engine, not one roomsops wrote
    outlook_touched: dict[tuple[int, str], int] = field(default_factory=dict)
    # --- rooms (issue 20): kept across settles, for the room-calendar part of I5 ---
    #: every failure any pass reported, and every purge hint any pass or `persons` command printed: (epoch, text)
    log: list[tuple[int, str]] = field(default_factory=list)
    foreign_holds: set[str] = field(default_factory=set)  # UIDs of outsiders' meetings holding a ROOMS room
    uid_booking: dict[str, int] = field(default_factory=dict)  # UID -> booking id (its meeting, once seen)
    uid_subject: dict[str, str] = field(default_factory=dict)  # UID -> subject of a new Outlook meeting
    deleted_silently: dict[int, int] = field(default_factory=dict)  # booking id -> epoch (no cancellation)
    #: booking id -> (epoch, subject of the new meeting or "") a 2nd ROOMS room was added to its meeting
    second_room: dict[int, tuple[int, str]] = field(default_factory=dict)
    sync_master: set[str] = field(
        default_factory=set
    )  # rooms that were Sync-Master at some point, lower case
    left: dict[str, int] = field(default_factory=dict)  # person (lower case) -> epoch they left the sync
    on_person_removed: str = ""  # "report" or "purge" (sync.on_person_removed), fixed at the first leave
    #: bookings made from a person's own Outlook meeting, or whose meeting was over, that a purge left live, as a
    #: pass said ("left_sync": "own_meetings_left", "past_meetings_left"; docs/sync.md: the person's own meetings
    #: stay, and a purge sends no cancellation of a meeting that is over)
    own_left: set[int] = field(default_factory=set)
    # --- series (issue 25 item 5) ---
    #: booking id -> the epoch of the checker's last ROOMS edit of it (any field, occurrence or pattern)
    rooms_touched: dict[int, int] = field(default_factory=dict)
    #: (booking id, original start) -> (epoch, Outlook's new start, or None: deleted) of an occurrence Outlook moved
    #: or deleted since the last settle
    outlook_occurrences: dict[tuple[int, Any], tuple[int, Any]] = field(default_factory=dict)
    #: booking id -> (epoch, the weekdays (0 Monday) of the weekly pattern Outlook set) since the last settle
    outlook_patterns: dict[int, tuple[int, tuple[int, ...]]] = field(default_factory=dict)

    def edit(self, booking_id: int, side: str, values: Mapping[str, Any], seen: Iterable[str] = ()) -> None:
        """`seen`: fields whose edit the last pass already read (made while it ran, applied by it): counted as
        made before that pass, not after its start."""
        seen = set(seen)
        for name, value in values.items():
            value = canonical(name, value)
            ignored = self.ignored.get(booking_id, {})
            if side == "outlook" and name in ignored and ignored[name] == value:
                # Outlook set the ignored value again, which the meeting holds (an ignore it no longer holds is
                # dropped before): no change of the baseline (docs/sync.md), and no edit either, or it would be
                # owed once the ignore is dropped (the checker24 mixed soak's seed 24130 finding).
                continue
            epoch = self.epoch - 1 if name in seen else self.epoch
            self.edits.setdefault(booking_id, []).append(Edit(side, name, value, epoch))
            ignored.pop(name, None)

    def undo_unseen(self, booking_id: int, side: str, names: Iterable[str]) -> None:
        """`side` set these fields back to the booking's values before any pass saw its earlier edits of them:
        for the engine nothing changed there, so those earlier edits are gone (an edit a pass saw stays)."""
        names = set(names)
        kept = [
            e
            for e in self.edits.get(booking_id, [])
            if not (e.side == side and e.name in names and e.epoch == self.epoch)
        ]
        if booking_id in self.edits:
            self.edits[booking_id] = kept

    def ignore(self, booking_id: int, differences: Iterable[Mapping[str, Any]]) -> None:
        """`sync resolve BOOKING --use ignore` settled these differences. The Outlook edits of their fields that a
        pass has read are settled with them: I2 asks for them no more, also once the ignore itself is dropped
        because the meeting left the ignored value (a ROOMS write of other fields in the pass that recorded the
        difference put the booking's room back, as docs/sync.md says for a difference not yet ignored: the
        checker24 graph soak's seed 24030 finding)."""
        settled: set[str] = set()
        for d in differences:
            for name in d["fields"]:
                if name in d["exchange_state"]:
                    value = canonical(name, d["exchange_state"][name])
                    self.ignored.setdefault(booking_id, {})[name] = value
                    settled.add(name)
        if booking_id in self.edits:
            self.edits[booking_id] = [
                e
                for e in self.edits[booking_id]
                if not (e.side == "outlook" and e.name in settled and e.epoch < self.epoch)
            ]

    def reported(self, booking_id: int, since: int = 0) -> bool:
        """A pass since `since` reported a failure of the booking."""
        return any(
            run.failures_about(f"booking {booking_id} (") for number, run in self.passes if number >= since
        )

    def record(self, run: PassRun) -> None:
        self.passes.append((self.epoch, run))
        if run.doc:
            self.log += [(self.epoch, f) for m in run.doc.get("mailboxes", []) for f in m.get("failures", [])]
            for said in (run.doc.get("left_sync") or {}).values():
                self.own_left |= set(said.get("own_meetings_left") or [])
                self.own_left |= set(said.get("past_meetings_left") or [])  # over: a purge leaves it (fix20h)
            self.note(json.dumps(run.doc, ensure_ascii=False))
        self.epoch += 1

    def note(self, text: str) -> None:
        """Keep what a document says about purging (`sync purge`): the report of a person leaving the sync."""
        if "sync purge" in text:
            self.log.append((self.epoch, text))

    def said(self, since: int, *needles: str) -> bool:
        """A pass (or command) since `since` reported something holding every needle (case-insensitive)."""
        low = [n.lower() for n in needles]
        return any(epoch >= since and all(n in text.lower() for n in low) for epoch, text in self.log)

    def ever_reported(self, booking_id: int, since: int = 0) -> bool:
        return self.said(since, f"booking {booking_id} (")

    def second_room_reported(self, booking_id: int) -> bool:
        """A pass reported the second ROOMS room of the booking's meeting (by booking, or by the new meeting)."""
        epoch, subject = self.second_room[booking_id]
        return self.ever_reported(booking_id, epoch) or (bool(subject) and self.said(epoch, repr(subject)))

    def has_left(self, address: str) -> bool:
        return address.lower() in self.left

    def purge_reported(self, address: str) -> bool:
        """The person's leaving was reported with the command to purge their meetings."""
        return address.lower() in self.left and self.said(self.left[address.lower()], "sync purge", address)

    def outlook_series_edit(
        self, booking_id: int, original: Any, start: Any, days: tuple[int, ...] = ()
    ) -> None:
        """Outlook moved (`start`) or deleted (None) the occurrence at `original`; or, `original` None, set a new
        weekly pattern on `days`: the occurrences Outlook edited before are gone with it (Exchange drops a series'
        exceptions with its pattern)."""
        if original is None:
            self.outlook_patterns[booking_id] = (self.epoch, days)
            for key in [k for k in self.outlook_occurrences if k[0] == booking_id]:
                del self.outlook_occurrences[key]
        else:
            self.outlook_occurrences[(booking_id, original)] = (self.epoch, start)

    def settled(self) -> None:
        self.outlook_occurrences.clear()
        self.outlook_patterns.clear()
        self.edits.clear()
        self.deleted_in_outlook.clear()
        self.new_meetings.clear()
        self.passes.clear()


def json_of(item: Mapping[str, Any]) -> str:
    return json.dumps(item, sort_keys=True)


# --- the invariants --------------------------------------------------------------------------------------------


def check_pass(world: World, model: Model, run: PassRun, quiet: bool) -> None:
    """After every pass: it finished (I3), its summary tells the truth, I1 and I4 hold; after a kill, I6."""
    if run.crash is not None:
        raise Violation(f"I3: `roomsops sync` aborted with {run.crash}; every mailbox after it went unsynced")
    if run.kind == "kill":
        if problems := world.database_problems():
            raise Violation(f"I6: after SIGKILL at request {run.killed_at}: {'; '.join(problems)}")
    else:
        summary = run.summary
        if quiet and run.run_error is not None:
            stale = summary is None or utc(summary["started"]) < run.started.replace(microsecond=0)
            raise Violation(
                f"I3: a pass without faults failed as a whole (exit {run.code}): {run.run_error}"
                + ("; the summary file still shows the previous run" if stale else "")
            )
        if summary is None or utc(summary["started"]) < run.started.replace(microsecond=0):
            raise Violation(f"summary: the run exited {run.code} but the summary file is not this run's")
        if bool(summary["ok"]) != (run.code == 0):
            raise Violation(f"summary: the run exited {run.code}, the summary file says ok: {summary['ok']}")
        if quiet and run.doc is not None:
            failed = {m["mailbox"]: m["error"] for m in run.doc["mailboxes"] if m["error"]}
            if failed:
                raise Violation(f"I3: a pass without faults failed mailboxes: {failed}")
    check_no_duplicate(world)
    check_untouched(world, model)


def check_no_duplicate(world: World) -> None:
    """I1: at most one live meeting per booking in its organizer's calendar."""
    for organizer in world.organizers():
        for booking_id, items in world.live_meetings(organizer).items():
            if len(items) > 1:
                raise Violation(
                    f"I1: booking {booking_id} has {len(items)} live meetings in {organizer}: "
                    + ", ".join(f"{i['subject']!r} {i['start']}" for i in items)
                )


def check_untouched(world: World, model: Model) -> None:
    """I4: foreign, all-day and series items are byte-for-byte as the checker made them."""
    for (mailbox, item_id), before in model.untouchable.items():
        now = next((i for i in world.calendar(mailbox) if i["id"] == item_id), None)
        if now is None:
            raise Violation(f"I4: the foreign item {item_id} of {mailbox} is gone")
        if json_of(now) != before:
            old = json.loads(before)
            changed = sorted(k for k in now if now[k] != old.get(k))
            raise Violation(f"I4: the foreign item {now['subject']!r} of {mailbox} changed: {changed}")


def _recorded(
    differences: Iterable[Mapping[str, Any]],
    booking_id: int,
    name: str,
    value: Any,
    second_room: bool = False,
) -> bool:
    """`second_room`: the checker added the other ROOMS room to the meeting's required attendees since
    (`outlook_second_room`, how='attendee'), so the difference the engine records next holds it too (the newer
    view replaces the open one): the attendees are compared without the ROOMS rooms."""

    def seen(recorded: Any) -> Any:
        if not second_room or name != "attendees":
            return recorded
        return tuple(a for a in recorded if not a.startswith(tuple(f"{r}@" for r in ROOMS)))

    return any(
        d["booking_id"] == booking_id
        and name in d["fields"]
        and name in d["exchange_state"]
        and seen(canonical(name, d["exchange_state"][name])) == seen(value)
        for d in differences
    )


def _differing_fields(differences: Iterable[Mapping[str, Any]], booking_id: int) -> set[str]:
    names: set[str] = set()
    for d in differences:
        if d["booking_id"] == booking_id:
            names.update(d["fields"])
    if "room" in names:
        names.add("location")
    return names


#: Outlook's "Show as" values ROOMS has no own value for, and what they are in ROOMS (docs/sync.md, "Odd items").
FREE_BUSY_MAPPED = {"WorkingElsewhere": "Free", "NoData": "Busy"}


#: The booking title of a meeting with an empty (or blank) subject (docs/sync.md, "Odd items").
NO_SUBJECT = "(no subject)"


def reported_subject(subject: str) -> str:
    """How a pass names a new Outlook meeting's subject in its reports: an empty (or blank) one is the title
    "(no subject)", as the booking it would become (docs/sync.md, "Odd items")."""
    return subject if subject.strip() else NO_SUBJECT


def mapped_free_busy(shown: str) -> str:
    """The ROOMS free/busy value of an Outlook "Show as" value."""
    return FREE_BUSY_MAPPED.get(shown, shown)


_MEETING_FIELD = {"reminder_minutes": "reminder", "private": "sensitivity"}


def gone_with_its_person(model: Model, key: str, organizers: Iterable[str]) -> bool:
    """A live meeting tagged with booking `key`, which no longer exists, that roomsops let go on purpose (unlinked by
    the Cancel behaviour, or restored from Deleted Items: `may_stay_live`, reported when it happened) before its
    organizer left with `persons remove --cancel-bookings`, which deletes the person's bookings: the meeting is the
    person's own, never touched again (docs/sync.md), and `persons remove` waits only for meetings roomsops still
    holds (soak seed 20141, series36). Any other tagged meeting without its booking is a violation."""
    return (
        key.isdigit()
        and int(key) in model.may_stay_live
        and all(model.has_left(organizer) for organizer in organizers)
    )


def check_settled(world: World, model: Model) -> None:
    """After two quiet passes: I5 (ROOMS and the organizers' calendars agree, or the difference is recorded
    and reported) and I2 (every change made since the last settle is applied, recorded or reported)."""
    bookings = {b["id"]: b for b in world.bookings()}
    diff = world.must("sync", "diff")  # one call: the field differences and (issue 20) the rooms list
    differences: list[dict[str, Any]] = list(diff["differences"])
    last = model.passes[-1][1]
    problems: list[str] = []
    live: dict[str, list[dict[str, Any]]] = {}
    organizers: dict[str, set[str]] = {}
    for organizer in world.organizers():
        for key, items in world.live_meetings(organizer).items():
            live.setdefault(key, []).extend(items)
            organizers.setdefault(key, set()).add(organizer)
    for key, items in live.items():
        if not key.isdigit() or int(key) not in bookings:
            if gone_with_its_person(model, key, organizers[key]):
                continue
            problems.append(
                f"I5: {len(items)} live meeting(s) tagged with booking {key!r}, which does not exist"
            )
        else:
            model.uid_booking.update({i["uid"]: int(key) for i in items})
    for new in model.new_meetings:
        if len(new.rooms) > 1:  # a new meeting with both ROOMS rooms that became a booking (of one of them)
            for key, items in live.items():
                if key.isdigit() and any(i["uid"] == new.uid for i in items):
                    model.second_room.setdefault(int(key), (new.epoch, new.subject))
    for booking_id, booking in bookings.items():
        mine = live.get(str(booking_id), [])
        label = f"booking {booking_id} ({booking['title'][:40]!r})"
        if model.has_left(booking["organizer"]):
            problems += _left_booking(model, booking, mine, label)
        elif booking["status"] == "active":
            if len(mine) != 1:
                problems.append(f"I5: active {label} has {len(mine)} live meetings after two quiet passes")
                continue
            differing = _differing_fields(differences, booking_id)
            if booking_id in model.second_room and model.second_room_reported(booking_id):
                differing |= {"room", "attendees", "location"}  # a 2nd ROOMS room added in Outlook, reported
            ignored = model.ignored.get(booking_id, {})
            differing |= set(ignored) | ({"location"} if "room" in ignored else set())
            for d in differences:
                again = [
                    n
                    for n in d["fields"]
                    if d["booking_id"] == booking_id
                    and n in ignored
                    and n in d["exchange_state"]
                    and canonical(n, d["exchange_state"][n]) == ignored[n]
                ]
                if again:
                    problems.append(
                        f"I5: {label}: the difference in {', '.join(again)} settled with `sync resolve --use "
                        "ignore` is recorded again, though neither side changed it since"
                    )
            excused = {_MEETING_FIELD.get(n, n) for n in differing}
            if mapped_free_busy(mine[0]["free_busy"]) == booking["free_busy"]:
                excused.add("free_busy")  # e.g. WorkingElsewhere in Outlook is Free in ROOMS (docs/sync.md)
            for name in ("start", "end"):  # Exchange keeps whole seconds: a ROOMS fraction is no difference
                if utc(booking[name]).replace(microsecond=0) == utc(mine[0][name]).replace(microsecond=0):
                    excused.add(name)
            if not mine[0]["subject"].strip() and booking["title"] == NO_SUBJECT:
                excused.add("subject")  # an empty subject is the title "(no subject)"; the meeting keeps it
            unequal = [d for d in meeting_differs(booking, mine[0]) if d.split(":")[0] not in excused]
            if unequal and not last.failures_about(f"booking {booking_id} ("):
                problems.append(
                    f"I5: {label} and its meeting disagree, nothing recorded: {'; '.join(unequal)}"
                )
        elif booking["status"] == "cancelled" and mine and booking_id not in model.may_stay_live:
            problems.append(f"I5: cancelled {label} still has {len(mine)} live meeting(s)")
    problems += _lost_changes(model, bookings, differences)
    problems += _new_meetings(world, model, bookings)
    problems += _persons_left(world, model)
    rooms = [(r["booking_id"], r["kind"]) for r in diff.get("rooms", [])]
    problems += _room_calendars(world, model, bookings, live, differences, set(rooms))
    problems += series_occurrences(world, model, bookings, live, differences)
    problems += series_outlook_edits(model, bookings, differences)
    if problems:
        raise Violation("\n".join(problems))


def series_occurrences(
    world: World,
    model: Model,
    bookings: Mapping[int, Mapping[str, Any]],
    live: Mapping[str, list[dict[str, Any]]],
    differences: list[dict[str, Any]],
) -> list[str]:
    """I5 per occurrence (issue 25): an active series booking's meeting shows exactly its active occurrences (each
    at its own times, cancelled ones not at all) in the organizer's calendar view over the series' span, unless
    the last pass reported the booking or a difference is recorded for it."""
    problems = []
    last = model.passes[-1][1] if model.passes else None
    for booking_id, booking in bookings.items():
        series = booking.get("series")
        mine = live.get(str(booking_id), [])
        if (
            not series
            or booking["status"] != "active"
            or len(mine) != 1
            or model.has_left(booking["organizer"])
        ):
            continue
        reported = last is not None and last.failures_about(f"booking {booking_id} (")
        if reported or _differing_fields(differences, booking_id):
            continue
        rows = series["occurrences"]
        wanted = sorted((_whole(o["start"]), _whole(o["end"])) for o in rows if o["status"] == "active")
        first = min(utc(o["original_start"]) for o in rows) - timedelta(days=8)
        span = max(utc(o["end"]) for o in rows) + timedelta(days=8)
        window = f"{first:%Y-%m-%dT%H:%M:%SZ},{span:%Y-%m-%dT%H:%M:%SZ}"
        shown = world.admin("GET", f"/lab/mailboxes/{booking['organizer']}/calendar?expand={window}")["items"]
        seen = sorted(
            (_whole(i["start"]), _whole(i["end"]))
            for i in shown
            if i.get("uid") == mine[0]["uid"]
            and i["type"] in ("Occurrence", "Exception")
            and not i["is_cancelled"]
        )
        if seen != wanted:
            problems.append(
                f"I5: series booking {booking_id} ({booking['title'][:40]!r}) has the active occurrences {wanted} "
                f"in ROOMS, its meeting shows {seen}; nothing reported"
            )
    return problems


def series_outlook_edits(
    model: Model, bookings: Mapping[int, Mapping[str, Any]], differences: list[dict[str, Any]]
) -> list[str]:
    """I2 per occurrence (issue 25 item 5): an occurrence Outlook moved or deleted is moved or cancelled in the
    booking (keyed by its original start), and a weekly pattern Outlook set is the booking's, unless a pass since
    reported the booking, a difference is recorded for it, ROOMS edited it since (ROOMS wins, docs/series.md), or
    the occurrence is no longer the series' (a later whole-series edit expanded it anew)."""
    problems = []

    def excused(booking_id: int, epoch: int) -> Mapping[str, Any] | None:
        booking = bookings.get(booking_id)
        if (
            booking is None
            or booking["status"] != "active"
            or not booking.get("series")
            or model.has_left(booking["organizer"])
            or model.reported(booking_id, epoch)
            or _differing_fields(differences, booking_id)
            or any(d["booking_id"] == booking_id for d in differences)
            or model.rooms_touched.get(booking_id, -1) >= epoch
        ):
            return None
        return booking

    for (booking_id, original), (epoch, start) in sorted(model.outlook_occurrences.items(), key=str):
        booking = excused(booking_id, epoch)
        if booking is None:
            continue
        row = next(
            (o for o in booking["series"]["occurrences"] if utc(o["original_start"]) == original), None
        )
        if row is None:
            continue
        if start is None and row["status"] != "cancelled":
            problems.append(
                f"I2: series booking {booking_id}: the occurrence of {original:%Y-%m-%d %H:%M}Z deleted in Outlook "
                f"is {row['status']} in ROOMS, nor a recorded difference, nor a reported failure"
            )
        elif start is not None and (
            row["status"] != "active" or _whole(row["start"]) != start.replace(microsecond=0)
        ):
            problems.append(
                f"I2: series booking {booking_id}: the occurrence of {original:%Y-%m-%d %H:%M}Z moved in Outlook to "
                f"{start:%Y-%m-%d %H:%M}Z is {row['status']} at {row['start']} in ROOMS, nor a recorded difference, "
                "nor a reported failure"
            )
    for booking_id, (epoch, days) in sorted(model.outlook_patterns.items()):
        booking = excused(booking_id, epoch)
        if booking is None:
            continue
        pattern = booking["series"].get("pattern") or {}
        held = tuple(sorted(_weekday(d) for d in pattern.get("days_of_week") or ()))
        if held != days:
            problems.append(
                f"I2: series booking {booking_id}: the weekly pattern Outlook set ({days}, 0 Monday) is not the "
                f"booking's ({pattern}), nor a recorded difference, nor a reported failure"
            )
    return problems


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(name: str) -> int:
    low = str(name).lower()
    return next(n for n, day in enumerate(_WEEKDAYS) if day.startswith(low[:3]))


def _lost_changes(
    model: Model, bookings: Mapping[int, Mapping[str, Any]], differences: list[dict[str, Any]]
) -> list[str]:
    problems = []
    for booking_id, epoch in model.deleted_in_outlook.items():
        booking = bookings.get(booking_id)
        if booking is None:
            problems += _vanished(model, booking_id)
            continue
        if model.has_left(booking["organizer"]):
            continue  # not synced any more: judged by _left_booking
        if booking["status"] == "active" and not model.reported(booking_id, epoch):
            problems.append(f"I2: the meeting of booking {booking_id} was deleted in Outlook; still active")
    for booking_id, edits in model.edits.items():
        booking = bookings.get(booking_id)
        if booking is None:
            problems += _vanished(model, booking_id)
            continue
        if booking["status"] != "active" or model.has_left(booking["organizer"]):
            continue
        for name in FIELDS:
            mine = [e for e in edits if e.name == name]
            if not mine:
                continue
            last, now = mine[-1], booking_value(booking, name)
            if now != last.value:
                if last.side == "rooms":
                    problems.append(
                        f"I2: booking {booking_id}: the ROOMS {name} {last.value!r} was overwritten"
                    )
                elif (
                    not _recorded(
                        differences, booking_id, name, last.value, _second_room_since(model, booking_id, last)
                    )
                    and not model.reported(booking_id, last.epoch)
                    and model.ignored.get(booking_id, {}).get(name, object()) != last.value
                ):
                    problems.append(
                        f"I2: booking {booking_id}: the Outlook {name} {last.value!r} is neither in the booking "
                        f"({now!r}), nor a recorded difference, nor a reported failure"
                    )
            outlook = [e for e in mine if e.side == "outlook"]
            # Both sides changed between two passes: ROOMS wins, Outlook's kept; unless both set the same value
            # (nothing lost: the engine sees one change, no conflict; the series25d Graph soak's seed 34402 finding).
            if (
                outlook
                and last.side == "rooms"
                and last.epoch == outlook[-1].epoch
                and outlook[-1].value != last.value
            ):
                lost = outlook[-1]
                if not _recorded(differences, booking_id, name, lost.value) and not model.reported(
                    booking_id, lost.epoch
                ):
                    problems.append(
                        f"I2: booking {booking_id}: the Outlook {name} {lost.value!r}, overridden by a ROOMS "
                        "edit of the same field, is recorded in no difference"
                    )
    return problems


def _second_room_since(model: Model, booking_id: int, edit: Edit) -> bool:
    """The checker added the other ROOMS room to the booking's meeting in Outlook at or after `edit`'s epoch."""
    return booking_id in model.second_room and model.second_room[booking_id][0] >= edit.epoch


def _vanished(model: Model, booking_id: int) -> list[str]:
    """A booking no longer in `bookings list`: `persons remove` deletes a person's bookings with the person
    (judged by _persons_left); nothing else may make one vanish."""
    if model.left:
        return []
    return [f"I2: booking {booking_id} is gone from ROOMS, though no person was removed"]


def _new_meetings(world: World, model: Model, bookings: Mapping[int, Mapping[str, Any]]) -> list[str]:
    problems = []
    answers = world.room_answers()
    for new in model.new_meetings:
        if model.has_left(new.organizer):
            continue  # its organizer left the sync: judged by _persons_left
        item = next((i for i in world.calendar(new.organizer) if i["id"] == new.item_id), None)
        if item is None or item["is_cancelled"]:
            continue  # deleted by a later step
        key = tag(item, BOOKING_TAG) if world.ours(item) else None
        if key is not None and key.isdigit() and int(key) in bookings:
            booking = bookings[int(key)]
            room = booking["room"].lower()
            first = _first_answer(answers, room, new.uid) if new.rooms and new.rooms[0] == room else None
            rooms_edited = any(
                e.side == "rooms" for e in model.edits.get(int(key), [])
            )  # the room judged that
            if (
                booking["status"] == "active"
                and first
                and first["response"] == "Decline"
                and not rooms_edited
            ):
                problems.append(
                    f"I2: the new Outlook meeting {new.subject!r} of {new.organizer} became booking {key}, "
                    f"though {booking['room']} declined it ({first['reason'] or 'no reason'}): a booking "
                    "exists only if the room accepted"
                )
            continue
        problems += _sync_master_exactly(model, new, item)  # not booked: only Sync-Master may change it
        shown = reported_subject(new.subject)  # an empty subject: '' is in every text, "(no subject)" is said
        reported = any(
            any(
                repr(shown) in f or shown in f
                for m in run.doc.get("mailboxes", [])  # an error document (exit 2/3/130) has none
                for f in m["failures"]
            )
            or any(
                m["skipped"]
                for m in run.doc.get("mailboxes", [])
                if m["mailbox"].lower() == new.organizer.lower()
            )
            for _, run in model.passes
            if run.doc
        )
        if not reported:
            problems.append(
                f"I2: the new Outlook meeting {new.subject!r} of {new.organizer} inviting a room became no "
                "booking and no pass reported why"
            )
    return problems


# --- rooms (issue 20) -------------------------------------------------------------------------------------------


def _first_answer(answers: Iterable[Mapping[str, Any]], room: str, uid: str) -> Mapping[str, Any] | None:
    """The room's first answer to the meeting (the decision on the request that made it), if it answered."""
    return next((a for a in answers if a["uid"] == uid and str(a["room"]).lower() == room.lower()), None)


def _listed(item: Mapping[str, Any]) -> set[str]:
    """Every recipient of the organizer's item: resources and required and optional attendees, lower case."""
    people = (
        list(item["resources"]) + list(item["required_attendees"]) + list(item.get("optional_attendees", []))
    )
    return {str(p["email"]).lower() for p in people}


def _sync_master_exactly(model: Model, new: NewMeeting, item: Mapping[str, Any]) -> list[str]:
    """Sync-Master removes exactly the conflicting room: every attendee the checker put on the meeting is still
    on it, a ROOMS room is gone only if it was Sync-Master, and a removal reported happened."""
    listed = _listed(item)
    problems = [
        f"I5: the new Outlook meeting {new.subject!r} of {new.organizer} lost {who}, which no rule removes "
        "(Sync-Master removes exactly the conflicting room)"
        for who in new.others
        if who not in listed
    ]
    problems += [
        f"I5: the new Outlook meeting {new.subject!r} of {new.organizer} lost the room {room}, which is not "
        "Sync-Master"
        for room in new.rooms
        if room not in listed and room not in model.sync_master
    ]
    for room in new.rooms:
        claimed = model.said(new.epoch, repr(new.subject), "removed from the meeting") and model.said(
            new.epoch, repr(new.subject), room
        )
        if claimed and room in listed and len(new.rooms) == 1:
            problems.append(
                f"I5: a pass reported {room} removed from the new Outlook meeting {new.subject!r} "
                f"(Sync-Master), but the meeting still lists it"
            )
    return problems


def _left_booking(
    model: Model, booking: Mapping[str, Any], mine: list[dict[str, Any]], label: str
) -> list[str]:
    """A booking of a person who left the sync: not synced any more. Its live meeting is either purged
    (sync.on_person_removed = "purge") or reported once with the command to purge it."""
    if not mine or booking["id"] in model.may_stay_live:
        return []  # nothing live, or let go on purpose (restored, unlinked): no linked meeting to purge
    if model.on_person_removed == "purge":
        if booking["id"] in model.own_left:
            return []  # the person's own Outlook meeting: a purge leaves it, and the pass said so
        return [
            f"I5: {label} of {booking['organizer']}, who left the sync, still has a live meeting (not purged)"
        ]
    if not model.purge_reported(booking["organizer"]):
        return [
            f"I5: {label}: its organizer {booking['organizer']} left the sync and its meeting is still live; no "
            "pass reported it with the command to purge it (`sync purge`)"
        ]
    return []


def _persons_left(world: World, model: Model) -> list[str]:
    """Every person who left with live meetings of this installation was reported (or purged)."""
    problems = []
    for person in sorted(model.left):
        # Linked meetings: not those let go on purpose (restored from Deleted Items, unlinked), nor with purge the
        # person's own Outlook meetings (a purge leaves them, the pass said so). A tag is `<id>` or `<id>:<key>`.
        kept = model.may_stay_live | (model.own_left if model.on_person_removed == "purge" else set())
        live = [
            i
            for key, items in world.live_meetings(person).items()
            if tagged_booking_id(key) not in kept
            for i in items
        ]
        if not live:
            continue
        if model.on_person_removed == "purge":
            problems.append(
                f'I5: {person} left the sync with sync.on_person_removed = "purge"; {len(live)} of their '
                "meetings are still live: " + ", ".join(repr(i["subject"]) for i in live)
            )
        elif not model.purge_reported(person):
            problems.append(
                f"I5: {person} left the sync; {len(live)} of their meetings are still live and no pass reported "
                "them with the command to purge them"
            )
    return problems


def _whole(text: str) -> Any:
    return utc(text).replace(microsecond=0)


def _room_calendars(
    world: World,
    model: Model,
    bookings: Mapping[int, Mapping[str, Any]],
    live: Mapping[str, list[dict[str, Any]]],
    differences: list[dict[str, Any]],
    listed: set[tuple[int, str]],
) -> list[str]:
    """I5, the rooms' side: each ROOMS room's calendar holds exactly the slots of the active bookings of that
    room (no extra live slot, none missing), or the difference is reported: a room that declined (every pass
    until settled), a room difference, a person that left the sync (with the purge command), a room still
    holding the slot of a meeting deleted without cancellation, a new meeting not booked (with the reason)."""
    problems = []
    log = world.admin("GET", "/lab/room-answers")
    pending = {(str(p["room"]).lower(), p["uid"]) for p in log["pending"]}
    answers = list(log["answered"])
    last = model.passes[-1][1]
    for room in ROOMS:
        address = world.addr(room).lower()
        slots = {  # live copies that hold time (a zero-length meeting holds none; roomsops skips it)
            i["uid"]: i for i in world.calendar(address) if not i["is_cancelled"] and i["start"] != i["end"]
        }
        expected: dict[str, Mapping[str, Any]] = {}
        for booking_id, booking in bookings.items():
            if booking["status"] != "active" or booking["room"].lower() != address:
                continue
            if model.has_left(booking["organizer"]):
                continue  # not synced any more: its slot may be there or not (judged by _left_booking)
            mine = live.get(str(booking_id), [])
            if len(mine) != 1:
                continue  # I5 (the organizer's side) reports it
            expected[mine[0]["uid"]] = booking
        for uid, booking in expected.items():
            copy = slots.get(uid)
            if copy is not None and (_whole(copy["start"]), _whole(copy["end"])) == (
                _whole(booking["start"]),
                _whole(booking["end"]),
            ):
                continue
            if (address, uid) in pending:
                continue  # the request was sent by the last pass; the room has not answered yet
            booking_id = booking["id"]
            if (
                last.failures_about(f"booking {booking_id} (")
                or "room" in _differing_fields(differences, booking_id)
                or "room" in model.ignored.get(booking_id, {})
                or (booking_id, "room-declined") in listed
            ):
                continue  # reported by the last pass (a room-declined booking: every pass until settled), or a
                # room difference recorded (or settled with `sync resolve --use ignore`)
            answer = next(
                (a for a in reversed(answers) if a["uid"] == uid and a["room"].lower() == address), None
            )
            said = f"{answer['response']}: {answer['reason'] or 'no reason'}" if answer else "no answer"
            what = "does not hold" if copy is None else f"holds {copy['start']}–{copy['end']} for"
            problems.append(
                f"I5: room {room} {what} the slot of active booking {booking_id} ({booking['title'][:40]!r}, "
                f"{booking['start']}–{booking['end']}; the room's last answer: {said}); the last pass "
                "reported nothing about it"
            )
        for uid, copy in slots.items():
            if uid in expected or uid in model.foreign_holds:
                continue
            excuse = _extra_slot_excuse(world, model, bookings, differences, address, uid, copy, listed)
            if excuse is not None:
                problems.append(
                    f"I5: room {room} holds {copy['start']}–{copy['end']} ({copy['organizer']}): {excuse}"
                )
    return problems


def _unknown_second_room(
    model: Model, booking: Mapping[str, Any] | None, booking_id: int, address: str
) -> bool:
    """A second ROOMS room given to the booking's meeting in Outlook, whose meeting was then deleted without a
    cancellation: roomsops frees the booking's room (the copy by the meeting's UID), not this one. It reported the
    second room (not booked), or never saw it (added and deleted before any pass read the meeting); the same
    whether the organizer still syncs or left the sync since (a purge finds no meeting left to cancel: seeds 32500
    and 32700 of the soak, fix19p)."""
    return (
        booking is not None
        and booking_id in model.second_room
        and booking_id in model.deleted_silently
        and str(booking["room"]).lower() != address
        and (
            model.second_room_reported(booking_id)
            or model.second_room[booking_id][0] == model.deleted_silently[booking_id]
        )
    )


def _unseen_outlook_room(
    model: Model, booking: Mapping[str, Any] | None, booking_id: int, address: str
) -> bool:
    """Another ROOMS room given to the booking's meeting in Outlook in place of its room (`outlook_room_attendees`,
    room=True), then the meeting deleted without a cancellation before any pass read it (the same epoch): roomsops
    saw only the deletion and frees the room it knew (the copy by the meeting's UID); it never saw this room listed,
    and finding its copy would mean searching every room — as for a second room added so (`_unknown_second_room`;
    soak seed 25063, series36). Not ROOMS' slot; a later booking of it there gets the room's decline, reported."""
    touched = model.outlook_touched.get((booking_id, "room"))
    return (
        booking is not None
        and touched is not None
        and touched == model.deleted_silently.get(booking_id)
        and str(booking["room"]).lower() != address
    )


def _extra_slot_excuse(
    world: World,
    model: Model,
    bookings: Mapping[int, Mapping[str, Any]],
    differences: list[dict[str, Any]],
    address: str,
    uid: str,
    copy: Mapping[str, Any],
    listed: set[tuple[int, str]],
) -> str | None:
    """Why a live slot in a room's calendar that no active booking of that room explains is a violation, or
    None when it is explained: reported, recorded as a difference, or allowed to stay."""
    organizer = str(copy["organizer"])
    booking_id = model.uid_booking.get(uid)
    if booking_id is None:
        for folder in ("calendar", "deleteditems"):
            for item in world.calendar(organizer, folder):
                key = tag(item, BOOKING_TAG) if item["uid"] == uid and world.ours(item) else None
                if key is not None and key.isdigit():
                    booking_id = int(key)
    if booking_id is not None and booking_id in model.may_stay_live:
        return None  # restored from Deleted Items, or unlinked by the Cancel behaviour (reported)
    if model.has_left(organizer):
        if booking_id is None:
            return (
                None  # the person's own meeting, never booked (e.g. the room had not answered yet): not ours
            )
        if booking_id in model.deleted_silently and (
            (booking_id, "room-holds") in listed
            or model.ever_reported(booking_id, model.deleted_silently.get(booking_id, 0))
        ):
            # The meeting was deleted in Outlook without a cancellation before the person left: no purge reaches
            # the room's copy (nothing is left in the organizer's calendar); the pass reported the room as still
            # holding the slot, which is all roomsops can say about it.
            return None
        if _unknown_second_room(model, bookings.get(booking_id), booking_id, address) or _unseen_outlook_room(
            model, bookings.get(booking_id), booking_id, address
        ):
            return None
        if model.on_person_removed == "purge":
            if booking_id in model.own_left:
                return None  # a meeting the person made in Outlook: the purge leaves it (own_meetings_left)
            return (
                f"{organizer} left the sync with on_person_removed = purge, but the room still holds the slot"
            )
        if model.purge_reported(organizer):
            return None
        return f"{organizer} left the sync; the room still holds the slot and no pass reported it with `sync purge`"
    subject = model.uid_subject.get(uid)
    if subject is not None and model.said(0, reported_subject(subject), address):
        return None  # a new Outlook meeting this room holds without a booking (of this room): reported why
    if booking_id is None:
        return f"no booking, and no pass reported why (meeting {subject!r}, UID …{uid[-8:]})"
    booking = bookings.get(booking_id)
    if booking is None:
        return f"booking {booking_id} does not exist"
    if booking_id in model.may_stay_live:
        return None  # restored from Deleted Items, or unlinked by the Cancel behaviour (reported)
    if "room" in _differing_fields(differences, booking_id) or booking_id in model.ignored:
        return None  # the room changed in Outlook: recorded as a difference
    if booking_id in model.second_room and model.second_room_reported(booking_id):
        return None  # a second ROOMS room in the meeting: reported, not booked
    if (booking_id, "room-holds") in listed or model.ever_reported(
        booking_id, model.deleted_silently.get(booking_id, 0)
    ):
        return (
            None  # reported: e.g. the room still holding the slot of a meeting deleted without cancellation
        )
    if (
        booking_id in model.second_room
        and booking["room"].lower() != address
        and model.second_room[booking_id][0] == model.deleted_silently.get(booking_id)
    ):
        # A second room added in Outlook and the meeting deleted without a cancellation before any pass read it:
        # roomsops never saw this room listed (the pass reads only the deletion), and finding its copy would mean
        # searching every room. Not ROOMS' slot; a later booking of it there gets the room's decline, reported.
        return None
    if _unseen_outlook_room(model, booking, booking_id, address):
        return None  # the same for a room Outlook put in place of the booked one (soak seed 25063)
    if booking_id in model.deleted_silently and booking["status"] == "cancelled":
        return (
            f"booking {booking_id} was cancelled (its meeting deleted in Outlook without a cancellation); the "
            "room's copy was not cancelled and no pass reported the room as still holding the slot"
        )
    if booking["status"] == "active" and booking["room"].lower() != address:
        return f"booking {booking_id} is booked in {booking['room']}; this room's slot is reported nowhere"
    return f"booking {booking_id} is {booking['status']}; no pass reported the room still holding its slot"
