"""`roomsops sync migrate --to graph|ews`: move persons between EWS (O365/O365Pull) and Microsoft Graph
(Microsoft365) without re-creating, duplicating or losing a meeting (issue 24, item 4).

Graph's translateExchangeIds is not open to app-only tokens (Microsoft lists Application as "Not supported"), so
the stored ids are not translated: each linked meeting is found again by its tag over the target service (the
tags are the same properties over EWS and Graph) and checked to be the very item the link names — the same
iCalendar UID (EWS UID = Graph iCalUId) as the linked item read over the source service. Only when every linked
meeting of a person is found does one database transaction rewrite the links (item id, change key: the
target's), forget the mailbox's sync position (the first pass over the new service is a full reconciliation, so
no change made since the last pass is lost) and switch the person's sync mode. Nothing is written to Exchange.

Per person all or nothing: a run killed or failing midway leaves every person either migrated or untouched, and
a rerun goes on with the persons not migrated yet (those already in the target mode, their links of the target
service, are reported "already").

A person who left the sync (a mode roomsops does not sync) with meetings still linked moves too, links only (the
mode stays): only the service their ids are of reaches those meetings (a cancellation, `sync purge`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from roomsops.adapters.store import (
    Booking,
    BookingSyncState,
    MailboxSyncState,
    Person,
    Store,
    now_utc,
)
from roomsops.adapters.store import queries as q
from roomsops.adapters.store.records import email_key
from roomsops.adapters.store.schema import (
    CANCELLED,
    LINKED,
    PENDING_CANCEL,
    PENDING_UPDATE,
    SYNC_DISABLED,
    UNLINKED,
)
from roomsops.core.calendar import BackendError, Meeting, booking_tag
from roomsops.core.errors import ConnectError, InputError, RoomsopsError
from roomsops.core.logs import AuditLog, log
from roomsops.core.results import Result
from roomsops.core.settings import Settings
from roomsops.core.templates import shellword
from roomsops.core.vocabulary import EWS_SYNC_MODES, GRAPH_SYNC_MODES, SYNCED_MODES
from roomsops.services.sync.backend import CalendarBackend
from roomsops.services.sync.engine import (
    deleted_if_missing,
    gone_over_service,
    not_synced,
    other_service,
    read_back,
    untagged_by_uid,
)

TARGETS = ("graph", "ews")
MIGRATED, ALREADY, WOULD, FAILED = "migrated", "already", "would migrate", "failed"


@dataclass(frozen=True)
class PersonMigration:
    person: str
    from_mode: str
    to_mode: str
    status: str  # migrated | already | would migrate | failed
    links: int = 0  # links naming a meeting (those the migration re-links)
    #: links naming the target service's item now (with --dry-run: would); all of them, when migrated
    relinked: int = 0
    #: booking ids whose meeting was not found over the target service as the same item: nothing was changed
    missing: tuple[int, ...] = ()
    #: meetings tagged for a linked booking beside the linked one (left to the sync, which removes duplicates)
    duplicates: int = 0
    #: booking ids whose meeting is in the mailbox no more (no meeting carries its tag: deleted in Outlook since
    #: the last pass): the link moves as it is, and the first pass over the new service settles it (the booking
    #: cancelled, or a cancellation under way found done)
    deleted: tuple[int, ...] = ()
    #: links without an item id whose meeting may exist (a create or cancel whose answer was lost; one held back
    #: since the person left the sync): they name no service's item and stay as they are; from now on they are
    #: looked up by their tag over the target service
    by_tag: int = 0
    error: str | None = None
    remedy: str | None = None


@dataclass(frozen=True)
class MigrateResult(Result):
    to: str
    dry_run: bool
    persons: tuple[PersonMigration, ...]

    @property
    def ok(self) -> bool:
        return all(p.status != FAILED for p in self.persons)

    @property
    def totals(self) -> dict[str, int]:
        statuses = (MIGRATED, ALREADY, WOULD, FAILED)
        counts = {s.replace(" ", "_"): sum(p.status == s for p in self.persons) for s in statuses}
        return counts | {
            "relinked": sum(p.relinked for p in self.persons),
            "missing": sum(len(p.missing) for p in self.persons),
        }

    def lines(self) -> list[str]:
        out = []
        for p in self.persons:
            left = p.from_mode not in SYNCED_MODES  # left the sync: its meetings' links move, its mode stays
            move = f"left the sync ({p.from_mode}): links only" if left else f"{p.from_mode} -> {p.to_mode}"
            if p.status == ALREADY:
                out.append(
                    f"{p.person}: already: the links of its meetings are {self.to}'s ({p.to_mode}, left the sync)"
                    if left
                    else f"{p.person}: already {p.to_mode}"
                )
            elif p.status == FAILED:
                out.append(
                    f"{p.person}: FAILED ({move}, not switched) {p.error}"
                    + (f" — {p.remedy}" if p.remedy else "")
                )
            else:
                out.append(f"{p.person}: {p.status} ({move}): {p.relinked} of {p.links} link(s) re-linked")
            if p.duplicates:
                out.append(f"  {p.duplicates} duplicate meeting(s) found by tag: the next sync removes them")
            if p.by_tag and p.status != FAILED:
                out.append(
                    f"  {p.by_tag} meeting(s) with no id known (a create or cancellation whose answer was lost): "
                    f"looked up by their tag over {self.to} from now on"
                )
            if p.deleted and p.status != FAILED:
                out.append(
                    f"  booking(s) {', '.join(map(str, p.deleted))}: the meeting is no longer in the calendar (deleted "
                    "in Outlook): the next sync cancels the booking(s), as any meeting deleted in Outlook"
                )
        t = self.totals
        out.append(
            f"{'dry run: ' if self.dry_run else ''}{len(self.persons)} person(s) to {self.to}: "
            f"{t['migrated']} migrated, {t['would_migrate']} would migrate, {t['already']} already, "
            f"{t['failed']} failed; {t['relinked']} link(s) re-linked, {t['missing']} missing"
        )
        return out


def target_mode(to: str, ews_mode: str = "O365") -> str:
    return GRAPH_SYNC_MODES[0] if to == "graph" else ews_mode


def migrate(
    store: Store,
    source: CalendarBackend,
    target: CalendarBackend,
    settings: Settings,
    audit: AuditLog,
    to: str,
    persons: Sequence[str] = (),
    everyone: bool = False,
    dry_run: bool = False,
    ews_mode: str = "O365",
) -> MigrateResult:
    """Migrate the named persons (or, with `everyone`, every person roomsops syncs) to `to` ("graph": sync mode
    Microsoft365; "ews": `ews_mode`, O365 or O365Pull). `source`/`target`: the backends of the service the
    persons leave and the one they move to."""
    if to not in TARGETS:
        raise InputError(f"--to must be graph or ews, got {to!r}", "give --to graph or --to ews")
    if bool(persons) == everyone:
        raise InputError(
            "give --person EMAIL (repeatable) or --all", "e.g. 'roomsops sync migrate --to graph --all'"
        )
    if ews_mode not in EWS_SYNC_MODES:
        raise InputError(
            f"--mode must be O365 or O365Pull, got {ews_mode!r}", "give --mode O365 or --mode O365Pull"
        )
    leaving = EWS_SYNC_MODES if to == "graph" else GRAPH_SYNC_MODES
    with store.write() as conn:  # the installation id is made once per database, on first use
        installation = q.installation_id(conn)
        services = q.mailbox_services(conn)
        chosen = _chosen(conn, persons, everyone)
    out: list[PersonMigration] = []
    cut: ConnectError | None = None  # the service was lost midway (token, TLS, network)
    for person in chosen:
        # There once the links are the target's ids (the service recorded for them; none recorded: resolved from
        # the ids, `_resolved_service`) and, for a synced person, the mode the target's: a person switched by
        # `persons set --sync-mode` alone has the mode, not yet the links (review24r), and is migrated as any other.
        recorded = services.get(email_key(person.email))
        unresolved = recorded is None and person.sync_mode in SYNCED_MODES
        if not unresolved and _there(person, recorded, target, settings, leaving):
            out.append(PersonMigration(person.email, person.sync_mode, person.sync_mode, ALREADY))
            continue
        if cut is not None:
            out.append(_not_tried(person, to, ews_mode, cut))
            continue
        try:
            if unresolved:
                # None recorded (synced before schema 10): resolved as a pass resolves it, never taken as the
                # target's (review24t: a person switched by `persons set` was "already" with EWS ids).
                recorded = _resolved_service(store, target, person.email)
            if unresolved and _there(person, recorded, target, settings, leaving):
                out.append(PersonMigration(person.email, person.sync_mode, person.sync_mode, ALREADY))
                continue
            # The links are read where their ids belong: the target's own are read over it.
            where = target if recorded == target.service_of(person.email) else source
            done = _person(store, where, target, settings, audit, installation, person, to, ews_mode, dry_run)
        except ConnectError as exc:
            if not any(p.status == MIGRATED for p in out):
                raise  # nothing moved yet: the service is not reached at all, exit 3 before any work
            # Persons were moved by this run: their switch stands and is reported (exit 1, not "nothing done");
            # the others are left for a rerun, which goes on with them.
            log.debug("migrate %s: the service was lost", person.email, exc_info=True)
            cut = exc
            done = _not_tried(person, to, ews_mode, exc, tried=True)
        except RoomsopsError as exc:
            done = _failed(person, to, ews_mode, exc)
        log.info(
            "sync migrate %s: %s (%s -> %s)",
            done.person,
            done.status,
            done.from_mode,
            done.to_mode,
            extra={"fields": {"event": "migrate", "person": done.person, "status": done.status}},
        )
        out.append(done)
    return MigrateResult(to=to, dry_run=dry_run, persons=tuple(out))


def _there(
    person: Person, recorded: str | None, target: CalendarBackend, settings: Settings, leaving: Sequence[str]
) -> bool:
    """Whether the person is where `--to` moves it: its links the target's ids (`recorded`; None: no link names
    an item) and, for a synced person, its mode the target's; one who left the sync, its links alone."""
    if person.sync_mode in SYNCED_MODES:
        return person.sync_mode not in leaving and recorded in (None, target.service_of(person.email))
    return (recorded or str(settings.sync.backend)) == target.service_of(person.email)


def _failed(person: Person, to: str, ews_mode: str, exc: RoomsopsError) -> PersonMigration:
    log.debug("migrate %s: failed", person.email, exc_info=True)
    gone = isinstance(exc, BackendError) and exc.reason == "mailbox_not_found"
    return PersonMigration(
        person.email,
        person.sync_mode,
        _to_mode(person, to, ews_mode),
        FAILED,
        error=f"{mailbox_gone(person.email)}; nothing was changed" if gone else exc.message,
        remedy=gone_remedy(person.email) if gone else exc.remedy,
    )


def _resolved_service(store: Store, target: CalendarBackend, mailbox: str) -> str | None:
    """The service whose ids the links of a mailbox with none recorded hold (`MailboxSync._resolved_service`'s
    rule): the target's when it reads a live link's item back under the very id, else the other; None when no
    live link names an item (nothing to move)."""
    with store.read() as conn:
        ids = [x.item_id for x in q.booking_sync_for_mailbox(conn, mailbox) if x.item_id and _live(x)]
    if not ids:
        return None
    service = target.service_of(mailbox)
    return service if read_back(target, mailbox, ids) else other_service(service)


def mailbox_gone(email: str) -> str:
    return (
        f"{email}: Exchange Online has no such mailbox (deleted, e.g. the employee left, or its address changed): "
        "no service reaches its meetings any more"
    )


def gone_remedy(email: str) -> str:
    """What to do about a person whose mailbox no longer exists: nothing reaches its meetings (they went with
    the mailbox; a room may keep its copy until it is cancelled there), so ROOMS' bookings of it are cancelled and
    the person removed without waiting for the sync; a changed address is given instead."""
    return (
        f"if the mailbox was deleted: 'roomsops persons remove {shellword(email)} --cancel-bookings --leave-meetings --yes' "
        "(cancels its bookings in ROOMS and removes it; what is left of its meetings in the rooms' calendars is "
        f"listed, to cancel there); if its address changed: 'roomsops persons set {shellword(email)} --email NEW', then "
        "migrate again"
    )


def _chosen(conn: Connection, persons: Sequence[str], everyone: bool) -> list[Person]:
    """The persons named (each once, however spelled), or with `everyone` every synced person and every person
    who left the sync whose meetings are still linked (by item id, or a create whose answer was lost, found by
    its tag): only the service their links are of reaches those (a cancellation, `sync purge`), so they move
    too. A name of no person, or of one who left the sync with no meeting linked, is refused (exit 2, nothing
    migrated)."""
    if everyone:
        return [
            p
            for p in q.list_persons(conn)
            if p.sync_mode in SYNCED_MODES or q.reachable_links_in_mailbox(conn, p.email)
        ]
    chosen: list[Person] = []
    for email in persons:
        found = q.get_person(conn, email)
        if found is None:
            raise InputError(
                f"{email} is not a known person; nothing was migrated", "see 'roomsops persons list'"
            )
        if found.sync_mode not in SYNCED_MODES and not q.reachable_links_in_mailbox(conn, found.email):
            raise InputError(
                f"{found.email} has sync mode {found.sync_mode}, which roomsops does not sync, and no meeting of "
                "it is linked; nothing was migrated",
                "migrate persons in O365, O365Pull or Microsoft365, or who left the sync with meetings",
            )
        if all(p.id != found.id for p in chosen):  # named twice (another case): migrated once
            chosen.append(found)
    return chosen


def _not_tried(
    person: Person, to: str, ews_mode: str, exc: ConnectError, tried: bool = False
) -> PersonMigration:
    """A person not moved because the service was lost midway (after others were moved): failed, with how to
    finish."""
    return PersonMigration(
        person.email,
        person.sync_mode,
        _to_mode(person, to, ews_mode),
        FAILED,
        error=exc.message if tried else f"not tried, the run stopped at an earlier person: {exc.message}",
        remedy=f"{exc.remedy + '; then ' if exc.remedy else ''}run 'roomsops sync migrate --to {to}' again: the "
        "persons migrated stay so, it goes on with the others",
    )


def _to_mode(person: Person, to: str, ews_mode: str) -> str:
    """The person's sync mode after the move: the target's; a person who left the sync keeps theirs (only the
    links of their meetings move)."""
    return target_mode(to, ews_mode) if person.sync_mode in SYNCED_MODES else person.sync_mode


def _live(link: BookingSyncState) -> bool:
    """A link that names a meeting the sync still handles (or will again, after `sync resume`)."""
    if link.item_id is None:
        return (
            False  # pending-create without an answer: the next pass looks it up by tag, over either service
        )
    return link.state not in (CANCELLED, UNLINKED) or not_synced(link)


def _settled_by_first_pass(link: BookingSyncState, booking: Booking) -> bool:
    """Whether the first pass over the new service settles the link when its meeting is gone from the mailbox as
    a pass over the old service would: its full reconciliation takes the meeting as deleted in Outlook (the
    booking cancelled), or the link is a cancellation under way, sent again by that pass (a meeting already gone
    is no error)."""
    return deleted_if_missing(link, booking) or (
        link.state == PENDING_CANCEL and booking.status == "cancelled"
    )


def _pending_update_gone(
    links: Sequence[BookingSyncState],
    bookings: dict[int, Booking],
    missing: list[int],
    tagged: dict[str, list[Meeting]],
    tags: dict[int, str],
) -> list[BookingSyncState]:
    """The `pending-update` links (a rewrite, or a tagging) still missing whose meeting no meeting carries the tag
    of, nor (with a stored UID) is found by its UID over the target: deleted in Outlook since the last pass. Their
    update intent is moot (nothing is left to write), so they move as linked ones (returned as they move): the first pass
    over the new service (a full reconciliation) cancels the booking as for any linked meeting deleted in Outlook
    (`deleted_if_missing`), and never sends the id of the old service (review24n: such a link blocked the move for
    good once EWS was off)."""
    out: list[BookingSyncState] = []
    for link in links:
        booking = bookings.get(link.booking_id)
        if (
            link.booking_id in missing
            and link.state == PENDING_UPDATE
            and booking is not None
            and not tagged.get(tags.get(link.booking_id, str(link.booking_id)))
            and deleted_if_missing(replace(link, state=LINKED), booking)
        ):
            out.append(gone_over_service(link, booking))
    return out


def _stored_uid(link: BookingSyncState) -> str | None:
    uid = (link.snapshot or {}).get("uid")
    return str(uid) if uid else None


def _by_uid(
    target: CalendarBackend, settings: Settings, mailbox: str, links: Sequence[BookingSyncState]
) -> tuple[dict[int, Meeting], set[int]]:
    """The untagged meeting the person organizes with each link's stored UID (booking id -> meeting), over the
    target, looked up as a pass relinking a mailbox looks it up (`untagged_by_uid`: the sync window widened to each
    link's slot, then the whole calendar). Also the booking ids whose UID more than one such meeting holds (left
    out: not the link's item for sure, nor proof it is gone); a UID no meeting holds is left out of both: the
    meeting was deleted."""
    now = now_utc()
    start = now - timedelta(days=settings.sync.window_days_past)
    end = now + timedelta(days=settings.sync.window_days_future)
    found = untagged_by_uid(target, mailbox, links, start, end)
    out = {booking_id: same[0] for booking_id, same in found.items() if len(same) == 1}
    return out, {booking_id for booking_id, same in found.items() if len(same) > 1}


def _changed_meanwhile(
    conn: Connection, person: Person, result: PersonMigration, to: str
) -> PersonMigration | None:
    """The person's report as failed when, in the write transaction, its sync mode is no longer the one the run
    read (taken out of the sync, switched) or it is gone or renamed: nothing of it is changed, a rerun takes it as
    it is now. None when it may be migrated."""
    current = q.get_person(conn, person.email)
    if current is not None and current.id == person.id and current.sync_mode == person.sync_mode:
        return None
    now_mode = "removed or renamed" if current is None or current.id != person.id else current.sync_mode
    return replace(
        result,
        status=FAILED,
        relinked=0,
        error=f"the person was changed while the run looked its meetings up (sync mode {person.sync_mode} -> "
        f"{now_mode}); nothing was changed",
        remedy=f"run 'roomsops sync migrate --to {to} --person {shellword(person.email)}' again: it takes the person as it "
        "is now",
    )


def _switch_mode(conn: Connection, settings: Settings, person: Person, mode: str, now: datetime) -> None:
    """The person's sync mode and sync URL (none for Microsoft365, `cloud.ews_url` for O365), nothing else of
    it; a person who left the sync keeps their mode (only the links moved)."""
    if mode != person.sync_mode:
        url = settings.cloud.ews_url if mode in EWS_SYNC_MODES else None
        q.switch_sync_mode(conn, person.id, person.sync_mode, mode, url, now)


def _person(
    store: Store,
    source: CalendarBackend,
    target: CalendarBackend,
    settings: Settings,
    audit: AuditLog,
    installation: str,
    person: Person,
    to: str,
    ews_mode: str,
    dry_run: bool,
) -> PersonMigration:
    mode = _to_mode(person, to, ews_mode)
    mailbox = person.email
    with store.read() as conn:
        links = [link for link in q.booking_sync_for_mailbox(conn, mailbox) if _live(link)]
        by_tag = len(set(q.reachable_links_in_mailbox(conn, mailbox)) - {x.booking_id for x in links})
        # Each booking's whole tag (`<id>:<key>`, or the plain id of a booking made before keys): a meeting is the
        # booking's by its whole tag, never by the id alone (a restored database gives ids again).
        bookings = {b.id: b for b in q.bookings_by_id(conn, [x.booking_id for x in links])}
        tags = {b.id: booking_tag(b.id, b.tag_key) for b in bookings.values()}
    tagged: dict[str, list[Meeting]] = {}
    for meeting in target.find_tagged(mailbox, installation) if links else []:
        if meeting.organizer in (None, mailbox.lower()) and not meeting.is_cancelled and meeting.booking_id:
            tagged.setdefault(meeting.booking_id, []).append(meeting)
    target_ids = {m.item_id for found in tagged.values() for m in found}
    # The UID the link stored with its snapshot; a link synced before UIDs were stored: its item read over the
    # service the person leaves (not those naming a target item already, nor those no meeting's tag names: there
    # is nothing to compare their UID with).
    # An untagged `pending-update` one (its tagging write lost) is read too: its UID finds it over the target,
    # and only a definite "not there" over the service its id is of takes it as deleted (review24t).
    unread = [
        x.item_id
        for x in links
        if x.item_id
        and x.item_id not in target_ids
        and not _stored_uid(x)
        and (tagged.get(tags.get(x.booking_id, str(x.booking_id))) or x.state == PENDING_UPDATE)
    ]
    sources = {m.item_id: m.uid for m in source.get(mailbox, unread)} if unread else {}
    relinked: list[BookingSyncState] = []  # links whose item id changes
    gone: list[BookingSyncState] = []  # the links of `deleted`, as they move
    confirmed = 0  # links naming the target's item already (both modes on one service: sync.backend = graph)
    missing: list[int] = []
    deleted: list[int] = []  # no meeting carries the tag: deleted in Outlook, settled by the first pass
    held: list[BookingSyncState] = []
    duplicates = 0
    for link in links:
        found = tagged.get(tags.get(link.booking_id, str(link.booking_id)), [])
        duplicates += max(0, len(found) - 1)
        if any(m.item_id == link.item_id for m in found):
            confirmed += 1
            continue
        booking = bookings.get(link.booking_id)
        # An untagged `pending-update` meeting (its tagging write lost) carries no tag by definition, whatever
        # became of its booking: it is looked up by its UID below before it is taken as deleted (review24p).
        untagged_update = link.state == PENDING_UPDATE and bool(
            _stored_uid(link) or sources.get(link.item_id or "")
        )
        if (
            not found
            and booking is not None
            and not untagged_update
            and _settled_by_first_pass(link, booking)
        ):
            # No meeting in the mailbox carries its tag: deleted in Outlook since the last pass. The first pass
            # over the new service (a full reconciliation) settles it as a pass over the old one would; that
            # needs no request to the service the person leaves (EWS may be off for the mailbox). Its id, of the
            # service the person leaves, is never sent to the new one (`gone_over_service`): a cancellation under
            # way lets go of it and is found done by its tag.
            deleted.append(link.booking_id)
            gone.append(gone_over_service(link, booking))
            continue
        uid = _stored_uid(link) or sources.get(link.item_id or "")
        same = [m for m in found if uid and m.uid == uid]
        if len(same) != 1:
            if not found and link.state == SYNC_DISABLED:
                held.append(link)
            else:
                missing.append(link.booking_id)
            continue
        relinked.append(replace(link, item_id=same[0].item_id, change_key=same[0].change_key))
    # A meeting made in Outlook that became a booking, whose tagging write was lost (`pending-update`): no meeting
    # carries the tag. It is found over the target by the UID its link stored (the very meeting: the UID is the
    # meeting's, and only untagged meetings the person organizes are looked at), so the move needs no request to
    # the service the person leaves (EWS may be off for the mailbox: review24m); the first pass over the new
    # service tags it, as a pass over the old one would have.
    untagged = [
        replace(x, snapshot={**(x.snapshot or {}), "uid": uid})
        for x in links
        if x.booking_id in missing
        and x.state == PENDING_UPDATE
        and (uid := _stored_uid(x) or sources.get(x.item_id or ""))
        and not tagged.get(tags.get(x.booking_id, str(x.booking_id)))
    ]
    found_by_uid, unsure = _by_uid(target, settings, mailbox, untagged) if untagged else ({}, set())
    relinked += [
        replace(
            x, item_id=found_by_uid[x.booking_id].item_id, change_key=found_by_uid[x.booking_id].change_key
        )
        for x in untagged
        if x.booking_id in found_by_uid
    ]
    missing = [booking_id for booking_id in missing if booking_id not in found_by_uid]
    # From `missing` to `deleted`; a UID more than one meeting holds proves nothing: missing.
    gone += _pending_update_gone(links, bookings, [b for b in missing if b not in unsure], tagged, tags)
    deleted += [booking_id for booking_id in missing if booking_id in {x.booking_id for x in gone}]
    missing = [booking_id for booking_id in missing if booking_id not in deleted]
    # A sync-disabled booking (the sync leaves it alone) whose meeting was deleted in Outlook: no pass settles it,
    # so it would block the move forever. Its link lets go of the item once the service the person leaves
    # confirms it gone; one still there over that service is missing like any other.
    if held:
        there = {m.item_id for m in source.get(mailbox, [x.item_id for x in held if x.item_id])}
        for link in held:
            if link.item_id in there:
                missing.append(link.booking_id)
            else:
                relinked.append(replace(link, item_id=None, change_key=None))
    result = PersonMigration(
        mailbox,
        person.sync_mode,
        mode,
        WOULD if dry_run else MIGRATED,
        links=len(links),
        relinked=confirmed + len(relinked),
        missing=tuple(missing),
        duplicates=duplicates,
        deleted=tuple(deleted),
        by_tag=by_tag,
    )
    if missing:
        service = "Microsoft Graph" if to == "graph" else "EWS"
        return replace(
            result,
            status=FAILED,
            relinked=0,
            error=f"the meeting(s) of booking(s) {', '.join(map(str, missing))} were not found over {service} as "
            "the linked item (by tag and UID); nothing was changed",
            remedy=f"run 'roomsops sync --person {shellword(mailbox)}' (it settles meetings deleted or re-made in Outlook), "
            "then migrate again",
        )
    if dry_run:
        return result
    with store.write() as conn:
        now = now_utc()
        # The person as it is now, in this transaction: a change made since the run read it (`persons set`, which
        # takes no lock, or ROOMS' own edit) is never undone. Its name and the rest are not written at all; a
        # sync mode changed meanwhile (a person taken out of the sync, or switched) is not overridden: nothing of
        # the person changes, and a rerun migrates it as it is now.
        changed = _changed_meanwhile(conn, person, result, to)
        if changed is not None:
            return changed
        for link in relinked + gone:
            q.save_booking_sync(conn, link, now)
        # No position carried over: the first pass over the new service reconciles every linked meeting.
        kept = q.get_mailbox_sync(conn, mailbox) or MailboxSyncState(mailbox=mailbox)
        q.save_mailbox_sync(conn, replace(kept, sync_state=None), now)
        q.record_mailbox_service(conn, mailbox, target.service_of(mailbox), now)  # the links' ids are its now
        _switch_mode(conn, settings, person, mode, now)
    audit.record(
        "sync:migrate",
        mailbox,
        {"to": to, "from_mode": person.sync_mode, "to_mode": mode},
        {"relinked": confirmed + len(relinked), "links": len(links), "duplicates": duplicates},
    )
    return result
