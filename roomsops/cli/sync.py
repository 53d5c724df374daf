"""`roomsops sync ...`: the booking ⇄ calendar sync over EWS, and its diagnostics."""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.mailbox_check import primaries_from_admin
from roomsops.cli.options import BOOKING_ID, GIVEN_TEXT, SettingValue
from roomsops.core.addresses import validate_address
from roomsops.core.errors import ConnectError, InputError, RoomsopsError
from roomsops.core.settings import Settings
from roomsops.core.templates import shellword

if TYPE_CHECKING:
    from roomsops.services.diagnose import sync_test as diagnose
    from roomsops.services.rooms import common as rooms
    from roomsops.services.sync.lock import LockTarget
else:
    diagnose = lazy("roomsops.services.diagnose.sync_test")
    rooms = lazy("roomsops.services.rooms.common")


pass_app = click.make_pass_decorator(AppContext)
#: Mailbox errors that mean the calendar service itself (EWS, Microsoft Graph) was not reached (TLS verification,
#: the network).
UNREACHABLE = frozenset({"tls_failed", "ews_connection", "graph_unreachable"})
CHANGES = (
    "created",
    "updated",
    "cancelled",
    "adopted",
    "bookings_cancelled",
    "exchange_edits",
    "bookings_created",
    "rooms_released",
    "duplicates_removed",
)


def lock_path(settings: Settings) -> LockTarget:
    """Beside an SQLite database (a file lock); a server database (PostgreSQL) holds the lock itself, so every
    spelling of its URL and every host that syncs it meet one lock (`adapters/store/runlock.py`)."""
    from roomsops.adapters.store.runlock import DatabaseLock

    url = rooms.database_url(settings)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database + ".sync.lock")
    return DatabaseLock.of(url)


def sync_lock(settings: Settings) -> contextlib.AbstractContextManager[Callable[[], bool]]:
    """The run lock of these settings' database (`lock_path`), its remedies naming the setting that places it."""
    from roomsops.services.sync.lock import database_lock_elsewhere, run_lock

    return run_lock(lock_path(settings), elsewhere=database_lock_elsewhere(settings), named=True)


def summary_path(settings: Settings) -> Path:
    """`sync.summary_file` (a folder, or a path under a file, is exit 2 naming it), else beside an SQLite
    database; for a server database, in this installation's data folder (where a relative sync.summary_file goes:
    the data folder, or the settings file's folder), named per database (server, port and database name), never
    in the shared temp folder."""
    chosen = settings.setting_path("sync.summary_file", "output")
    if chosen is not None:
        return chosen
    lock = lock_path(settings)
    if isinstance(lock, Path):
        return lock.with_name("roomsops-last-sync.json")
    return settings.resolve_path(f"roomsops-last-sync-{lock.digest}.json", "sync.summary_file").absolute()


@click.group(invoke_without_command=True)
@click.option("--person", "persons", multiple=True, metavar="EMAIL", help="Only these persons (repeatable).")
@click.option("--dry-run", is_flag=True, help="Read both sides and show what would change; change nothing.")
@click.option(
    "--concurrency",
    type=SettingValue("sync.concurrency"),
    metavar="1..32",
    help="Mailboxes in parallel (default: sync.concurrency).",
)
@click.option(
    "--full",
    is_flag=True,
    help="A full reconciliation: every meeting of this installation compared with its booking, whatever its "
    "date (also every sync.full_every passes).",
)
@click.option(
    "--worker",
    is_flag=True,
    help="Run as one of several sync workers (PostgreSQL only): claim a batch of due mailboxes, sync them, "
    "give them back.",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 10000),
    metavar="N",
    help="With --worker: mailboxes claimed at once (default 50).",
)
@click.option("--until-idle", is_flag=True, help="With --worker: claim batches until no mailbox is due.")
@click.option(
    "--name",
    metavar="NAME",
    help="With --worker: this worker's name (letters, digits, '.', '-', '_'; one per worker on a host: a second "
    "worker of a running one's name is refused): it writes its summary file for 'roomsops sync status'.",
)
@click.pass_context
def sync(
    ctx: click.Context,
    persons: tuple[str, ...],
    dry_run: bool,
    concurrency: int | None,
    full: bool,
    worker: bool,
    batch: int | None,
    until_idle: bool,
    name: str | None,
) -> int | None:
    """One bidirectional pass for every person with sync mode O365, O365Pull (over EWS) or Microsoft365 (over
    Microsoft Graph), or a subcommand."""
    if ctx.invoked_subcommand is not None:
        if persons or dry_run or concurrency or full or worker or batch or until_idle or name is not None:
            raise InputError(
                "--person, --dry-run, --concurrency, --full, --worker, --batch, --until-idle and --name belong to "
                "the sync pass itself",
                f"see 'roomsops sync {ctx.invoked_subcommand} --help'",
            )
        return None
    app = ctx.find_object(AppContext)
    assert app is not None
    if (batch is not None or until_idle or name is not None) and not worker:
        raise InputError(
            "--batch, --until-idle and --name belong to --worker", "add --worker, or leave them out"
        )
    if worker:
        if persons or dry_run or full:
            raise InputError(
                "--person, --dry-run and --full are not for a sync worker (it works the mailboxes that are due)",
                "run a plain 'roomsops sync' for those, or leave them out",
            )
        return _run_worker(app, batch, until_idle, concurrency, _worker_name(name))
    from roomsops.adapters.store import now_utc
    from roomsops.services.sync.factory import calendar_backend
    from roomsops.services.sync.run import (
        summary_for,
        sync_pass,
        write_failed_summary,
        write_running_summary,
        write_summary,
    )
    from roomsops.services.sync.worker import refuse_beside_leases

    settings = app.settings
    wanted = [validate_address(p) for p in persons]
    summary: Path | None = None
    try:
        summary = summary_for(summary_path(settings), wanted)
        # A bad setting is refused before the lock or the database exist.
        backend = calendar_backend(settings, app.ews)
        # Settings that lead to no database are not a new, empty installation that syncs "ok" (review21w):
        # the first database is made by `persons add` or `rooms add`.
        rooms.refuse_without_database(settings)
        if wanted:
            _refuse_unknown_persons(app, settings, wanted)
    except RoomsopsError as exc:
        _refused_before_starting(settings, summary, exc, wanted, dry_run)
        raise
    with sync_lock(settings) as lock_held, _terminated_as_interrupt():
        started = now_utc()
        try:
            if not dry_run:  # replaced by the final summary; a run killed before that leaves "ok": false
                write_running_summary(summary, started, wanted)
            with rooms.open_database(settings) as store:
                # Beside sync workers' live leases (one killed leaves them until they expire): refused, exit 1.
                refuse_beside_leases(store)
                # No token, no pass: the token service refusing or unreachable is exit 3 before any work, not a
                # failure repeated for every mailbox (a database without synced persons needs no token).
                synced = _synced_persons(store)
                mailboxes = [email for email, _ in synced]
                if mailboxes:
                    app.token_provider.token()
                # Per person's sync mode: Microsoft365 over Graph, O365/O365Pull over EWS, in this one pass.
                backend = calendar_backend(settings, app.ews, synced, _services(store))
                if wanted:
                    mailboxes = [m for m in mailboxes if m.casefold() in {w.casefold() for w in wanted}]
                with app.progress("sync", len(mailboxes)) as progress:
                    result = sync_pass(
                        store,
                        backend,
                        settings,
                        app.audit,
                        wanted,
                        dry_run,
                        concurrency or settings.sync.concurrency,
                        progress.advance,
                        full,
                        lock_held=lock_held,
                    )
        except BaseException as exc:
            # Whatever stopped the run (token, TLS, database, a signal, a crash): the summary says so.
            if not dry_run:
                write_failed_summary(summary, started, exc, wanted)
            raise
        if not dry_run:
            write_summary(summary, result)
    _refuse_unreachable(result.mailboxes)
    return app.emit(result)


def _refuse_unreachable(mailboxes: Sequence[Any]) -> None:
    """EWS or Graph could not be reached (TLS, network) for any mailbox before any work: exit 3, like the token
    service (a plain sync and a worker alike, review27s)."""
    unreachable = [m for m in mailboxes if m.error_code in UNREACHABLE and not _changed(m)]
    if mailboxes and len(unreachable) == len(mailboxes):
        first = unreachable[0]
        raise ConnectError(
            first.error or "the calendar service could not be reached", first.remedy, code=first.error_code
        )


_WORKER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _worker_name(name: str | None, names: str = "the worker's summary file") -> str | None:
    """`--name`: a worker's name, part of its summary file's name (`names`: what else it names; exit 2
    otherwise)."""
    if name is None or _WORKER_NAME.fullmatch(name):
        return name
    raise InputError(
        f"--name {name!r} is not a worker name: it names {names}",
        "give 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit, e.g. --name host1-a",
        code="bad_worker_name",
    )


def _run_worker(
    app: AppContext, batch: int | None, until_idle: bool, concurrency: int | None, name: str | None = None
) -> int:
    """`sync --worker`: one of several workers on a PostgreSQL database (`services/sync/worker.py`). Holds the run
    lock shared (workers run together; a plain sync is refused beside them). With `name`, writes its own summary
    file beside the full run's (`worker_summary_for`): "running" once it holds the lock, then how it ended (a
    worker killed leaves "running", which `sync status` tells from one still running by the database's lock). The
    name is held for the run (`worker_name_lock`): a second worker of a running one's name is refused, exit 2."""
    from roomsops.adapters.store import now_utc
    from roomsops.services.sync.factory import calendar_backend
    from roomsops.services.sync.lock import WORKER, run_lock, worker_name_lock
    from roomsops.services.sync.run import (
        worker_summary_for,
        write_failed_summary,
        write_running_summary,
        write_summary,
    )
    from roomsops.services.sync.worker import (
        DEFAULT_BATCH,
        refuse_on_sqlite,
        refuse_short_lease,
        worker_run,
    )

    settings = app.settings
    summary = worker_summary_for(summary_path(settings), name) if name else None
    try:
        refuse_on_sqlite(rooms.database_url(settings).get_backend_name() == "postgresql")
        refuse_short_lease(settings)
        calendar_backend(settings, app.ews)  # a bad setting is refused before the database is opened
    except RoomsopsError as exc:
        _worker_refused_before_starting(summary, name, exc)
        raise
    named = worker_name_lock(summary, name) if summary is not None and name else contextlib.nullcontext()
    with named, run_lock(lock_path(settings), WORKER) as lock_held, _terminated_as_interrupt():
        started = now_utc()
        try:
            if summary is not None:
                write_running_summary(summary, started)
            with rooms.open_database(settings) as store:
                synced = _synced_persons(store)
                if synced:
                    app.token_provider.token()
                backend = calendar_backend(settings, app.ews, synced, _services(store))
                result = worker_run(
                    store,
                    backend,
                    settings,
                    app.audit,
                    batch=batch or DEFAULT_BATCH,
                    until_idle=until_idle,
                    concurrency=concurrency or settings.sync.concurrency,
                    lock_held=lock_held,
                )
        except BaseException as exc:
            if summary is not None:
                write_failed_summary(summary, started, exc)
            raise
        if summary is not None:
            write_summary(summary, result, {"worker": name})
    _refuse_unreachable(result.mailboxes)
    return app.emit(result)


def _refused_before_starting(
    settings: Settings, summary: Path | None, exc: RoomsopsError, wanted: list[str], dry_run: bool
) -> None:
    """A run refused before it starts (RoomsAppSettings.config gone or without its secret, a bad setting) is the
    last run all the same: the log file says why (a scheduled task's stderr goes nowhere), and a summary file
    that exists says "ok": false with the error, so that `sync status` does not report the last success. A
    summary is not created where there was none (a refused command creates nothing; `sync status` reports "no
    run recorded" then), and not replaced while another run holds the lock (its own summary is the current one)."""
    from roomsops.adapters.store import now_utc
    from roomsops.core.logs import log
    from roomsops.services.sync.run import write_failed_summary

    log.error("sync%s refused before starting: %s", " (dry run)" if dry_run else "", exc.one_line())
    if dry_run or summary is None or not summary.is_file():
        return
    with contextlib.suppress(RoomsopsError, OSError):
        lock = lock_path(settings)
        if not isinstance(lock, Path) or lock.parent.is_dir():  # never made here for this
            with sync_lock(settings):
                write_failed_summary(summary, now_utc(), exc, wanted, logged=True)


def _worker_refused_before_starting(summary: Path | None, name: str | None, exc: RoomsopsError) -> None:
    """A named worker refused before it starts (a bad setting) is its last run all the same, as a plain sync's
    (`_refused_before_starting`, review27s): its summary file, if it has one, says "ok": false with the error, so
    `sync status` does not report its last success. Written holding the worker's name (never while a worker of
    that name runs: its own summary is the current one); nothing is created where there was none."""
    from roomsops.adapters.store import now_utc
    from roomsops.core.logs import log
    from roomsops.services.sync.lock import worker_name_lock
    from roomsops.services.sync.run import write_failed_summary

    log.error("sync worker refused before starting: %s", exc.one_line())
    if summary is None or not name or not summary.is_file():
        return
    with contextlib.suppress(RoomsopsError, OSError), worker_name_lock(summary, name):
        write_failed_summary(summary, now_utc(), exc, logged=True)


def _refuse_leased(store: Any, mailboxes: list[str] | None, command: str) -> None:
    """A command that writes to persons' mailboxes under the run lock (`sync purge`, `resolve`, `migrate`) refuses
    the mailboxes sync workers hold live leases on (a killed worker's, until they expire; exit 1): their pending
    intents are the business of the lease's next owner. `mailboxes` None: every mailbox."""
    from roomsops.services.sync.worker import refuse_beside_leases

    refuse_beside_leases(
        store,
        mailboxes,
        f"'roomsops {command}' does not write beside them; nothing was changed",
        f"'roomsops {command}' again",
    )


def _organizer(store: Any, booking: int) -> list[str]:
    from roomsops.adapters.store import queries as q

    with store.read() as conn:
        found = q.get_booking(conn, booking)
    return [found.organizer] if found is not None else []


def _synced_persons(store: Any) -> list[tuple[str, str]]:
    """(email, sync mode) of every person roomsops syncs (over EWS or Graph, per mode)."""
    from roomsops.adapters.store import list_persons
    from roomsops.core.vocabulary import SYNCED_MODES

    with store.read() as conn:
        return [(p.email, p.sync_mode) for p in list_persons(conn, sync_modes=SYNCED_MODES)]


def _services(store: Any) -> dict[str, str]:
    """The service ("ews" or "graph") each mailbox was last synced over: a person who left the sync is reached
    over it."""
    from roomsops.adapters.store import mailbox_services

    with store.read() as conn:
        return mailbox_services(conn)


def _refuse_unknown_persons(app: AppContext, settings: Any, wanted: list[str]) -> None:
    """`--person` of an address the database does not know: exit 2 before the pass (not "not handled")."""
    with rooms.open_database(settings) as store:
        _refuse_unknown_in(app, store, wanted, "nothing was synced")


def _refuse_unknown_in(
    app: AppContext, store: Any, wanted: list[str], consequence: str, ask_exchange: bool = True
) -> None:
    """Exit 2 naming each address of `wanted` that is no person of the database, and what it is instead: a room,
    an alias of a person (named by its primary address) or of a room, a mailbox not yet a person (asked of EWS,
    ResolveNames, unless `ask_exchange` is False: EWS is not to be asked), or else nothing known (with the closest
    person). Each remedy fits its case: a room or an alias is never sent to `persons add`, which would record it as
    a person."""
    from roomsops.adapters.store import list_persons, list_rooms
    from roomsops.core.addresses import closest

    with store.read() as conn:
        persons = {p.email.casefold(): p.email for p in list_persons(conn)}
        rooms_known = {r.email.casefold(): r.email for r in list_rooms(conn)}
    unknown = [p for p in wanted if p.casefold() not in persons]
    if not unknown:
        return
    said: list[str] = []
    remedies: list[str] = []
    for address in unknown:
        room = rooms_known.get(address.casefold())
        primary = None if room is not None or not ask_exchange else _mailbox_of(app, address)
        room = room or (rooms_known.get(primary.casefold()) if primary else None)
        person = persons.get(primary.casefold()) if primary else None
        if room is not None:
            alias = "" if room.casefold() == address.casefold() else f" (an alias of {room})"
            said.append(f"{address} is a room{alias}, not a person")
            remedies.append(
                "a room's bookings are synced in the passes of the persons who organize them: give a person "
                "('roomsops persons list' lists them)"
            )
        elif person is not None:
            said.append(f"{address} is an alias of the person {person}")
            remedies.append(f"use the person's primary address: --person {shellword(person)}")
        elif primary is not None:
            named = "a mailbox" if primary.casefold() == address.casefold() else f"the mailbox {primary}"
            said.append(f"{address} is {named} that is neither a person nor a room of ROOMS")
            remedies.append(
                f"add it with 'roomsops persons add {shellword(primary)}' if it is a person's mailbox, or with 'roomsops "
                f"rooms add {shellword(primary)} --name NAME' if it is a room's (each checks the mailbox's kind in Exchange)"
            )
        else:
            near = closest(address, list(persons.values()))
            said.append(f"{address} is not a known person" + (f" (closest: {near})" if near else ""))
            remedies.append(
                "see 'roomsops persons list' for the persons' addresses (a person is known by the primary SMTP "
                "address of its mailbox, not an alias)"
            )
    raise InputError(
        f"{'; '.join(said)}; {consequence}", "; ".join(dict.fromkeys(remedies)), code="unknown_person"
    )


def _mailbox_of(app: AppContext, address: str) -> str | None:
    """The primary SMTP address of the mailbox `address` names (EWS ResolveNames), or None: no such mailbox, or EWS
    could not be asked (the refusal then says what the database knows)."""
    try:
        primary = app.ews.resolve_primary(address)
    except RoomsopsError:
        return None
    return primary or None


@contextmanager
def _terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM raises `Terminated` (a KeyboardInterrupt) in the main thread while the pass runs, so the pass
    stops between mailboxes and the summary is written, as with Ctrl-C. SIGHUP (the terminal or SSH session that
    started it closed; its default action would end the process mid-write) is taken as SIGTERM, as `roomsops
    serve` takes it. Windows has no SIGHUP."""
    from roomsops.core.errors import Terminated

    def stop(signum: int, frame: object) -> None:
        raise Terminated()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hang_up = getattr(signal, "SIGHUP", None)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, *([hang_up] if hang_up else []))}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _changed(report: Any) -> bool:
    """Whether a mailbox's pass changed anything (on either side) before it failed."""
    return any(getattr(report, key) for key in CHANGES)


@sync.command("status")
@click.option(
    "--max-age",
    metavar="AGE",
    help="Exit 1 when the last full run started longer ago than this: minutes, or e.g. 90m, 2h, 1d.",
)
@pass_app
def status_cmd(app: AppContext, max_age: str | None) -> int:
    """The last sync runs (from the summary files) with their age and failures; exit 1 when the last full run
    failed, is missing, or is older than --max-age (for a scheduler's or monitor's check)."""
    from roomsops.adapters.store.runlock import database_workers_ran
    from roomsops.services.diagnose.sync_status import parse_age, read_status
    from roomsops.services.sync.lock import lock_holder, lock_holders
    from roomsops.services.sync.run import summary_for, worker_summaries

    limit = parse_age(max_age) if max_age is not None else None
    full = summary_path(app.settings)
    lock = lock_path(app.settings)
    return app.emit(
        read_status(
            full,
            summary_for(full, ["person"]),
            limit,
            holder=lambda: lock_holder(lock),
            workers=worker_summaries(full),
            holders=lambda: lock_holders(lock),
            workers_ran=None if isinstance(lock, Path) else lambda: database_workers_ran(lock),
        )
    )


@sync.command("test")
@click.argument("email")
@click.option(
    "--write-probe",
    is_flag=True,
    help="Graph: also create an event (no attendee) in the calendar and delete it again.",
)
@pass_app
def test_cmd(app: AppContext, email: str, write_probe: bool) -> int:
    """ROOMS' sync test for one mailbox over the service its sync mode uses: EWS (O365, O365Pull: token, EWS
    connection, impersonation, address, calendar, subscription) or Microsoft Graph (Microsoft365: token roles,
    user lookup, address, calendar read, with --write-probe a probe write)."""
    from roomsops.services.diagnose import graph_test

    address = validate_address(email)
    modes = rooms.person_modes(app.settings)
    mode = graph_test.mode_of(modes, address)
    if graph_test.uses_graph(app.settings, mode):
        report = graph_test.graph_sync_test(
            app.settings,
            app.graph_token_provider,
            lambda: app.graph,
            address,
            write_probe,
            mode,
            None if modes is None else {a.casefold(): a for a in modes},
        )
        return app.emit(report)
    report = diagnose.sync_test(
        app.settings,
        app.token_provider,
        lambda: app.ews,
        address,
        primaries=lambda addresses: primaries_from_admin(app, addresses),
    )
    if write_probe:
        report = replace(
            report,
            notes=(
                *report.notes,
                "--write-probe applies to Microsoft365 persons (Graph); over EWS the pull subscription is the "
                "write the test makes",
            ),
        )
    return app.emit(report)


@sync.command("migrate")
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Choice(["graph", "ews"]),
    help="graph: sync mode Microsoft365 (Microsoft Graph); ews: O365 or O365Pull (--mode).",
)
@click.option("--person", "persons", multiple=True, metavar="EMAIL", help="This person (repeatable).")
@click.option("--all", "everyone", is_flag=True, help="Every person roomsops syncs.")
@click.option(
    "--mode",
    "ews_mode",
    type=click.Choice(["O365", "O365Pull"]),
    default="O365",
    show_default=True,
    help="The EWS sync mode persons get with --to ews.",
)
@click.option("--dry-run", is_flag=True, help="Find every linked meeting over the target; change nothing.")
@pass_app
def migrate_cmd(
    app: AppContext, to: str, persons: tuple[str, ...], everyone: bool, ews_mode: str, dry_run: bool
) -> int:
    """Move persons between EWS (O365/O365Pull) and Microsoft Graph (Microsoft365): every linked meeting is found
    again by its tag over the target service and checked to be the same item (its UID) before the links and the
    person's sync mode are switched; nothing is re-created. Killed or failing midway, run it again: it goes on."""
    from roomsops.services.sync.factory import (
        EWS,
        GRAPH,
        backend_for_mode,
        calendar_backend,
        ews_backend,
        graph_backend,
    )
    from roomsops.services.sync.migrate import migrate, target_mode

    settings = app.settings
    wanted = [validate_address(p) for p in persons]
    if bool(wanted) == everyone:
        raise InputError(
            "give --person EMAIL (repeatable) or --all", "e.g. 'roomsops sync migrate --to graph --all'"
        )
    if to == "graph" and ews_mode != "O365":
        raise InputError("--mode belongs to --to ews", "leave --mode out with --to graph")
    kind = backend_for_mode(settings, target_mode(to, ews_mode))
    # Bad settings (e.g. sync.send_invitations = none for Graph) are refused before the lock or database exist.
    target = (graph_backend if kind == GRAPH else ews_backend)(settings, app.ews)
    rooms.refuse_without_database(settings)  # no new, empty installation "migrated ok" (review21y)
    with sync_lock(settings), rooms.open_database(settings) as store:
        # The database only (a typo is exit 2 before any request; no EWS lookup from a command whose point is
        # leaving EWS): an unknown address is refused by migrate(), the person named once however spelled.
        synced = _synced_persons(store)
        _refuse_leased(store, None if everyone else wanted, "sync migrate")
        if synced:
            app.token_provider.token()  # no token, no migration: exit 3 before any work
        # Each person's links are read where their ids belong: the service recorded for them (a person switched
        # by `persons set --sync-mode` alone is still of the old one: review24r); none recorded, the one --to
        # leaves (links found to be the target's are read over the target: `migrate._resolved_service`).
        services = _services(store)
        leaves = GRAPH if kind == EWS else EWS
        unrecorded = {email.lower(): leaves for email, _ in synced if email.lower() not in services}
        source = calendar_backend(settings, app.ews, (), {**services, **unrecorded})
        result = migrate(store, source, target, settings, app.audit, to, wanted, everyone, dry_run, ews_mode)
    return app.emit(result)


@sync.command("purge")
@click.option(
    "--person", required=True, metavar="EMAIL", help="The person leaving the sync (an alias is taken)."
)
@click.option("--dry-run", is_flag=True, help="List the meetings it would cancel; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Confirm without asking.")
@pass_app
def purge_cmd(app: AppContext, person: str, dry_run: bool, yes: bool) -> int:
    """Cancel the meetings this installation created in PERSON's calendar, and hold PERSON's bookings back from
    the sync until 'roomsops sync resume --person PERSON'."""
    from datetime import timedelta

    from roomsops.adapters.store import now_utc
    from roomsops.services.sync.factory import calendar_backend
    from roomsops.services.sync.run import purge

    address = validate_address(person)
    settings = app.settings
    calendar_backend(settings, app.ews)  # refuses a bad setting before the lock or database exist
    rooms.refuse_without_database(settings)  # no person to purge where no database is (review21y)
    with sync_lock(settings), rooms.open_database(settings) as store:
        address = _primary(app, store, address)
        _refuse_leased(store, [address], "sync purge")
        backend = calendar_backend(settings, app.ews, _synced_persons(store), _services(store))
        now = now_utc()
        window = (
            now - timedelta(days=settings.sync.window_days_past),
            now + timedelta(days=settings.sync.window_days_future),
        )
        result = purge(store, backend, address, app.audit, lambda q: app.confirm(q, yes), dry_run, window)
    return app.emit(result)


#: EWS's answers that refuse the sync app (EWS off for the tenant or the mailbox, the app not allowed, the access
#: policy): an alias cannot be resolved, which says nothing about the address given.
_EWS_REFUSALS = frozenset(
    {"ews_disabled", "ews_app_not_allowed", "denied_by_policy", "access_denied", "impersonation_denied"}
)


def _primary(app: AppContext, store: Any, address: str, offline: bool = False) -> str:
    """The person's address as the database and the sync know it: a known person's own, or the primary SMTP
    address of the mailbox an alias belongs to (asked of EWS, ResolveNames). Only EWS resolves aliases (Graph finds
    a user by id or userPrincipalName, not by a proxy address): when no person is reached over EWS, or EWS refuses
    the sync app (switched off), an address that is no known person is refused (exit 2, naming the closest person)
    rather than asking the administrator to turn EWS on for persons who do not use it (review20f). `offline`: the
    command needs no Exchange, so an address that is no person while EWS cannot be reached is bad input (exit 2),
    not exit 3."""
    from roomsops.adapters.store import get_person, list_rooms

    with store.read() as conn:
        known = get_person(conn, address)
        rooms_known = {r.email.casefold() for r in list_rooms(conn)}
    if known is not None:
        return known.email
    if address.casefold() in rooms_known:  # a room is no person, whatever EWS resolves it to (review20g)
        _refuse_unknown_in(app, store, [address], "nothing was changed", ask_exchange=False)
    from roomsops.core.calendar import BackendError

    if not _reached_over_ews(app, store):
        _refuse_unknown_in(
            app,
            store,
            [address],
            "nothing was changed (an alias is resolved with EWS, and no person is synced over EWS: give the "
            "person's primary address)",
            ask_exchange=False,
        )
    try:
        primary = app.ews.resolve_primary(address)
    except ConnectError as exc:
        if not offline:
            raise
        raise InputError(
            f"{address} is not a known person, and whether it is an alias of one could not be asked of Exchange "
            f"({exc.message}); nothing was changed",
            "give the person's address as 'roomsops persons list' shows it",
            code="unknown_person",
        ) from None
    except BackendError as exc:
        if exc.reason in _EWS_REFUSALS:
            _refuse_unknown_in(
                app,
                store,
                [address],
                f"nothing was changed (an alias is resolved with EWS, which refused: {exc.message}; give the "
                "person's primary address)",
                ask_exchange=False,
            )
        if exc.reason != "mailbox_not_found":
            raise
        raise InputError(
            f"{address} is not a known person, and no mailbox has that address; nothing was changed",
            "check the address ('roomsops persons list' lists the persons)",
            code="person_not_found",
        ) from None
    if primary:
        with store.read() as conn:
            known = get_person(conn, primary)
        if known is None and primary.casefold() in rooms_known:  # an alias of a room
            _refuse_unknown_in(app, store, [address], "nothing was changed")
        return known.email if known is not None else primary.lower()
    return address


def _reached_over_ews(app: AppContext, store: Any) -> bool:
    """Whether any person's mailbox is synced over EWS, or was last synced over it (a person who left the sync)."""
    from roomsops.services.sync.factory import EWS, backend_for_mode

    return any(backend_for_mode(app.settings, mode) == EWS for _, mode in _synced_persons(store)) or (
        EWS in _services(store).values()
    )


@sync.command("resume")
@click.option("--person", required=True, metavar="EMAIL", help="The person whose bookings are synced again.")
@pass_app
def resume_cmd(app: AppContext, person: str) -> int:
    """Sync PERSON's bookings again after 'sync purge' (or after the person left the sync): the next pass makes
    their meetings."""
    from roomsops.services.sync.run import resume

    address = validate_address(person)
    rooms.refuse_without_database(app.settings)  # no person to resume where no database is (review21y)
    with sync_lock(app.settings), rooms.open_database(app.settings) as store:
        return app.emit(resume(store, _primary(app, store, address, offline=True), app.audit))


@sync.command("diff")
@click.option("--person", type=GIVEN_TEXT, metavar="EMAIL", help="Only this person's bookings.")
@pass_app
def diff_cmd(app: AppContext, person: str | None) -> int:
    """List the bookings whose ROOMS and Exchange states differ (both changed, or room/attendees in Outlook), and
    the conflicts under way with their attempts (SyncConflictBehaviour)."""
    from roomsops.services.sync.resolve import diff

    sync = app.settings.sync
    where = validate_address(person) if person else None
    with rooms.open_database(app.settings, existing_only=True) as store:
        if where is not None:  # an address that is no person has no differences: a typo, not "all is well"
            _refuse_unknown_in(app, store, [where], "nothing to list")
        return app.emit(diff(store, where, sync.rollback_attempts, sync.cancel_attempts))


@sync.command("resolve")
@click.argument("booking", type=BOOKING_ID)
@click.option(
    "--use",
    "use",
    required=True,
    type=click.Choice(["exchange", "rooms", "ignore"]),
    help="Which side's state both sides take (ignore: leave both as they are).",
)
@pass_app
def resolve_cmd(app: AppContext, booking: int, use: str) -> int:
    """Settle a booking's difference: both sides take the chosen state."""
    from roomsops.services.sync.factory import calendar_backend
    from roomsops.services.sync.resolve import resolve

    rooms.refuse_without_database(app.settings)  # no booking to resolve where no database is (review21y)
    with sync_lock(app.settings), rooms.open_database(app.settings) as store:
        _refuse_leased(store, _organizer(store, booking), "sync resolve")
        backend = (
            calendar_backend(app.settings, app.ews, _synced_persons(store), _services(store))
            if use != "ignore"
            else None
        )
        return app.emit(resolve(store, backend, booking, use, app.audit))
