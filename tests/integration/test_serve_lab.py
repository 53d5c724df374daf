"""`roomsops serve` against the lab: a subprocess with the lab's settings, its status listener read over HTTP.

Nothing here measures time: the tests count scheduler rounds and passes (`--max-ticks`, /metrics) and wait for
counts (the waits' limits only end a hung run)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from roomsops.services.sync.lock import run_lock
from tests.campaign import BOOKING_TAG, tag
from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
#: Only ends a run that hangs; no test asserts on time.
HUNG = 120.0


def seed(invoke: Invoke, env: dict[str, str], addr: Callable[[str], str]) -> None:
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    # A person whose mailbox does not exist: every pass of it fails, with a remedy.
    ok(invoke("persons", "add", addr("ghost"), "--sync-mode", "O365", env=env))


def a_database(invoke: Invoke, env: dict[str, str], addr: Callable[[str], str]) -> None:
    """An installation to serve: where no database is, serve refuses (no_database, review21y)."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", "--no-check", env=env))


def book(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    title: str,
    hour: int,
    organizer: str | None = None,
) -> int:
    start = DAY + timedelta(hours=hour)
    run = ok(
        invoke(
            "--json",
            "bookings",
            "add",
            "--organizer",
            organizer or addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            start.isoformat(),
            "--end",
            (start + timedelta(minutes=30)).isoformat(),
            "--title",
            title,
            env=env,
        )
    )
    return int(json.loads(run.out)["booking"]["id"])


def meetings(lab: Any, mailbox: str) -> dict[str, str]:
    """booking id -> subject of the meetings tagged with a booking in the mailbox (as the lab holds them)."""
    found = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return {
        str(tag(i, BOOKING_TAG)): i["subject"] for i in found if tag(i, BOOKING_TAG) and not i["is_cancelled"]
    }


def start(
    env: dict[str, str], tmp_path: Path, *args: str, **settings: str
) -> tuple[subprocess.Popen[str], Path]:
    err = tmp_path / f"serve-{len(list(tmp_path.glob('serve-*.err')))}.err"
    extra = {f"ROOMSOPS_SERVE_{k.upper()}": v for k, v in settings.items()}
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "serve", *args],
        env={**os.environ, **env, "ROOMSOPS_SERVE_STATUS_LISTEN": "127.0.0.1:0", **extra},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=err.open("w"),
        text=True,
    )
    return process, err


def wait_for(what: Callable[[], Any], process: subprocess.Popen[str]) -> Any:
    deadline = time.monotonic() + HUNG
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        assert process.poll() is None, f"serve exited {process.returncode}"
        time.sleep(0.05)
    raise AssertionError("serve hung")


def status_url(err: Path, process: subprocess.Popen[str], host: str = "127.0.0.1") -> str:
    def announced() -> str | None:
        match = re.search(rf"status on (http://{re.escape(host)}:\d+/)", err.read_text(encoding="utf-8"))
        return match.group(1) if match else None

    return str(wait_for(announced, process))


def metrics(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, read with Prometheus' own text parser."""
    response = requests.get(url + "metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def passes(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], mailbox: str) -> float:
    return sum(
        v
        for (name, labels), v in samples.items()
        if name == "roomsops_serve_passes_total" and dict(labels)["mailbox"] == mailbox
    )


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen[str]]]:
    """The serve processes a test started: killed if the test left one running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_one_round_syncs_a_rooms_booking_to_outlook_and_exits_0(
    invoke: Invoke, env: dict[str, str], addr: Callable[[str], str], fresh_lab: Any, tmp_path: Path
) -> None:
    seed(invoke, env, addr)
    booking = book(invoke, env, addr, "Serve planning", 0)
    process, err = start(env, tmp_path, "--max-ticks", "1")
    out, _ = process.communicate(timeout=HUNG)
    assert process.returncode == 0, err.read_text()
    assert meetings(fresh_lab, addr("DiegoS")) == {str(booking): "Serve planning"}
    assert out == "serve: stopped after 1 round(s): 2 pass(es), 1 failed\n"  # DiegoS, and ghost failing
    assert re.search(r"status on http://127\.0\.0\.1:\d+/", err.read_text())


def test_serve_syncs_each_tick_reports_metrics_and_page_and_stops_on_sigterm(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    seed(invoke, env, addr)
    process, err = start(env, tmp_path, ews_interval="1")
    stopped.append(process)
    url = status_url(err, process)
    diego = addr("DiegoS")
    first = wait_for(lambda: passes(metrics(url), diego) >= 1 and metrics(url), process)
    assert first[("roomsops_serve_ticks_total", ())] >= 1

    # A booking made while the service runs reaches Outlook by the second pass after it was made (the pass
    # under way may have read ROOMS before it).
    done = passes(metrics(url), diego)
    booking = book(invoke, env, addr, "Made while serving", 2)
    wait_for(lambda: passes(metrics(url), diego) >= done + 2, process)
    assert meetings(fresh_lab, diego) == {str(booking): "Made while serving"}

    samples = metrics(url)
    ghost = addr("ghost")
    labels = next(dict(k[1]) for k in samples if k[0] == "roomsops_serve_mailbox_failures_total")
    assert labels["mailbox"] == ghost and labels["code"]
    assert (
        samples[("roomsops_serve_passes_total", (("mailbox", diego), ("result", "ok"), ("service", "ews")))]
        >= 2
    )
    # requests by protocol and operation: a no-op pass over EWS is a SyncFolderItems
    assert (
        samples[("roomsops_serve_requests_total", (("operation", "SyncFolderItems"), ("protocol", "ews")))]
        >= 2
    )
    assert ("roomsops_serve_queue_length", ()) in samples

    assert requests.get(url + "healthz", timeout=10).text == "ok: live, ready\n"
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.text
    row = re.search(rf'<tr class="ok" data-mailbox="{re.escape(diego)}">(.*?)</tr>', html, re.S)
    assert row and "<td>ews</td>" in row.group(1) and "<td>ok</td>" in row.group(1)
    failed = re.search(rf'<tr class="failed" data-mailbox="{re.escape(ghost)}">(.*?)</tr>', html, re.S)
    assert failed is not None
    cells = re.findall(r"<td>(.*?)</td>", failed.group(1), re.S)
    assert cells[3] == "failed" and cells[5] and cells[6]  # the error and its remedy
    assert "None." in html.split('id="declined"')[1]  # no room declined anything
    secret = str(fresh_lab.app("rooms").get("secret", "")) or None
    for text in (html, requests.get(url + "metrics", timeout=10).text):
        assert "Bearer" not in text and "client_secret" not in text
        assert secret is None or secret not in text

    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=HUNG)
    assert process.returncode == 0, err.read_text()
    assert out.startswith("serve: stopped after ")

    # A restart resumes from the database: DiegoS' last pass is recorded, so with a long interval its first
    # round has nothing of DiegoS to do.
    again, err2 = start(env, tmp_path, "--max-ticks", "1", ews_interval="3600")
    stopped.append(again)
    out, _ = again.communicate(timeout=HUNG)
    assert again.returncode == 0, err2.read_text()
    assert meetings(fresh_lab, diego) == {str(booking): "Made while serving"}
    assert re.fullmatch(r"serve: stopped after 1 round\(s\): (\d) pass\(es\), \1 failed\n", out), out


def test_a_round_waits_while_another_command_holds_the_run_lock(
    invoke: Invoke, env: dict[str, str], addr: Callable[[str], str], fresh_lab: Any, tmp_path: Path
) -> None:
    seed(invoke, env, addr)
    book(invoke, env, addr, "Held back", 4)
    lock = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///") + ".sync.lock")
    with run_lock(lock):  # as `roomsops sync` running beside the service holds it
        process, err = start(env, tmp_path, "--max-ticks", "1")
        out, _ = process.communicate(timeout=HUNG)
    assert process.returncode == 0, err.read_text()
    assert out == "serve: stopped after 1 round(s): 0 pass(es), 0 failed\n"
    assert meetings(fresh_lab, addr("DiegoS")) == {}
    assert "waits 1 s for the next" in Path(env["ROOMSOPS_LOG_FILE"]).read_text(encoding="utf-8")


def interface_addresses() -> list[str]:
    """The IPv4 addresses of this machine's interfaces, asked of the kernel interface by interface (Linux
    SIOCGIFADDR): no route, name service or outside host involved."""
    import fcntl
    import socket
    import struct

    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:
                answer = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))
            except OSError:  # an interface without an IPv4 address, or down
                continue
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


def get_from(url: str, source: str) -> int:
    """GET `url` over a connection from the local address `source` (the status listener sees it as the client)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "", parts.port, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request("GET", parts.path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_any_loopback_client_is_served_without_being_listed(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    """Listening on 127.0.0.2, a client from 127.0.0.3 (loopback, not 127.0.0.1) with serve.status_allow empty."""
    a_database(invoke, env, addr)
    process, err = start(env, tmp_path, status_listen="127.0.0.2:0")
    stopped.append(process)
    url = status_url(err, process, "127.0.0.2")
    assert get_from(url + "healthz", "127.0.0.3") == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0


def test_a_host_header_of_another_name_is_refused_unless_allowed(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    """DNS rebinding: a web page of rebind.example whose name now resolves to 127.0.0.1 reaches the listener from
    loopback, with its own name in the Host header."""
    a_database(invoke, env, addr)
    for allow, expected in (("", 403), ("rebind.example", 200)):
        process, err = start(env, tmp_path, status_allow=allow)
        stopped.append(process)
        url = status_url(err, process)
        by_name = requests.get(url + "metrics", headers={"Host": "rebind.example"}, timeout=10)
        own = requests.get(url + "healthz", headers={"Host": "localhost"}, timeout=10)
        assert (by_name.status_code, own.status_code) == (expected, 200), allow
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=HUNG) == 0


def test_a_second_service_on_the_same_database_is_refused_naming_the_first(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    """Two services would each take the other's Graph subscriptions for left-overs and delete them."""
    a_database(invoke, env, addr)
    first, err = start(env, tmp_path)
    stopped.append(first)
    url = status_url(err, first)
    second, second_err = start(env, tmp_path)
    stopped.append(second)
    assert second.wait(timeout=HUNG) == 1
    said = second_err.read_text(encoding="utf-8")
    assert f"another roomsops serve is running on this database (pid {first.pid} " in said, said
    assert requests.get(url + "healthz", timeout=10).status_code == 200  # the first goes on
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=HUNG) == 0


def test_a_client_not_loopback_is_refused_unless_allowed(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    """Over a real socket from a non-loopback address of this machine (an interface's own address, found without
    any route)."""
    own = next((a for a in interface_addresses() if not a.startswith("127.")), None)
    assert own is not None, "this test needs one interface with an IPv4 address other than loopback"
    a_database(invoke, env, addr)
    for allow, expected in (("", 403), (own, 200)):
        # Listening on the machine's own address, so that the client comes from a non-loopback address.
        process, err = start(env, tmp_path, status_allow=allow, status_listen=f"{own}:0")
        stopped.append(process)
        assert get_from(status_url(err, process, own) + "healthz", own) == expected, allow
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=HUNG) == 0


def test_sigterm_during_a_pass_exits_0_and_a_restart_finishes_it_without_a_duplicate(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    """Three persons over Graph, one mailbox at a time: the lab's gate holds the first meeting's create (no
    timing: the test sees it held); meanwhile a `roomsops sync` beside it is refused; SIGTERM, then the gate
    opens: the mailbox under way finishes its phase (its one meeting), no other is started; the restart makes
    the rest, nothing twice."""
    persons = [addr("DiegoS"), addr("AdeleV"), addr("MeganB")]
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    made: dict[str, dict[str, str]] = {}
    for n, person in enumerate(persons):
        ok(invoke("persons", "add", person, "--sync-mode", "Microsoft365", env=env))
        booking = book(invoke, env, addr, f"Interrupted {n}", 5 + n, organizer=person)
        made[person] = {str(booking): f"Interrupted {n}"}
    one_at_a_time = {**env, "ROOMSOPS_SYNC_CONCURRENCY": "1"}
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    try:
        process, err = start(one_at_a_time, tmp_path)
        stopped.append(process)
        # The pass is under way once its first create waits at the gate.
        wait_for(lambda: fresh_lab.admin("GET", "graph").json()["throttle"]["waiting"] == 1, process)
        # A `roomsops sync` beside the service while its round runs is refused, naming the service.
        beside = invoke("sync", env=one_at_a_time)
        assert (
            beside.code == 1 and f"another sync is running on this database (pid {process.pid} " in beside.err
        )
        process.send_signal(signal.SIGTERM)
        # The service waits for its write in flight: it is still running while the create is held.
        assert fresh_lab.admin("GET", "graph").json()["throttle"]["waiting"] == 1
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
    assert process.wait(timeout=HUNG) == 0, err.read_text()
    assert "serve: stopped during a round" in Path(env["ROOMSOPS_LOG_FILE"]).read_text(encoding="utf-8")
    written = {p: meetings(fresh_lab, p) for p in persons}
    # The mailbox under way finished its phase (its one meeting); the others were not started.
    assert sorted(map(len, written.values())) == [0, 0, 1], written

    again, err2 = start(one_at_a_time, tmp_path, "--max-ticks", "1")
    stopped.append(again)
    out, _ = again.communicate(timeout=HUNG)
    assert again.returncode == 0, err2.read_text()
    assert out.startswith("serve: stopped after 1 round(s): ") and out.endswith(" 0 failed\n"), out
    for person in persons:
        found = fresh_lab.admin("GET", f"/lab/mailboxes/{person}/calendar").json()["items"]
        tagged = [str(tag(i, BOOKING_TAG)) for i in found if tag(i, BOOKING_TAG) and i["organizer"] == person]
        assert tagged == list(made[person]), person  # each booking once: nothing sent twice
        assert meetings(fresh_lab, person) == made[person]


def test_the_status_page_lists_a_booking_the_room_declined(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    """Adele's own meeting holds room-zurich; a ROOMS booking of DiegoS for the same slot is declined by the
    room: the next passes record it, and the page's declined table shows it."""
    diego, zurich = addr("DiegoS"), addr("room-zurich")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    slot = DAY + timedelta(hours=8)
    own = {
        "subject": "Adele's own",
        "start": slot.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (slot + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [zurich],
    }
    assert fresh_lab.admin("POST", f"/lab/mailboxes/{addr('AdeleV')}/calendar", json=own).status_code == 201
    assert room_answers(fresh_lab) == ["Accept"]
    booking = book(invoke, env, addr, "Wants Zürich", 8)

    process, err = start(env, tmp_path, ews_interval="1")
    stopped.append(process)
    url = status_url(err, process)
    wait_for(lambda: passes(metrics(url), diego) >= 1, process)
    assert meetings(fresh_lab, diego) == {str(booking): "Wants Zürich"}
    assert room_answers(fresh_lab) == ["Decline"]
    done = passes(metrics(url), diego)
    wait_for(lambda: passes(metrics(url), diego) >= done + 2, process)

    declined = requests.get(url, timeout=10).text.split('id="declined"')[1]
    row = re.search(rf'<tr data-booking="{booking}">(.*?)</tr>', declined, re.S)
    assert row is not None, declined
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    assert cells[:3] == [str(booking), diego, "room-declined"] and cells[3]  # with the room's reason
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0


def room_answers(lab: Any) -> list[str]:
    """The rooms answer the requests waiting (the lab's booking attendant, on demand)."""
    response = lab.admin("POST", "/lab/room-answers/process")
    assert response.status_code == 200, response.text
    return [a["response"] for a in response.json()["answered"]]


def test_graph_mailboxes_follow_their_own_interval_beside_ews_ones(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    """DiegoS over Microsoft Graph (Microsoft365), AdeleV over EWS: with serve.graph_interval an hour and
    serve.ews_interval a second, AdeleV's passes go on while DiegoS has had the one of the first round, which
    made his booking's meeting over Graph."""
    diego, adele = addr("DiegoS"), addr("AdeleV")
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    booking = book(invoke, env, addr, "Over Graph", 10)
    process, err = start(env, tmp_path, ews_interval="1", graph_interval="3600")
    stopped.append(process)
    url = status_url(err, process)
    samples = wait_for(lambda: (s := metrics(url)) and passes(s, adele) >= 3 and s, process)
    assert passes(samples, diego) == 1
    assert samples[
        ("roomsops_serve_passes_total", (("mailbox", diego), ("result", "ok"), ("service", "graph")))
    ]
    assert samples[
        ("roomsops_serve_requests_total", (("operation", "calendarView delta"), ("protocol", "graph")))
    ]
    assert meetings(fresh_lab, diego) == {str(booking): "Over Graph"}
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0
