"""review21ab: `roomsops serve` writes none of its errors to stderr. README ("Running the service", the systemd unit
`ExecStart=... roomsops --log-format json serve`): "`journalctl -u roomsops-serve` shows the stderr lines (the
addresses it listens on, errors)"; the WinSW recipe likewise points at `roomsops.err.log`. Against the lab, a round
that cannot reach the token service (a network outage, a wrong cloud.authority_host) and a pass that fails for a
mailbox Exchange does not know print nothing (stderr or stdout) but the status listener's address; stdout ends with
"serve: stopped after 1 round(s): 0 pass(es), 0 failed" for the round that failed. The errors are only in
log.file, which the unit does not point journalctl at: an administrator watching `journalctl` or `systemctl
status` sees a quiet, healthy service while every round fails (issue 21, Deliver 3: an unattended sync can be
monitored; `sync` prints the same failures on stderr)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("failure", ["token-service-unreachable", "mailbox-unknown"])
def test_serve_reports_its_failures_on_stderr(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, failure: str
) -> None:
    run_env = env | {"ROOMSOPS_SERVE_STATUS_LISTEN": "127.0.0.1:0"}
    if failure == "token-service-unreachable":
        ok(invoke("persons", "add", addr("DiegoS"), env=env))
        run_env |= {"ROOMSOPS_CLOUD_AUTHORITY_HOST": "https://127.0.0.1:9"}  # discard: connection refused
        expected = "cannot reach"
    else:
        ok(invoke("persons", "add", addr("Nobody"), "--no-check", env=env))
        expected = addr("Nobody")
    serve = invoke("--quiet", "serve", "--max-ticks", "1", env=run_env)
    assert serve.code == 0, serve.out + serve.err  # README: --max-ticks N stops after N rounds (exit 0)
    # journalctl takes both streams; the README promises stderr. Either would do: today neither says it.
    assert expected in serve.err + serve.out, serve.out + serve.err
    assert expected in serve.err, serve.err  # fix21ac: on stderr, as the README says
    # fix21ac: the end line counts the failed round (or the failed pass), not "0 failed"
    ended = (
        "1 round(s), 1 of them failed: 0 pass(es), 0 failed"
        if failure == "token-service-unreachable"
        else "1 failed"
    )
    assert ended in serve.out, serve.out
    # `sync` says it (the unreachable service on stderr, the failed mailbox in its results)
    once = invoke("--quiet", "sync", env=run_env)
    assert once.code in (1, 3) and expected in once.out + once.err, once.out + once.err
