"""The checker's model of what must become true, and the invariants, judged from the lab and ROOMS alone.

The model never asks the engine what it did: it remembers the edits the checker made on each side (and when,
counted in passes), and compares them with the bookings (`roomsops bookings list`), the recorded differences
(`roomsops sync diff`), the failures the passes reported, and the calendars as the lab stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.campaign import BOOKING_TAG, meeting_differs, tag
from tests.sync_checker.world import PassRun, World, utc

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

    def edit(self, booking_id: int, side: str, values: Mapping[str, Any], seen: Iterable[str] = ()) -> None:
        """`seen`: fields whose edit the last pass already read (made while it ran, applied by it): counted as
        made before that pass, not after its start."""
        seen = set(seen)
        for name, value in values.items():
            value = canonical(name, value)
            epoch = self.epoch - 1 if name in seen else self.epoch
            self.edits.setdefault(booking_id, []).append(Edit(side, name, value, epoch))
            ignored = self.ignored.get(booking_id, {})
            if side == "outlook" and name in ignored and ignored[name] == value:
                continue  # Outlook set the ignored value again: no change of the baseline (docs/sync.md)
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
        """`sync resolve BOOKING --use ignore` settled these differences."""
        for d in differences:
            for name in d["fields"]:
                if name in d["exchange_state"]:
                    value = canonical(name, d["exchange_state"][name])
                    self.ignored.setdefault(booking_id, {})[name] = value

    def reported(self, booking_id: int, since: int = 0) -> bool:
        """A pass since `since` reported a failure of the booking."""
        return any(
            run.failures_about(f"booking {booking_id} (") for number, run in self.passes if number >= since
        )

    def record(self, run: PassRun) -> None:
        self.passes.append((self.epoch, run))
        self.epoch += 1

    def settled(self) -> None:
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
            raise Violation(f"I6: after SIGKILL at EWS request {run.killed_at}: {'; '.join(problems)}")
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


def _recorded(differences: Iterable[Mapping[str, Any]], booking_id: int, name: str, value: Any) -> bool:
    return any(
        d["booking_id"] == booking_id
        and name in d["fields"]
        and name in d["exchange_state"]
        and canonical(name, d["exchange_state"][name]) == value
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


def mapped_free_busy(shown: str) -> str:
    """The ROOMS free/busy value of an Outlook "Show as" value."""
    return FREE_BUSY_MAPPED.get(shown, shown)


_MEETING_FIELD = {"reminder_minutes": "reminder", "private": "sensitivity"}


def check_settled(world: World, model: Model) -> None:
    """After two quiet passes: I5 (ROOMS and the organizers' calendars agree, or the difference is recorded
    and reported) and I2 (every change made since the last settle is applied, recorded or reported)."""
    bookings = {b["id"]: b for b in world.bookings()}
    differences = world.differences()
    last = model.passes[-1][1]
    problems: list[str] = []
    live: dict[str, list[dict[str, Any]]] = {}
    for organizer in world.organizers():
        for key, items in world.live_meetings(organizer).items():
            live.setdefault(key, []).extend(items)
    for key, items in live.items():
        if not key.isdigit() or int(key) not in bookings:
            problems.append(
                f"I5: {len(items)} live meeting(s) tagged with booking {key!r}, which does not exist"
            )
    for booking_id, booking in bookings.items():
        mine = live.get(str(booking_id), [])
        label = f"booking {booking_id} ({booking['title'][:40]!r})"
        if booking["status"] == "active":
            if len(mine) != 1:
                problems.append(f"I5: active {label} has {len(mine)} live meetings after two quiet passes")
                continue
            differing = _differing_fields(differences, booking_id)
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
    if problems:
        raise Violation("\n".join(problems))


def _lost_changes(
    model: Model, bookings: Mapping[int, Mapping[str, Any]], differences: list[dict[str, Any]]
) -> list[str]:
    problems = []
    for booking_id, epoch in model.deleted_in_outlook.items():
        booking = bookings[booking_id]
        if booking["status"] == "active" and not model.reported(booking_id, epoch):
            problems.append(f"I2: the meeting of booking {booking_id} was deleted in Outlook; still active")
    for booking_id, edits in model.edits.items():
        booking = bookings[booking_id]
        if booking["status"] != "active":
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
                    not _recorded(differences, booking_id, name, last.value)
                    and not model.reported(booking_id, last.epoch)
                    and model.ignored.get(booking_id, {}).get(name, object()) != last.value
                ):
                    problems.append(
                        f"I2: booking {booking_id}: the Outlook {name} {last.value!r} is neither in the booking "
                        f"({now!r}), nor a recorded difference, nor a reported failure"
                    )
            outlook = [e for e in mine if e.side == "outlook"]
            if outlook and last.side == "rooms" and last.epoch == outlook[-1].epoch:
                lost = outlook[-1]  # both sides changed between two passes: ROOMS wins, Outlook's kept
                if not _recorded(differences, booking_id, name, lost.value) and not model.reported(
                    booking_id, lost.epoch
                ):
                    problems.append(
                        f"I2: booking {booking_id}: the Outlook {name} {lost.value!r}, overridden by a ROOMS "
                        "edit of the same field, is recorded in no difference"
                    )
    return problems


def _new_meetings(world: World, model: Model, bookings: Mapping[int, Mapping[str, Any]]) -> list[str]:
    problems = []
    for new in model.new_meetings:
        item = next((i for i in world.calendar(new.organizer) if i["id"] == new.item_id), None)
        if item is None or item["is_cancelled"]:
            continue  # deleted by a later step
        key = tag(item, BOOKING_TAG) if world.ours(item) else None
        if key is not None and key.isdigit() and int(key) in bookings:
            continue
        reported = any(
            any(
                repr(new.subject) in f or new.subject in f
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
