"""The benchmark behind scripts/bench-import: `roomsops persons import` of a generated CSV, three times."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
TARGET_SECONDS = 10.0
MODES = ["O365"] * 6 + ["O365Pull", "EWS1", "Microsoft365", "None"]


def write_csv(path: Path, suffix: str) -> None:
    lines = ["email,name,sync_mode,sync_url,conflict_behaviour"]
    for i in range(ROWS):
        mode = MODES[i % len(MODES)]
        url = "https://mail.contoso.com/EWS/Exchange.asmx" if mode == "EWS1" else ""
        conflict = "Cancel" if i % 7 == 0 else ""
        lines.append(f'person{i:05d}@contoso.com,"Müller, Zoë {i}{suffix}",{mode},{url},{conflict}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(folder: Path, csv: Path, label: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")}
    env["ROOMSOPS_ROOMS_DATABASE"] = f"sqlite:///{folder / 'rooms.db'}"
    start = time.perf_counter()
    done = subprocess.run(
        ["roomsops", "persons", "import", str(csv)], cwd=folder, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{label}: exit {done.returncode}: {done.stderr.strip()}")
    print(
        f"{label:<28} rows {ROWS:>6}  seconds {seconds:6.2f}  rows/s {ROWS / seconds:>9,.0f}  ({done.stdout.splitlines()[0]})"
    )
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="roomsops-bench-") as tmp:
        folder = Path(tmp)
        first, second = folder / "persons.csv", folder / "persons-renamed.csv"
        write_csv(first, "")
        write_csv(second, " (renamed)")
        fresh = run(folder, first, "import into a fresh database")
        run(folder, first, "same file again (unchanged)")
        run(folder, second, "every name changed (update)")
        verdict = "ok" if fresh < TARGET_SECONDS else "MISSED"
        print(f"target: fresh import under {TARGET_SECONDS:.0f} s: {verdict} ({os.cpu_count()} CPUs)")
        sys.exit(0 if fresh < TARGET_SECONDS else 1)


if __name__ == "__main__":
    main()
