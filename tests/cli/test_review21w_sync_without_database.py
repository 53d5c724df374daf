"""review21w: fix21u made read-only listings refuse where no database is, because a scheduled task whose settings do
not lead to the real database (Task Scheduler without ROOMSOPS_SETTINGS, another account's data folder) would see a
healthy, empty installation. The scheduled command itself still does exactly that: `roomsops --quiet sync` where no
database is creates rooms.db (with a new installation id), the lock and the summary file, prints "0 mailbox(es): no
changes", exit 0 — without even a token — and `sync status --max-age 30m`, README's monitor, then says "last full
run: ok", exit 0. The real installation's sync has stopped and every monitor is green (issue 21, Deliver 3 and 9;
README "Running it on the ROOMS server": a command that cannot do its job on its configuration creates nothing).
Expected: exit 2 no_database as the listings (the first database is made by `persons add`/`rooms add`)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Invoke


def test_a_sync_where_no_database_is_is_refused(invoke: Invoke, tmp_path: Path, app_settings: Path) -> None:
    run = invoke("--quiet", "sync")
    status = invoke("sync", "status", "--max-age", "30m")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("rooms.db")) == [], (
        run.out + run.err
    )
    assert run.code == 2, run.out + run.err
    assert status.code == 1, status.out + status.err
