"""`scripts/bench --only series`: what series cost the sync, per mailbox, over EWS and over Graph (issue 25:
"a no-op pass with series stays ≤ 1.05 requests per mailbox").

Each backend gets mailboxes of its own (`--series-mailboxes`), each with `--series-each` weekly series of 12
occurrences in Europe/Zurich (every other one with one occurrence moved a day later and one cancelled: written as
exceptions) beside `--series-singles` single bookings and `--foreign` other appointments. Passes: the initial one
(every series written: master, then exceptions), one reading the rooms' answers, then a no-op pass (nothing
changed) — requests counted by the lab (EWS) or by the sync's own report (Graph: a request inside a $batch is no
round trip of its own)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ZONE = "Europe/Zurich"
OCCURRENCES = 12
#: The issue's target for a no-op pass (requests per mailbox).
NOOP_TARGET = 1.05


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--series-mailboxes", type=int, default=20, help="series: mailboxes per backend")
    parser.add_argument("--series-each", type=int, default=2, help="series: weekly series per mailbox")
    parser.add_argument("--series-singles", type=int, default=2, help="series: single bookings per mailbox")


def seed_series(url: str, mailboxes: list[str], rooms: list[str], each: int, start: datetime) -> int:
    """`each` weekly series per mailbox, straight into the ROOMS database (persons and rooms already there): each
    on its own room and hour, every other one with its third occurrence moved a day later and its fifth
    cancelled. The number of series."""
    from roomsops.adapters.store import NewBooking, NewSeries, now_utc, open_store
    from roomsops.adapters.store import queries as q
    from roomsops.core.recurrence import NUMBERED, WEEKDAYS, WEEKLY, Pattern, Range, Recurrence
    from roomsops.services.rooms import series as repeats

    tz = ZoneInfo(ZONE)
    store = open_store(url)
    made = 0
    try:
        with store.write() as conn:
            now = now_utc()
            room_ids = {room.email.lower(): room.id for room in q.list_rooms(conn)}
            persons = {p.email.lower(): p.id for p in q.list_persons(conn)}
            horizon = repeats.horizon_date(tz, 365, now)
            slot = 0
            for mailbox in mailboxes:
                for index in range(each):
                    room = room_ids[rooms[slot % len(rooms)].lower()]
                    first = start + timedelta(hours=slot // len(rooms))
                    local = first.astimezone(tz)
                    rec = Recurrence(
                        Pattern(WEEKLY, 1, (WEEKDAYS[local.weekday()],)),
                        Range(NUMBERED, local.date(), number_of_occurrences=OCCURRENCES),
                        ZONE,
                    )
                    end = first + timedelta(minutes=50)
                    occurrences = list(repeats.plan(rec, first, end, tz, horizon, 365))
                    if index % 2 == 0:
                        moved = occurrences[2]
                        day = timedelta(days=1)
                        occurrences[2] = replace(
                            moved, start=moved.start + day, end=moved.end + day, moved=True
                        )
                        occurrences[4] = replace(occurrences[4], status="cancelled")
                    booking_id = q.insert_booking(
                        conn,
                        NewBooking(
                            organizer_id=persons[mailbox.lower()],
                            room_id=room,
                            title=f"Jour fixe {index}",
                            start=occurrences[0].original_start,
                            end=occurrences[0].original_start + timedelta(minutes=50),
                        ),
                        now,
                    )
                    last = occurrences[-1].original_start.astimezone(tz).date()
                    q.save_series(
                        conn, booking_id, NewSeries(rec.pattern, rec.range, ZONE, last, tuple(occurrences))
                    )
                    slot += 1
                    made += 1
    finally:
        store.close()
    return made


def series_figures(
    lab: Any,
    env: dict[str, str],
    work: Path,
    rooms: list[str],
    start: datetime,
    args: argparse.Namespace,
    helpers: dict[str, Callable[..., Any]],
) -> dict[str, Any]:
    """The initial and no-op passes with series, over EWS and over Graph (each its own mailboxes and database; the
    Graph series two days after the EWS ones, so no room holds both at once)."""
    domain = lab.info["tenant"]["domain"]
    figures: dict[str, Any] = {}
    for offset, protocol in enumerate(("ews", "graph")):
        mailboxes = [f"series{protocol}{i:04d}@{domain}" for i in range(args.series_mailboxes)]
        helpers["seed_lab"](lab, mailboxes, [], args.foreign, start - timedelta(days=5))
        database = f"sqlite:///{work / f'rooms-series-{protocol}.db'}"
        # Days of the week: EWS series on day 0 (moved occurrences on day 1), Graph's on day 2 (3), single
        # bookings on day 4 (EWS) and 5 (Graph): no room holds two of them at once. The rooms are made in this
        # database first, with the single bookings.
        helpers["seed_database"](
            database, mailboxes, rooms, args.series_singles, start + timedelta(days=4 + offset)
        )
        series = seed_series(database, mailboxes, rooms, args.series_each, start + timedelta(days=2 * offset))
        run_env = env | {"ROOMSOPS_ROOMS_DATABASE": database}
        if protocol == "graph":
            run_env |= {"ROOMSOPS_SYNC_BACKEND": "graph"}
        run = helpers["run_sync"]
        n, c = len(mailboxes), args.concurrency
        print(f"series over {protocol}: initial pass ({series} series)", flush=True)
        initial = run(lab, run_env, "initial", n, c, protocol=protocol)
        helpers["answer_rooms_now"](lab)
        answers = run(lab, run_env, "room answers", n, c, protocol=protocol)
        noop = run(lab, run_env, "no-op", n, c, protocol=protocol)
        figures[protocol] = {
            "mailboxes": n,
            "series": series,
            "series_with_exceptions": (args.series_each + 1) // 2 * n,
            "single_bookings": args.series_singles * n,
            "passes": {
                p.label: {
                    "requests": p.ews,
                    "requests_per_mailbox": round(p.per_mailbox, 2),
                    "writes": p.writes,
                    "exit_code": p.exit_code,
                    "created": p.totals.get("created", 0),
                    "updated": p.totals.get("updated", 0),
                    "unchanged": p.totals.get("unchanged", 0),
                    "failures": p.totals.get("failures", 0),
                    "wall_seconds": round(p.wall, 2),
                }
                for p in (initial, answers, noop)
            },
        }
    return figures


def report(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    print(
        f"\nseries: {args.series_mailboxes} mailboxes per backend × {args.series_each} weekly series of "
        f"{OCCURRENCES} (every other one with a moved and a cancelled occurrence) + {args.series_singles} single "
        f"bookings, {args.foreign} other appointments each"
    )
    print(f"{'backend':8} {'pass':13} {'requests':>9} {'per mailbox':>12} {'writes':>7} {'exit':>5}")
    rows = []
    for protocol, found in figures.items():
        for label, p in found["passes"].items():
            print(
                f"{protocol:8} {label:13} {p['requests']:>9} {p['requests_per_mailbox']:>12} {p['writes']:>7} "
                f"{p['exit_code']:>5}"
            )
        noop = found["passes"]["no-op"]["requests_per_mailbox"]
        rows.append(
            (f"series no-op pass, {protocol} (requests per mailbox)", noop, NOOP_TARGET, noop <= NOOP_TARGET)
        )
    for name, value, target, met in rows:
        print(f"{name}  {value}  target ≤ {target}  {'met' if met else 'NOT MET'}")
    if args.json:
        document = {
            "parameters": vars(args) | {"json": str(args.json)},
            "series": figures,
            "targets": [{"figure": n, "value": v, "target": t, "met": m} for n, v, t, m in rows],
        }
        args.json.write_text(json.dumps(document, indent=2))
        print(f"\nfigures written to {args.json}")
