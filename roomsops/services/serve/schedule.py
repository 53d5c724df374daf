"""When each mailbox's next pass is due: every `serve.ews_interval` seconds over EWS, every `serve.graph_interval`
over Graph, counted from its last pass as the database records it (so a restart resumes where it stopped, and a
mailbox never synced is due at once); and a mailbox a Graph change notification named, once its debounce has
passed (`push`); and each mailbox's healing reconciliation (a full pass) every `serve.healing_interval` (`heal_due`).
Pure: the clock is given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Due:
    mailbox: str
    service: str  # "ews" or "graph"
    last_pass: datetime | None
    #: passes since the mailbox's last full one, as the database counts them (`sync.full_every`'s count)
    passes_since_full: int = 0


@dataclass
class Schedule:
    intervals: Mapping[str, timedelta]  # service -> interval
    #: mailbox (casefolded) -> (address, service, last pass); replaced from the database every round
    mailboxes: dict[str, Due] = field(default_factory=dict)
    #: mailbox (casefolded) -> when this process last tried its pass (a failed pass waits its interval too)
    attempted: dict[str, datetime] = field(default_factory=dict)

    #: mailbox (casefolded) -> (when its pass is due: the first notification since its last pass + the debounce,
    #: when that notification came)
    pushed: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    #: mailbox (casefolded) -> when its pass is due for a change made in ROOMS its last pass has not written (a Graph
    #: mailbox: no notification announces those)
    prompted: dict[str, datetime] = field(default_factory=dict)
    #: mailboxes whose next pass compares everything (a `missed` lifecycle notification), until one such succeeds
    full: set[str] = field(default_factory=set)
    #: `serve.healing_interval` (None: no healing schedule; `sync.full_every`'s count decides) and since when this
    #: process runs (the healing of a mailbox not healed by it yet is counted from then)
    healing: timedelta | None = None
    started: datetime | None = None
    #: mailbox (casefolded) -> when this process's last full pass of it finished
    healed: dict[str, datetime] = field(default_factory=dict)

    def push(self, mailbox: str, received: datetime, debounce: timedelta, full: bool = False) -> None:
        """A notification named the mailbox: its pass is due `debounce` after the first one since its last pass
        (later ones within that are taken by the same pass)."""
        self.pushed.setdefault(mailbox.casefold(), (received + debounce, received))
        if full:
            self.full.add(mailbox.casefold())

    def prompt(self, mailbox: str, at: datetime) -> None:
        """A change in ROOMS waits for the mailbox's pass: it is due at `at` (the earliest such time is kept)."""
        key = mailbox.casefold()
        self.prompted[key] = min(at, self.prompted.get(key, at))

    def take_pushed(self, mailbox: str) -> datetime | None:
        """The pass of the mailbox starts: the notifications (and ROOMS changes) so far are taken by it; when the
        first notification came. (A full pass still owed stays owed until one succeeds: `healed_at`.)"""
        self.prompted.pop(mailbox.casefold(), None)
        taken = self.pushed.pop(mailbox.casefold(), None)
        return taken[1] if taken else None

    def update(
        self,
        persons: Mapping[str, str],
        last_passes: Mapping[str, datetime | None],
        passes_since_full: Mapping[str, int] | None = None,
    ) -> None:
        """`persons`: address -> service; `last_passes`: address (casefolded) -> last pass in the database;
        `passes_since_full`: address (casefolded) -> passes since its last full one in the database."""
        counts = passes_since_full or {}
        self.mailboxes = {
            address.casefold(): Due(
                address, service, last_passes.get(address.casefold()), counts.get(address.casefold(), 0)
            )
            for address, service in persons.items()
        }

    def heal_at(self, due: Due) -> datetime | None:
        """When the mailbox's next healing reconciliation is due; None: none (no healing schedule, or a mailbox
        never synced: its first pass reads everything anyway). Counted from this process's last full pass of it,
        else from the process's start; but a mailbox whose passes since its last full one (the database's count,
        which outlives restarts) times its interval reach `serve.healing_interval` is due at once, so restarts
        never put healing off for ever."""
        if self.healing is None or self.started is None or due.last_pass is None:
            return None
        key = due.mailbox.casefold()
        healed = self.healed.get(key)
        if healed is not None:
            return healed + self.healing
        if due.passes_since_full * self.intervals[due.service] >= self.healing:
            return self.started
        return self.started + self.healing

    def heal_due(self, due: Due, now: datetime) -> bool:
        at = self.heal_at(due)
        return at is not None and at <= now

    def healed_at(self, mailbox: str, when: datetime) -> None:
        """A full pass of the mailbox succeeded at `when` (healing, a recovery, a `missed` notification): no full
        pass is owed any more (one that failed leaves it owed, so the next pass is full again)."""
        self.healed[mailbox.casefold()] = when
        self.full.discard(mailbox.casefold())

    def done(self, mailbox: str, when: datetime) -> None:
        """The mailbox's pass was tried at `when` (whether it succeeded or failed): a ROOMS change it was due for is
        taken (a failed pass waits its interval, not a pass every round)."""
        self.attempted[mailbox.casefold()] = when
        self.prompted.pop(mailbox.casefold(), None)

    def next_due(self, due: Due) -> datetime | None:
        known = [t for t in (due.last_pass, self.attempted.get(due.mailbox.casefold())) if t is not None]
        timed = max(known) + self.intervals[due.service] if known else None
        if timed is None:  # never synced: due at once
            return None
        pushed = self.pushed.get(due.mailbox.casefold())
        heal = self.heal_at(due)
        if heal is not None and heal <= max(
            known
        ):  # tried since it was due (and failed): its interval, as any
            heal = None
        prompted = self.prompted.get(due.mailbox.casefold())
        return min(t for t in (timed, pushed[0] if pushed else None, heal, prompted) if t is not None)

    def due(self, now: datetime) -> list[Due]:
        """The mailboxes whose pass is due at `now`, the longest waiting first."""
        ready = [d for d in self.mailboxes.values() if (self.next_due(d) or now) <= now]
        return sorted(
            ready, key=lambda d: (self.next_due(d) or datetime.min.replace(tzinfo=now.tzinfo), d.mailbox)
        )

    def seconds_to_next(self, now: datetime, at_most: float) -> float:
        """Seconds until the next mailbox is due (0: one is due now), at most `at_most` (a new person is picked up
        within that)."""
        times = [self.next_due(d) for d in self.mailboxes.values()]
        if any(t is None or t <= now for t in times):
            return 0.0
        soonest = min((t for t in times if t is not None), default=None)
        if soonest is None:
            return at_most
        return min(at_most, (soonest - now).total_seconds())
