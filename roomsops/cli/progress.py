"""Progress of multi-mailbox work (`sync`, `policy test --live`, `persons check`), always on stderr.

On a terminal: a rich progress bar that disappears when the work is done. Otherwise (a scheduler, a pipe, a log
file): one plain line at most every `PERIOD_SECONDS`, as told by `clock` — both module attributes, so that a
test passes its own clock and counts lines instead of waiting. Never on stdout (results and `--json` documents
stay byte-identical with or without it); `--quiet` turns it off.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

#: At most one plain line per period (seconds of `clock`).
PERIOD_SECONDS = 10.0
#: The clock the plain lines follow (monotonic seconds); a test replaces it.
clock: Callable[[], float] = time.monotonic


class Progress:
    """Counts finished items of `total` (None: unknown) and shows it on `stream` (default: stderr)."""

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        unit: str = "mailboxes",
        enabled: bool = True,
        stream: TextIO | None = None,
        terminal: bool | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.done = 0
        self._lock = threading.Lock()
        self._last = clock()
        self._bar: object | None = None
        self._task: object | None = None

    def __enter__(self) -> Progress:
        if self.enabled and self.terminal:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(self.unit),
                TimeElapsedColumn(),
                console=Console(file=self.stream, force_terminal=True),
                transient=True,
            )
            bar.start()
            self._task = bar.add_task(self.label, total=self.total)
            self._bar = bar
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()  # type: ignore[attr-defined]
            self._bar = None

    def advance(self, item: str = "") -> None:
        """One item finished (called from any thread)."""
        with self._lock:
            self.done += 1
            if not self.enabled:
                return
            if self._bar is not None:
                self._bar.update(self._task, completed=self.done)  # type: ignore[attr-defined]
                return
            now = clock()
            if now - self._last < PERIOD_SECONDS:
                return
            self._last = now
            of = f"/{self.total}" if self.total is not None else ""
            last = f" (last: {item})" if item else ""
            self.stream.write(f"{self.label}: {self.done}{of} {self.unit} done{last}\n")
            self.stream.flush()
