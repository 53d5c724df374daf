"""`python -m roomsops.lab --dir DIR [--port N] [--latency-ms N] [--policy-delay S] [--save-interval S]
[--room-answer-delay S] [--tls-expired]`."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence

from roomsops.lab.serve import LabError, run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m roomsops.lab", description="Run the roomsops lab tenant."
    )
    parser.add_argument("--dir", required=True, help="folder for the lab's state, keys and generated files")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay before answering each request")
    parser.add_argument("--policy-delay", type=float, default=0.0, help="seconds before policy changes apply")
    parser.add_argument(
        "--save-interval",
        type=float,
        default=0.0,
        help="write tenant.json at most once per S seconds and on exit (default 0: on every change)",
    )
    parser.add_argument(
        "--room-answer-delay",
        type=float,
        default=5.0,
        help="seconds before a room answers a meeting request (default 5; 0: at once)",
    )
    parser.add_argument("--tls-expired", action="store_true", help="serve an expired TLS certificate")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)
    if args.save_interval < 0:
        parser.error("--save-interval must not be negative")
    if not math.isfinite(args.room_answer_delay) or args.room_answer_delay < 0:
        parser.error("--room-answer-delay must be a number of seconds, not negative")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return run(
            args.dir,
            port=args.port,
            latency_ms=args.latency_ms,
            policy_delay=args.policy_delay,
            expired_tls=args.tls_expired,
            save_interval=args.save_interval,
            room_answer_delay=args.room_answer_delay,
        )
    except LabError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
