"""review21ad: README ("Running the service", Errors on stderr) promises each warning and error of `serve` on
stderr "as one line with the log's text (`ERROR: serve: round 1 failed: …`)", and "Exit codes": errors are one
line, `--debug` adds the traceback. A round that fails on something unexpected (a bug: service.py logs it with
`log.exception`, its remedy says "report it with the log file (its traceback)") reaches the console
(core.logs.FailureConsole) with its traceback: a dozen lines of `Traceback (most recent call last):`, source lines
and frames in journalctl / WinSW's err.log, none starting with a level — the one-line contract that monitoring
greps (`^ERROR: `) is broken exactly when a bug hits. The traceback belongs in the log file (and on stderr with
-v/--debug, which bypass this console)."""

from __future__ import annotations

import io

from roomsops.core.logs import failures_to_stderr, log, setup_logging


def test_an_unexpected_round_failure_is_one_line_on_the_console() -> None:
    setup_logging(None)
    console = failures_to_stderr()
    stream = io.StringIO()
    console.setStream(stream)
    try:
        try:
            raise KeyError("booking 7")  # what service.py's `except Exception` catches in a round
        except KeyError as exc:
            log.exception("serve: round %d failed: unexpected %s: %s", 1, type(exc).__name__, exc)
    finally:
        log.removeHandler(console)
    lines = stream.getvalue().splitlines()
    assert lines and lines[0].startswith("ERROR: serve: round 1 failed: unexpected KeyError"), lines
    assert len(lines) == 1, lines
