"""`scripts/bench --workers 1,2,4 --database postgresql+psycopg://...` (issue 27 item 5): sync workers on PostgreSQL
over many lab mailboxes.

One lab (in this process) holds `--mailboxes` user mailboxes (EWS), their rooms, `--foreign` appointments each
that are not bookings; the ROOMS database is a schema of its own in the named PostgreSQL database (dropped at the
end), seeded with the persons and `--bookings` bookings each. An initial round (the largest worker count) makes
the meetings; the rooms' answers are given and read by a second round. Then, for each worker count N, every mailbox
is made due and N `roomsops sync --worker --until-idle` processes run at once: the no-op round. Measured per round:
the lab's requests per mailbox (EWS HTTP requests), calendar writes, the workers' own statements to the database
(SQLAlchemy's cursor executions, counted in each worker process) and commits, mailboxes synced more than once
(duplicates) or not at all, collided claims (claims beyond the mailboxes claimed: two workers holding one mailbox),
leases lost, wall time, and the modelled time at `--rtt-ms` (each worker's requests one round trip each,
`--concurrency` at a time: `requests × RTT / concurrency`, the round lasting as long as its slowest worker). Also
the lab's start-up, seeding time and memory (this process's RSS: the lab and its tenant), and the meetings in the
lab (each booking's meeting once: duplicates 0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Each worker counts its own statements and commits on every SQLAlchemy engine, and reports its peak RSS.
_LAUNCH = (
    "import atexit, runpy, sys\n"
    "from sqlalchemy import event\n"
    "from sqlalchemy.engine import Engine\n"
    "counts = {'statements': 0, 'commits': 0}\n"
    "@event.listens_for(Engine, 'before_cursor_execute')\n"
    "def _statement(*args, **kwargs):\n"
    "    counts['statements'] += 1\n"
    "@event.listens_for(Engine, 'commit')\n"
    "def _commit(*args, **kwargs):\n"
    "    counts['commits'] += 1\n"
    "def report():\n"
    "    sys.stderr.write('BENCH_DB %d %d\\n' % (counts['statements'], counts['commits']))\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('BENCH_PEAK_KB ' + line.split()[1] + '\\n')\n"
    "atexit.register(report)\n"
    "sys.argv = ['roomsops', *sys.argv[1:]]\n"
    "runpy.run_module('roomsops', run_name='__main__', alter_sys=True)\n"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", help="worker counts of the no-op rounds, e.g. 1,2,4 (runs this benchmark alone)"
    )
    parser.add_argument(
        "--database",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="with --workers: the PostgreSQL database (a schema of its own is made in it and dropped)",
    )
    parser.add_argument("--batch", type=int, default=50, help="with --workers: each worker's --batch")
    parser.add_argument(
        "--kill-lease",
        type=int,
        default=0,
        metavar="SECONDS",
        help="with --workers: a last round with a new booking per mailbox, the largest worker count, one worker "
        "SIGKILLed midway (half the mailboxes done), sync.worker_lease this long (124 or more): when its "
        "mailboxes are taken over, and that nothing is duplicated (0: no such round)",
    )
    parser.add_argument(
        "--kill-only",
        action="store_true",
        help="with --kill-lease: the kill round alone (no initial, room-answer or no-op round before it), so it is "
        "each mailbox's first pass (its bookings' creates); for a large --mailboxes where every round takes long",
    )
    parser.add_argument(
        "--rooms",
        type=int,
        default=100,
        help="with --workers: ROOMS rooms (each pass reads them all per mailbox)",
    )


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def schema_url(database: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(database)
    return url.set(query={**url.query, "options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def admin_sql(
    database: str, statement: str, schema: str | None = None, params: tuple[Any, ...] | None = None
) -> list[tuple[Any, ...]]:
    """`statement` ({} names `schema`, quoted as an identifier; %s its `params`) in its own autocommit
    connection."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    libpq = make_url(database).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        query = sql.SQL(statement).format(sql.Identifier(schema)) if schema else sql.SQL(statement)
        cur = conn.execute(query, params)
        return list(cur.fetchall()) if cur.description else []


def run_round(
    lab: Any, env: dict[str, str], label: str, workers: int, mailboxes: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """Every mailbox due now; `workers` workers at once until none is due; the round's figures."""
    schema = env["BENCH_SCHEMA"]
    admin_sql(args.database, "UPDATE {}.mailbox_sync SET next_run_utc = NULL", schema)
    lab.context.counter.reset()
    command = [sys.executable, "-c", _LAUNCH, "--json", "sync", "--worker", "--until-idle"]
    command += ["--batch", str(args.batch), "--concurrency", str(args.concurrency)]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=env["BENCH_WORK"]
        )
        for _ in range(workers)
    ]
    outs = [proc.communicate() for proc in procs]
    wall = time.perf_counter() - started
    docs, statements, commits, peaks, codes = [], 0, 0, [], []
    for proc, (out, err) in zip(procs, outs, strict=True):
        codes.append(proc.returncode)
        if proc.returncode != 0:
            said = [line for line in err.splitlines() if not line.startswith("BENCH_")]
            print(f"  {label}: a worker exited {proc.returncode}: {' / '.join(said)[-400:]}", file=sys.stderr)
        docs.append(json.loads(out) if out.startswith("{") else {})
        for line in err.splitlines():
            if line.startswith("BENCH_DB "):
                statements += int(line.split()[1])
                commits += int(line.split()[2])
            elif line.startswith("BENCH_PEAK_KB "):
                peaks.append(int(line.split()[1]) / 1024)
    counts = dict(lab.context.counter.snapshot())
    ews = sum(v for k, v in counts.items() if k.startswith("ews:"))
    writes = sum(counts.get(f"ews:{op}", 0) for op in ("CreateItem", "UpdateItem", "DeleteItem"))
    synced = Counter(m["mailbox"].lower() for doc in docs for m in doc.get("mailboxes", []))
    claimed = sum(int(doc.get("claimed", 0)) for doc in docs)
    per_worker = [sum(int(m.get("requests", 0)) for m in doc.get("mailboxes", [])) for doc in docs]
    modelled = max(per_worker or [0]) * args.rtt_ms / 1000 / args.concurrency
    wanted = {m.lower() for m in mailboxes}
    result = {
        "label": label,
        "workers": workers,
        "exit_codes": codes,
        "mailboxes": len(mailboxes),
        "synced": len(synced),
        "synced_twice_or_more": sum(1 for n in synced.values() if n > 1),
        "not_synced": len(wanted - set(synced)),
        "claims": claimed,
        # Claims beyond one per mailbox: two workers on one mailbox (or a mailbox due again within the round).
        "collided_claims": claimed - len(synced),
        "lease_lost": sum(len(doc.get("lease_lost", [])) for doc in docs),
        "failed": sum(1 for doc in docs for m in doc.get("mailboxes", []) if m.get("error")),
        "mailboxes_per_worker": [len(doc.get("mailboxes", [])) for doc in docs],
        "ews_requests": ews,
        "requests_per_mailbox": round(ews / max(len(mailboxes), 1), 3),
        "writes": writes,
        "db_statements": statements,
        "db_statements_per_mailbox": round(statements / max(len(mailboxes), 1), 2),
        "db_commits_per_mailbox": round(commits / max(len(mailboxes), 1), 2),
        "wall_seconds": round(wall, 1),
        "modelled_seconds": round(modelled, 1),
        "worker_peak_rss_mb": round(max(peaks or [0.0]), 1),
    }
    print(f"  {label}: {json.dumps(result)}", file=sys.stderr)
    return result


def database_now(database: str) -> datetime:
    found = admin_sql(database, "SELECT clock_timestamp()")[0][0]
    assert isinstance(found, datetime)
    return found.astimezone(UTC)


def add_bookings(database: str, mailboxes: list[str], rooms: list[str], start: datetime) -> int:
    """One more booking per mailbox ("Booking late"), each room's at hours of their own: a write for every
    mailbox in the kill round."""
    from roomsops.adapters.store import NewBooking, now_utc, open_store
    from roomsops.adapters.store import queries as q

    store = open_store(database)
    try:
        with store.write() as conn:
            now = now_utc()
            room_ids = {room.email.lower(): room.id for room in q.list_rooms(conn)}
            person_ids = {p.email.lower(): p.id for p in q.list_persons(conn)}
            ids = [room_ids[r.lower()] for r in rooms]
            for slot, mailbox in enumerate(mailboxes):
                begin = start + timedelta(hours=slot // len(ids))
                q.insert_booking(
                    conn,
                    NewBooking(
                        organizer_id=person_ids[mailbox.lower()],
                        room_id=ids[slot % len(ids)],
                        title="Booking late",
                        start=begin,
                        end=begin + timedelta(minutes=50),
                    ),
                    now,
                )
    finally:
        store.close()
    return len(mailboxes)


def kill_round(
    lab: Any, env: dict[str, str], workers: int, mailboxes: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """Every mailbox due (each with a new booking to create); `workers` workers at once, `--until-idle`; once half
    the mailboxes are done, one worker is SIGKILLed. Its leases stay until they expire (`sync.worker_lease` after
    their last extension, the database's clock); the others go on, and a worker is started again whenever none
    runs (as a scheduler does) until every mailbox is done. Measured: the killed worker's leases and when each of
    its mailboxes was taken over (its token gone from the row, polled every second), against the lease; mailboxes
    synced twice by the workers that lived, mailboxes never done, leases lost, creates sent."""
    schema = env["BENCH_SCHEMA"]
    database = args.database
    admin_sql(database, "UPDATE {}.mailbox_sync SET next_run_utc = NULL", schema)
    lab.context.counter.reset()
    env = env | {
        "ROOMSOPS_SYNC_WORKER_LEASE": str(args.kill_lease),
        # The lease must be at least twice one write's longest time (2 x network.timeout_seconds + 60 s): the
        # timeout is set as long as that lease allows (180 s: 15 s).
        "ROOMSOPS_NETWORK_TIMEOUT_SECONDS": str(max(1, int((args.kill_lease / 2 - 60) / 2))),
    }
    command = [sys.executable, "-c", _LAUNCH, "--json", "sync", "--worker", "--until-idle"]
    command += ["--batch", str(args.batch), "--concurrency", str(args.concurrency)]

    files: dict[int, tuple[Path, Path]] = {}

    def start() -> subprocess.Popen[str]:
        # Into files, not pipes: this loop reads a worker's output only once it exited, and a worker's document
        # (hundreds of mailboxes) fills a pipe and blocks it for ever (the first 1,000-mailbox kill round hung so).
        out = Path(env["BENCH_WORK"]) / f"kill-worker-{len(files)}.out"
        err = out.with_suffix(".err")
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(
                command, env=env, stdout=stdout, stderr=stderr, text=True, cwd=env["BENCH_WORK"]
            )
        files[proc.pid] = (out, err)
        return proc

    started = time.perf_counter()
    procs = [start() for _ in range(workers)]
    victim = procs[0]
    done_sql = "SELECT count(*) FROM {}.mailbox_sync WHERE next_run_utc IS NOT NULL"
    while admin_sql(database, done_sql, schema)[0][0] < len(mailboxes) // 2:
        if victim.poll() is not None:
            break
        time.sleep(0.5)
    victim.kill()  # SIGKILL
    killed_at = database_now(database)
    victim.wait()
    held = admin_sql(
        database,
        "SELECT mailbox, lease_token, lease_until_utc FROM {}.mailbox_sync WHERE lease_owner LIKE %s",
        schema,
        (f"%:{victim.pid}:%",),
    )
    done_at_kill = admin_sql(database, done_sql, schema)[0][0]
    # Lease times are stored as naive UTC.
    held = [(m, t, u if u.tzinfo else u.replace(tzinfo=UTC)) for m, t, u in held]
    tokens = {mailbox: token for mailbox, token, _ in held}
    taken: dict[str, datetime] = {}
    outs: list[tuple[subprocess.Popen[str], str, str]] = []
    running = procs[1:]
    restarts = 0
    last_start = time.perf_counter()
    while True:
        for proc in list(running):
            if proc.poll() is not None:
                out_file, err_file = files[proc.pid]
                outs.append((proc, out_file.read_text(), err_file.read_text()))
                running.remove(proc)
        if tokens and len(taken) < len(tokens):
            rows = admin_sql(
                database,
                "SELECT mailbox, lease_token FROM {}.mailbox_sync WHERE mailbox = ANY(%s)",
                schema,
                (list(tokens),),
            )
            now = database_now(database)
            for mailbox, token in rows:
                if mailbox not in taken and token != tokens[mailbox]:
                    taken[mailbox] = now
        left = admin_sql(database, "SELECT count(*) FROM {}.mailbox_sync WHERE next_run_utc IS NULL", schema)[
            0
        ][0]
        if not running and left == 0 and len(taken) == len(tokens):
            break
        if not running and time.perf_counter() - last_start >= 5:
            running.append(start())  # a scheduler starting a worker again (at most every 5 s)
            last_start = time.perf_counter()
            restarts += 1
        time.sleep(1.0)
    wall = time.perf_counter() - started
    docs, peaks, codes = [], [], []
    for proc, out, err in outs:
        codes.append(proc.returncode)
        if proc.returncode != 0:
            said = [line for line in err.splitlines() if not line.startswith("BENCH_")]
            print(
                f"  kill round: a worker exited {proc.returncode}: {' / '.join(said)[-400:]}", file=sys.stderr
            )
        docs.append(json.loads(out) if out.startswith("{") else {})
        peaks += [
            int(line.split()[1]) / 1024 for line in err.splitlines() if line.startswith("BENCH_PEAK_KB ")
        ]
    counts = dict(lab.context.counter.snapshot())
    synced = Counter(m["mailbox"].lower() for doc in docs for m in doc.get("mailboxes", []))
    delays = sorted((taken[m] - killed_at).total_seconds() for m in taken)
    remaining = sorted((until - killed_at).total_seconds() for _, _, until in held)
    late = sum(
        1 for mailbox, _, until in held if mailbox in taken and taken[mailbox] > until + timedelta(seconds=10)
    )
    result = {
        "label": f"kill ({workers} workers, one SIGKILLed)",
        "workers": workers,
        "lease_seconds": args.kill_lease,
        "others_exited_non_zero": sum(1 for code in codes if code != 0),
        "mailboxes": len(mailboxes),
        "done_when_killed": done_at_kill,
        "leases_held_by_the_killed_worker": len(held),
        "its_leases_remaining_at_kill_seconds": [round(remaining[0], 1), round(remaining[-1], 1)]
        if remaining
        else [],
        "taken_over": len(taken),
        "taken_over_after_seconds": [round(delays[0], 1), round(delays[-1], 1)] if delays else [],
        "taken_over_later_than_lease_end_plus_10s": late,
        "its_mailboxes_synced_by_the_others": sum(1 for m in tokens if synced.get(m.lower(), 0) == 1),
        "workers_started_again": restarts,
        "synced_by_the_others": len(synced),
        "synced_twice_or_more_by_the_others": sum(1 for n in synced.values() if n > 1),
        "not_synced": admin_sql(
            database, "SELECT count(*) FROM {}.mailbox_sync WHERE next_run_utc IS NULL", schema
        )[0][0],
        "lease_lost": sum(len(doc.get("lease_lost", [])) for doc in docs),
        "failed": sum(1 for doc in docs for m in doc.get("mailboxes", []) if m.get("error")),
        "creates": counts.get("ews:CreateItem", 0),
        "ews_requests": sum(v for k, v in counts.items() if k.startswith("ews:")),
        "wall_seconds": round(wall, 1),
        "worker_peak_rss_mb": round(max(peaks or [0.0]), 1),
    }
    print(f"  kill round: {json.dumps(result)}", file=sys.stderr)
    return result


def duplicate_meetings(lab: Any, mailboxes: list[str], bookings_each: int) -> dict[str, int]:
    """Live meetings of each synced mailbox named like its bookings: each booking's once."""
    from roomsops.lab.ews.common import store_of

    found: Counter[int] = Counter()
    with lab.tenant.change() as state:
        for address in mailboxes:
            mailbox = state.find_mailbox(address)
            assert mailbox is not None
            items = [
                i
                for i in store_of(state, mailbox.id).items
                if (i.subject or "").startswith("Booking ") and not getattr(i, "is_cancelled", False)
            ]
            found[len(items)] += 1
    return {
        "mailboxes_with_each_booking_once": found.get(bookings_each, 0),
        "mailboxes_otherwise": sum(n for k, n in found.items() if k != bookings_each),
    }


def main(args: argparse.Namespace, helpers: dict[str, Any]) -> int:
    from roomsops.lab import Lab

    counts = [int(n) for n in str(args.workers).split(",") if n.strip()]
    work = Path(tempfile.mkdtemp(prefix="roomsops-bench-workers."))
    schema = f"roomsops_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_sql(args.database, "CREATE SCHEMA {}", schema)
    try:
        before = rss_mb()
        started = time.perf_counter()
        lab = Lab(work / "lab", latency_ms=0, save_interval=3600.0).start()
        lab_start = time.perf_counter() - started
        domain = lab.info["tenant"]["domain"]
        mailboxes = [f"worker{i:05d}@{domain}" for i in range(args.mailboxes)]
        rooms = [f"workroom{i:03d}@{domain}" for i in range(args.rooms)]
        start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        seeded = time.perf_counter()
        helpers["seed_lab"](lab, mailboxes, rooms, args.foreign, start - timedelta(days=5))
        lab_seed = time.perf_counter() - seeded
        lab_memory = rss_mb() - before
        database = schema_url(args.database, schema)
        seeded = time.perf_counter()
        helpers["seed_database"](database, mailboxes, rooms, args.bookings, start)
        db_seed = time.perf_counter() - seeded
        print(
            f"lab: started in {lab_start:.1f} s, {len(mailboxes)} mailboxes seeded in {lab_seed:.1f} s, "
            f"{lab_memory:.0f} MB; database seeded in {db_seed:.1f} s",
            file=sys.stderr,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")} | {
            "ROOMSOPS_SETTINGS": str(lab.settings_path),
            "ROOMSOPS_ROOMS_DATABASE": database,
            "ROOMSOPS_WINRM_PASSWORD": lab.info["winrm"]["password"],
            "ROOMSOPS_LOG_FILE": str(work / "roomsops.log"),
            "ROOMSOPS_LOG_AUDIT": str(work / "audit.jsonl"),
            "ROOMSOPS_LOG_LEVEL": "WARNING",
            # A round slower than sync.worker_interval (300 s: the initial round of a loaded lab) would sync its
            # first mailboxes again before it ends (--until-idle): a round here is each mailbox once.
            "ROOMSOPS_SYNC_WORKER_INTERVAL": "86400",
            "BENCH_WORK": str(work),
            "BENCH_SCHEMA": schema,
        }
        most = max(counts)
        rounds = []
        if not args.kill_only:
            rounds.append(run_round(lab, env, f"initial ({most} workers)", most, mailboxes, args))
            helpers["answer_rooms_now"](lab)
            rounds.append(run_round(lab, env, f"room answers ({most} workers)", most, mailboxes, args))
            for n in counts:
                rounds.append(
                    run_round(lab, env, f"no-op ({n} worker{'s' if n > 1 else ''})", n, mailboxes, args)
                )
        killed = None
        if args.kill_lease:
            added = add_bookings(database, mailboxes, rooms, start + timedelta(days=7))
            killed = kill_round(lab, env, most, mailboxes, args) | {"bookings_added": added}
        meetings = duplicate_meetings(lab, mailboxes, args.bookings + (1 if killed else 0))
        figures = {
            "parameters": {
                k: v
                for k, v in vars(args).items()
                if k
                in (
                    "mailboxes",
                    "bookings",
                    "foreign",
                    "concurrency",
                    "rooms",
                    "batch",
                    "rtt_ms",
                    "workers",
                    "kill_lease",
                    "kill_only",
                )
            },
            "lab": {
                "start_seconds": round(lab_start, 2),
                "seed_seconds": round(lab_seed, 1),
                "memory_mb": round(lab_memory),
                "memory_mb_after_rounds": round(rss_mb() - before),
                "database_seed_seconds": round(db_seed, 1),
            },
            "rounds": rounds,
            "kill": killed,
            "meetings": meetings,
        }
        lab.stop()
    finally:
        admin_sql(args.database, "DROP SCHEMA IF EXISTS {} CASCADE", schema)
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
        print(f"\nfigures written to {args.json}")
    return 0


def report(figures: dict[str, Any]) -> None:
    p, lab = figures["parameters"], figures["lab"]
    print(
        f"\nsync workers on PostgreSQL: {p['mailboxes']} lab mailboxes (EWS), {p['bookings']} booking(s) and "
        f"{p['foreign']} other appointment(s) each; --batch {p['batch']}, --concurrency {p['concurrency']}, "
        f"modelled at {p['rtt_ms']} ms RTT"
    )
    print(
        f"lab: start {lab['start_seconds']} s, seeding {lab['seed_seconds']} s, memory {lab['memory_mb']} MB "
        f"({lab['memory_mb_after_rounds']} MB after the rounds)"
    )
    header = (
        "round", "req/mbx", "writes", "modelled s", "wall s", "dup", "missed", "collided", "lost", "stmts/mbx",
        "commits/mbx",
    )  # fmt: skip
    print(" | ".join(header))
    for r in figures["rounds"]:
        print(
            " | ".join(
                str(v)
                for v in (
                    r["label"], r["requests_per_mailbox"], r["writes"], r["modelled_seconds"], r["wall_seconds"],
                    r["synced_twice_or_more"], r["not_synced"], r["collided_claims"], r["lease_lost"],
                    r["db_statements_per_mailbox"], r["db_commits_per_mailbox"],
                )
            )
        )  # fmt: skip
    if figures.get("kill"):
        print(f"kill round: {json.dumps(figures['kill'])}")
    print(f"meetings in the lab: {figures['meetings']}")
