"""review21ab: `serve` says its round and mailbox failures on stderr (journalctl), each once while it lasts, and
when it ends; secrets masked (core.logs.FailureConsole)."""

from __future__ import annotations

import io
import logging

from roomsops.core.logs import MASK, failures_to_stderr, forget_secrets, log, register_secret, setup_logging
from roomsops.services.sync.engine import MailboxReport
from roomsops.services.sync.run import log_report


def test_each_failure_is_said_once_while_it_lasts_and_its_end_is_said() -> None:
    secret = "s3cr3t-in-an-error"
    register_secret(secret)
    setup_logging(None)
    console = failures_to_stderr()
    stream = io.StringIO()
    console.setStream(stream)
    try:
        for round_ in (1, 2, 3):  # the token service unreachable three rounds in a row
            log.error("serve: round %d failed: cannot reach the token service (%s)", round_, secret)
        log.info(
            "serve: round 4 worked after 3 failed round(s)", extra={"fields": {"event": "rounds_recovered"}}
        )
        log.error("serve: round 9 failed: cannot reach the token service (%s)", secret)  # a new outage
        for _ in range(3):  # a mailbox failing every pass, another working
            log_report(MailboxReport("Ghost@lab.test", error="no mailbox has this address", error_code="nf"))
            log_report(MailboxReport("DiegoS@lab.test"))
        log_report(MailboxReport("ghost@lab.test"))  # it works again
        log_report(MailboxReport("ghost@lab.test"))
        for _ in range(2):  # the end of the new outage, said once
            log.info(
                "serve: round 10 worked after 1 failed round(s)",
                extra={"fields": {"event": "rounds_recovered"}},
            )
    finally:
        log.removeHandler(console)
        forget_secrets()
    lines = stream.getvalue().splitlines()
    assert lines == [
        f"ERROR: serve: round 1 failed: cannot reach the token service ({MASK})",
        "INFO: serve: round 4 worked after 3 failed round(s)",
        f"ERROR: serve: round 9 failed: cannot reach the token service ({MASK})",
        "ERROR: sync Ghost@lab.test: FAILED no mailbox has this address",
        "INFO: sync ghost@lab.test: ok; nothing to do",
        "INFO: serve: round 10 worked after 1 failed round(s)",
    ], lines
    assert not any(isinstance(h, type(console)) for h in log.handlers)
    assert logging.getLogger("roomsops").handlers  # setup_logging's own handler stays
