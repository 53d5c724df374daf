"""`roomsops serve` refused before it starts: one line, exit 2, nothing made (no database, lock or log)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.conftest import Invoke, one_line_error


def test_a_bad_status_listen_is_exit_2_and_makes_nothing(invoke: Invoke, tmp_path: Path) -> None:
    run = invoke("serve", env={"ROOMSOPS_SERVE_STATUS_LISTEN": "localhost"})
    assert (run.code, run.out) == (2, "")
    assert one_line_error(run) == (
        "Error: serve.status_listen in $ROOMSOPS_SERVE_STATUS_LISTEN must be HOST:PORT (port 0 to 65535; an IPv6 "
        "host in brackets), got 'localhost' — correct serve.status_listen in $ROOMSOPS_SERVE_STATUS_LISTEN, e.g. "
        "127.0.0.1:8765"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_port_in_use_is_exit_2_naming_the_setting_and_leaves_no_database(
    invoke: Invoke, tmp_path: Path, app_settings: Path
) -> None:
    # An installation (where none is, serve refuses no_database first, review21y); nothing more is made.
    made = invoke("rooms", "add", "room-zurich@contoso.com", "--name", "Zurich", "--no-check")
    assert made.code == 0, made.out + made.err
    before = sorted(p.name for p in tmp_path.iterdir())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = invoke(
            "--app-settings",
            str(app_settings),
            "serve",
            env={"ROOMSOPS_SERVE_STATUS_LISTEN": f"127.0.0.1:{port}"},
        )
    assert (run.code, run.out) == (2, ""), run.err
    line = one_line_error(run)
    assert line.startswith(f"Error: serve.status_listen: cannot listen on 127.0.0.1:{port} (")
    assert line.endswith("— set serve.status_listen to a free port of an address of this machine")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_an_http_public_url_is_exit_2_and_makes_nothing(invoke: Invoke, tmp_path: Path) -> None:
    """Graph subscribes https notification URLs only (the lab refuses others as Graph does): serve says so before
    it opens anything."""
    run = invoke(
        "serve",
        env={
            "ROOMSOPS_SERVE_LISTEN": "127.0.0.1:0",
            "ROOMSOPS_SERVE_PUBLIC_URL": "http://rooms.example.com/roomsops",
        },
    )
    assert (run.code, run.out) == (2, "")
    assert one_line_error(run) == (
        "Error: serve.public_url in $ROOMSOPS_SERVE_PUBLIC_URL must be an https URL without query or fragment (Graph sends "
        "notifications to https only), got 'http://rooms.example.com/roomsops' — correct serve.public_url: the "
        "webhook's address as Graph reaches it, e.g. https://rooms.example.com/roomsops"
    )
    assert list(tmp_path.iterdir()) == []


def test_serve27a_serve_worker_on_sqlite_and_its_options_without_worker_are_exit_2_and_make_nothing(
    invoke: Invoke, tmp_path: Path
) -> None:
    """`serve --worker` shares the mailboxes by PostgreSQL's row leases: on SQLite it is refused as `sync --worker`
    is; --batch and --name belong to --worker; a --name that is no name and a lease shorter than a write's
    longest time are bad input too. Each: one line, exit 2, nothing made."""
    env = {"ROOMSOPS_ROOMS_DATABASE": f"sqlite:///{tmp_path / 'rooms.db'}"}
    runs = {
        "sqlite": invoke("serve", "--worker", env=env),
        "batch": invoke("serve", "--batch", "5", env=env),
        "name": invoke("serve", "--name", "a", env=env),
        "bad name": invoke("serve", "--worker", "--name", "a b", env=env),
        "lease": invoke(  # refused before the database is opened (nothing listens on port 1)
            "serve",
            "--worker",
            env={"ROOMSOPS_ROOMS_DATABASE": "postgresql+psycopg://roomsops@127.0.0.1:1/rooms"}
            | {"ROOMSOPS_SYNC_WORKER_LEASE": "60"},
        ),
    }
    lines = {what: one_line_error(run) for what, run in runs.items()}
    assert {what: (run.code, run.out) for what, run in runs.items()} == dict.fromkeys(runs, (2, "")), lines
    assert lines["sqlite"].startswith("Error: serve --worker needs a PostgreSQL database"), lines
    assert "'roomsops serve' without --worker" in lines["sqlite"] and "db copy" in lines["sqlite"], lines
    assert (
        lines["batch"]
        == lines["name"]
        == ("Error: --batch and --name belong to --worker — add --worker, or leave them out")
    )
    assert lines["bad name"].startswith(
        "Error: --name 'a b' is not a worker name: it names the service's leases"
    )
    assert lines["lease"].startswith("Error: sync.worker_lease is 60 s, shorter than"), lines
    assert list(tmp_path.iterdir()) == []
