"""scripts/soak: the checker for N minutes against a lab of its own; a report of sequences, steps and violations.

Batches of hypothesis examples run one after another, batch k with seed S+k; the time limit is checked only
between batches (a batch is count-bounded), so a batch's seed replays it exactly: `scripts/soak --seed S+k
--batches 1`. A violation is shrunk by hypothesis and reported with its minimal sequence and its
`@reproduce_failure` blob.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import engine as hypothesis_engine
from hypothesis.stateful import run_state_machine_as_test

#: How long hypothesis may shrink a violation found when the soak's time is (nearly) up: it then reports the
#: smallest failing sequence it has (its own limit, MAX_SHRINKING_SECONDS, is 300 s).
SHRINK_SECONDS_MIN = 30


def checker_settings(examples: int, steps: int, derandomize: bool = False) -> settings:
    """Count-bounded: `examples` sequences of at most `steps` steps; no deadline (passes make real requests)."""
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


@dataclass
class Finding:
    seed: int
    invariant: str
    message: str
    sequence: list[str]
    blob: str


@dataclass
class Report:
    seed: int
    minutes: float
    families: list[str]
    backend: str = "ews"
    examples: int = 10
    steps_max: int = 30
    batches: int = 0
    cut: int = 0  # batches the time limit ended before all their sequences ran
    sequences: int = 0
    steps: int = 0
    passes: int = 0
    kills: int = 0
    seconds: float = 0.0
    families_used: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)  # the lab's counts per protocol (ews, graph, ...)
    violations: list[Finding] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"sync checker soak: backend {self.backend}, seed {self.seed}, {self.minutes:g} min, {self.batches} batches, "
            f"{self.sequences} sequences, {self.steps} steps, {self.passes} passes ({self.kills} killed), "
            f"{self.seconds:.0f} s: {len(self.violations)} violation(s)"
            + ("; the last batch cut short by the time limit" if self.cut else ""),
            f"families: {', '.join(self.families)}",
            "steps per family: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.families_used.items(), key=lambda kv: -kv[1])),
            "requests per protocol: " + ", ".join(f"{k} {v}" for k, v in sorted(self.requests.items())),
        ]
        for v in self.violations:
            out += [
                "",
                f"VIOLATION {v.invariant} (replay: scripts/soak --backend {self.backend} --seed {v.seed} "
                f"--batches 1 --examples {self.examples} --steps {self.steps_max})",
                *[f"  {line}" for line in v.message.splitlines()],
            ]
            out += [f"    {step}" for step in v.sequence]
            if v.blob:
                out.append(f"  {v.blob}")
        return out


def _sequence(text: str) -> tuple[list[str], str]:
    """The minimal sequence and the reproduce_failure blob from hypothesis' output."""
    steps = [line.strip() for line in text.splitlines() if line.strip().startswith("state")]
    blob = next((line.strip() for line in text.splitlines() if "@reproduce_failure" in line), "")
    return steps, blob


def run_batch(
    lab: Any,
    workroot: Path,
    families: frozenset[str],
    seed: int,
    examples: int,
    steps: int,
    backend: str = "ews",
    deadline: float | None = None,
) -> tuple[Any, Finding | None]:
    """One batch; `deadline` (time.monotonic()): no sequence starts after it, and a violation is shrunk for at
    most the time left (at least SHRINK_SECONDS_MIN)."""
    from tests.sync_checker.machine import Stats, TimeUp, machine_for

    stats = Stats(deadline=deadline)
    machine = machine_for(lab, workroot, families, stats, backend)
    machine._hypothesis_internal_use_seed = seed  # what @seed(seed) sets
    captured = io.StringIO()
    finding = None
    shrinking = hypothesis_engine.MAX_SHRINKING_SECONDS

    def bound_the_shrink() -> None:
        # Hypothesis' own limit (an internal, read when the shrink starts, right after the first failing
        # sequence): the time left.
        left = int((deadline or 0.0) - time.monotonic())
        hypothesis_engine.MAX_SHRINKING_SECONDS = max(SHRINK_SECONDS_MIN, min(shrinking, left))

    if deadline is not None:
        stats.when_failing = bound_the_shrink
    try:
        with contextlib.redirect_stdout(captured):
            run_state_machine_as_test(machine, settings=checker_settings(examples, steps))
    except TimeUp:
        stats.cut = True
    except Exception as exc:
        notes = "\n".join(getattr(exc, "__notes__", []))
        sequence, blob = _sequence(notes + "\n" + captured.getvalue())
        message = str(exc) if isinstance(exc, AssertionError) else "".join(traceback.format_exception(exc))
        invariant = message.split(":", 1)[0] if isinstance(exc, AssertionError) else type(exc).__name__
        finding = Finding(seed, invariant, message, sequence, blob)
    finally:
        hypothesis_engine.MAX_SHRINKING_SECONDS = shrinking
    return stats, finding


def main(argv: Sequence[str] | None = None) -> int:
    from roomsops.lab import Lab
    from tests.sync_checker.families import (
        BACKENDS,
        NOT_ON_GRAPH,
        for_backend,
        selected,
        selected_backend,
        selected_workers,
    )

    parser = argparse.ArgumentParser(prog="soak", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=30.0,
        help="no sequence starts after this long (a violation found is still shrunk, for at least 30 s)",
    )
    parser.add_argument("--seed", type=int, default=None, help="the first batch's seed (default: random)")
    parser.add_argument(
        "--batches", type=int, default=0, help="at most this many batches (0: until --minutes)"
    )
    parser.add_argument("--examples", type=int, default=10, help="sequences per batch")
    parser.add_argument("--steps", type=int, default=30, help="steps per sequence at most")
    parser.add_argument("--report", type=Path, default=Path("soak-report.json"), help="the JSON report")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (lab, databases, logs)")
    parser.add_argument("--stop-at-first", action="store_true", help="stop after the first violation")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="the service the persons are synced over: ews (O365), graph (Microsoft365), mixed (both, sharing "
        "the rooms); default $SYNC_CHECKER_BACKEND, else ews",
    )
    args = parser.parse_args(argv)
    backend = args.backend or selected_backend()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    chosen = selected()
    families = for_backend(chosen, backend)
    report = Report(
        seed=seed,
        minutes=args.minutes,
        families=sorted(families),
        backend=backend,
        examples=args.examples,
        steps_max=args.steps,
    )
    workdir = Path(tempfile.mkdtemp(prefix="roomsops-soak-"))
    print(
        f"work folder {workdir}; backend {backend}; seed {seed}; families {', '.join(sorted(families))}"
        + (f"; each pass by {workers} sync workers on PostgreSQL" if (workers := selected_workers()) else ""),
        flush=True,
    )
    for name in sorted(chosen - families):
        print(f"left out over Graph: {name}: {NOT_ON_GRAPH[name]}", flush=True)
    started = time.monotonic()
    deadline = started + args.minutes * 60
    with Lab(workdir / "lab", room_answer_delay=24 * 3600.0) as lab:
        batch = 0
        while time.monotonic() < deadline and (not args.batches or batch < args.batches):
            stats, finding = run_batch(
                lab,
                workdir / f"b{batch}",
                families,
                seed + batch,
                args.examples,
                args.steps,
                backend,
                deadline,
            )
            report.batches += 1
            report.cut += int(stats.cut)
            report.sequences += stats.sequences
            report.steps += stats.steps
            report.passes += stats.passes
            report.kills += stats.kills
            for name, n in stats.families_used.items():
                report.families_used[name] = report.families_used.get(name, 0) + n
            for name, n in stats.requests.items():
                report.requests[name] = report.requests.get(name, 0) + n
            verdict = "ok" if finding is None else f"VIOLATION {finding.invariant}"
            print(
                f"batch {batch} seed {seed + batch}: {stats.sequences} sequences, {stats.steps} steps, "
                f"{stats.passes} passes: {verdict}" + (" (cut short: time is up)" if stats.cut else ""),
                flush=True,
            )
            if finding is not None:
                report.violations.append(finding)
            report.seconds = time.monotonic() - started
            _write(report, args.report)  # after every batch: a run stopped early keeps its numbers
            if finding is not None and args.stop_at_first:
                break
            if not args.keep:
                shutil.rmtree(workdir / f"b{batch}", ignore_errors=True)
            batch += 1
    report.seconds = time.monotonic() - started
    print("\n".join(report.lines()))
    _write(report, args.report)
    print(f"report: {args.report} and {args.report.with_suffix('.txt')}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if report.violations else 0


def _write(report: Report, path: Path) -> None:
    path.write_text(json.dumps(asdict(report), indent=2, default=str) + "\n", encoding="utf-8")
    path.with_suffix(".txt").write_text("\n".join(report.lines()) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
