"""Sync v2, item robustness (issue 19, bugs 1, 2 and 12): every Outlook value is mapped or the item parked with a
reason; one item never stops the others, one mailbox never stops the others.

Against the lab (real exchangelib); Outlook's edits through the lab's admin API ("as if in Outlook") or, where the
API has no field for it (all-day), through EWS impersonating the user.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from exchangelib import EWSDate
from exchangelib.items import SEND_TO_NONE, CalendarItem

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def calendar(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return list(lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"])


def organized(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return [i for i in calendar(lab, mailbox) if i["organizer"].lower() == mailbox.lower()]


def outlook_edit(lab: Any, mailbox: str, item_id: str, **fields: Any) -> None:
    response = lab.admin("PATCH", f"/lab/mailboxes/{mailbox}/calendar/{item_id}", json=fields)
    assert response.status_code == 200, response.text


def outlook_new(lab: Any, mailbox: str, **fields: Any) -> dict[str, Any]:
    response = lab.admin("POST", f"/lab/mailboxes/{mailbox}/calendar", json=fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


def bookings(invoke: Invoke, env: dict[str, str]) -> dict[int, dict[str, Any]]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b for b in found}


def mailbox(run: Any, address: str) -> dict[str, Any]:
    return next(m for m in json.loads(run.out)["mailboxes"] if m["mailbox"] == address)


@pytest.fixture
def synced(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    """DiegoS with booking 1 (room-zurich, DAY 08:00-09:00) and AdeleV with booking 2 (room-bern), synced once."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", addr("room-bern"), "--name", "Bern", env=env))
    for person, room in (("DiegoS", "room-zurich"), ("AdeleV", "room-bern")):
        ok(invoke("persons", "add", addr(person), "--sync-mode", "O365", env=env))
        add_hour_booking(invoke, env, addr(person), addr(room), DAY, f"Planning {person}")
    ok(invoke("sync", env=env))


@pytest.fixture
def ews_user(env: dict[str, str]) -> Any:
    """EWS as the user's Outlook would write (the app impersonating the user)."""
    import os

    from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings
    from roomsops.adapters.ews.client import EwsClient
    from roomsops.core.settings import app_settings_path, load_settings

    settings = load_settings(env["ROOMSOPS_SETTINGS"], environ={})
    provider = TokenProvider(
        credentials_from_app_settings(app_settings_path(None, settings, {}), settings, os.environ), settings
    )
    return EwsClient(settings, provider)


def test_an_all_day_item_is_skipped_and_counted_and_the_rest_syncs(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, ews_user: Any, synced: None
) -> None:
    """Bug 1: one all-day "Vacation" aborted every run for every mailbox (EWSDate has no timestamp)."""
    first = DAY.date() + timedelta(days=3)
    CalendarItem(
        account=ews_user.account(addr("DiegoS")),
        folder=ews_user.calendar(addr("DiegoS")),
        subject="Vacation",
        is_all_day=True,
        start=EWSDate.from_date(first),
        end=EWSDate.from_date(first + timedelta(days=2)),
        legacy_free_busy_status="OOF",
    ).save(send_meeting_invitations=SEND_TO_NONE)
    (vacation,) = [i for i in calendar(fresh_lab, addr("DiegoS")) if i["subject"] == "Vacation"]
    assert vacation["is_all_day"] is True
    ok(invoke("bookings", "update", "1", "--title", "Planning v2", env=env))
    ok(invoke("bookings", "update", "2", "--title", "Adele v2", env=env))
    run = ok(invoke("--json", "sync", env=env))
    diego = mailbox(run, addr("DiegoS"))
    assert (diego["skipped"], diego["updated"], diego["failures"]) == ({"all-day": 1}, 1, [])
    assert mailbox(run, addr("AdeleV"))["updated"] == 1
    assert {i["subject"] for i in organized(fresh_lab, addr("DiegoS"))} == {"Planning v2", "Vacation"}
    assert [i["subject"] for i in organized(fresh_lab, addr("AdeleV"))] == ["Adele v2"]
    assert len(bookings(invoke, env)) == 2  # the vacation booked nothing
    summary = json.loads(Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text())
    assert summary["ok"] is True


#: Outlook's "Show as" values and the ROOMS free/busy each becomes (ROOMS holds Free, Tentative, Busy, OOF).
SHOW_AS = {
    "Free": "Free",
    "Tentative": "Tentative",
    "Busy": "Busy",
    "OOF": "OOF",
    "WorkingElsewhere": "Free",
    "NoData": "Busy",
}


@pytest.mark.parametrize("show_as", list(SHOW_AS))
def test_every_show_as_value_is_mapped_without_phantom_edits(
    show_as: str, invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """Bug 2: "Show as: Working elsewhere" aborted every run (CHECK constraint failed: ck_bookings_free_busy)."""
    (meeting,) = organized(fresh_lab, addr("DiegoS"))
    outlook_edit(fresh_lab, addr("DiegoS"), meeting["id"], free_busy=show_as)
    outlook_new(
        fresh_lab,
        addr("DiegoS"),
        subject="Booked in Outlook",
        start=stamp(DAY + timedelta(hours=3)),
        end=stamp(DAY + timedelta(hours=4)),
        resources=[addr("room-zurich")],
        free_busy=show_as,
    )
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200  # the room accepts it
    run = invoke("--json", "sync", env=env)
    assert run.code == 0, run.out + run.err
    found = bookings(invoke, env)
    assert (found[1]["free_busy"], found[3]["free_busy"]) == (SHOW_AS[show_as], SHOW_AS[show_as])
    assert found[3]["title"] == "Booked in Outlook"
    again = mailbox(ok(invoke("--json", "sync", env=env)), addr("DiegoS"))
    assert (again["exchange_edits"], again["updated"], again["failures"]) == (0, 0, [])
    assert {i["free_busy"] for i in organized(fresh_lab, addr("DiegoS"))} == {show_as}  # Outlook's value kept


def test_a_new_zero_length_meeting_is_skipped_and_counted(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """Bug 2: a zero-length meeting inviting a room aborted every run (CHECK constraint end_after_start)."""
    outlook_new(
        fresh_lab,
        addr("DiegoS"),
        subject="Zero",
        start=stamp(DAY + timedelta(hours=3)),
        end=stamp(DAY + timedelta(hours=3)),
        resources=[addr("room-zurich")],
    )
    ok(invoke("bookings", "update", "2", "--title", "Adele v2", env=env))
    run = ok(invoke("--json", "sync", env=env))
    assert mailbox(run, addr("DiegoS"))["skipped"] == {"zero-length": 1}
    assert mailbox(run, addr("AdeleV"))["updated"] == 1
    assert sorted(bookings(invoke, env)) == [1, 2]


def test_a_synced_meeting_made_zero_length_is_a_conflict_rolled_back(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """A change ROOMS cannot hold (no duration) is handled as the person's SyncConflictBehaviour (Rollback)."""
    (meeting,) = organized(fresh_lab, addr("DiegoS"))
    outlook_edit(fresh_lab, addr("DiegoS"), meeting["id"], end=meeting["start"])
    run = invoke("--json", "sync", env=env)
    assert run.code == 1
    diego = mailbox(run, addr("DiegoS"))
    (failure,) = diego["failures"]
    assert "the meeting lasts no time in Outlook" in failure and "meeting reset to the booking" in failure
    assert diego["rolled_back"] == 1
    (meeting,) = organized(fresh_lab, addr("DiegoS"))
    assert (meeting["start"], meeting["end"]) == (stamp(DAY), stamp(DAY + timedelta(hours=1)))
    booking = bookings(invoke, env)[1]
    assert (booking["start"], booking["status"]) == (DAY.isoformat(), "active")


def test_an_empty_outlook_subject_gives_the_default_title(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """Bug 12: an empty Outlook subject became an empty booking title (ROOMS refuses empty titles)."""
    (meeting,) = organized(fresh_lab, addr("DiegoS"))
    outlook_edit(fresh_lab, addr("DiegoS"), meeting["id"], subject="")
    first = mailbox(ok(invoke("--json", "sync", env=env)), addr("DiegoS"))
    assert first["exchange_edits"] == 1
    assert bookings(invoke, env)[1]["title"] == "(no subject)"
    again = mailbox(ok(invoke("--json", "sync", env=env)), addr("DiegoS"))
    assert (again["exchange_edits"], again["updated"]) == (0, 0)
    assert [i["subject"] for i in organized(fresh_lab, addr("DiegoS"))] == [""]  # Outlook's subject kept


def test_an_over_long_outlook_subject_is_cut_as_exchange_cuts_it(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    (meeting,) = organized(fresh_lab, addr("DiegoS"))
    outlook_edit(fresh_lab, addr("DiegoS"), meeting["id"], subject="x" * 300)
    ok(invoke("sync", env=env))
    assert bookings(invoke, env)[1]["title"] == "x" * 255
    again = mailbox(ok(invoke("--json", "sync", env=env)), addr("DiegoS"))
    assert (again["exchange_edits"], again["updated"]) == (0, 0)


def test_a_sub_second_rooms_time_is_no_phantom_outlook_edit(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """Bug 12: Exchange keeps whole seconds; a sub-second ROOMS time came back as an "Outlook edit"."""
    start = DAY + timedelta(hours=3, microseconds=500_000)
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-bern"),
            "--start",
            start.isoformat(),
            "--end",
            (start + timedelta(hours=1)).isoformat(),
            "--title",
            "Sub-second",
            env=env,
        )
    )
    assert bookings(invoke, env)[3]["start"] == start.isoformat()
    ok(invoke("sync", env=env))
    # The room's answer changes the meeting: the sync reads it again and must see no edit.
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    run = mailbox(ok(invoke("--json", "sync", env=env)), addr("DiegoS"))
    assert (run["exchange_edits"], run["updated"], run["differences"]) == (0, 0, 0)
    assert bookings(invoke, env)[3]["start"] == start.isoformat()


def _poison(env: dict[str, str], sql: str) -> None:
    """A trigger in the ROOMS database that refuses one write: a deterministic unexpected failure."""
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute(sql)


def test_an_unexpected_failure_in_one_item_parks_it_and_the_rest_syncs(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    _poison(
        env,
        "CREATE TRIGGER poison BEFORE INSERT ON bookings WHEN NEW.title = 'Poison' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned by the test'); END",
    )
    outlook_new(
        fresh_lab,
        addr("DiegoS"),
        subject="Poison",
        start=stamp(DAY + timedelta(hours=3)),
        end=stamp(DAY + timedelta(hours=4)),
        resources=[addr("room-zurich")],
    )
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200  # the room accepts it
    ok(invoke("bookings", "update", "1", "--title", "Planning v2", env=env))
    ok(invoke("bookings", "update", "2", "--title", "Adele v2", env=env))
    for _ in range(2):  # reported on every pass until it is settled
        run = invoke("--json", "sync", env=env)
        assert run.code == 1
        diego = mailbox(run, addr("DiegoS"))
        (failure,) = diego["failures"]
        assert "new meeting 'Poison'" in failure and "poisoned by the test" in failure
        assert diego["error"] is None
        assert mailbox(run, addr("AdeleV"))["failures"] == []
    assert {i["subject"] for i in organized(fresh_lab, addr("DiegoS"))} == {"Planning v2", "Poison"}
    assert [i["subject"] for i in organized(fresh_lab, addr("AdeleV"))] == ["Adele v2"]
    log = Path(env["ROOMSOPS_LOG_FILE"]).read_text()
    assert "poisoned by the test" in log
    _poison(env, "DROP TRIGGER poison")
    run = ok(invoke("--json", "sync", env=env))
    assert mailbox(run, addr("DiegoS"))["bookings_created"] == 1
    assert bookings(invoke, env)[3]["title"] == "Poison"


def test_an_unexpected_failure_in_one_mailbox_fails_that_mailbox_only(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    _poison(
        env,
        f"CREATE TRIGGER poison BEFORE UPDATE ON mailbox_sync WHEN NEW.mailbox = '{addr('AdeleV').lower()}' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned by the test'); END",
    )
    ok(invoke("bookings", "update", "1", "--title", "Planning v2", env=env))
    run = invoke("--json", "sync", env=env)
    assert run.code == 1
    adele = mailbox(run, addr("AdeleV"))
    assert "poisoned by the test" in adele["error"]
    assert mailbox(run, addr("DiegoS"))["updated"] == 1
    assert [i["subject"] for i in organized(fresh_lab, addr("DiegoS"))] == ["Planning v2"]
    summary = json.loads(Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text())
    assert summary["ok"] is False
    assert [m["mailbox"] for m in summary["mailboxes"]] == [addr("AdeleV"), addr("DiegoS")]


def test_an_all_day_day_is_local_midnight() -> None:
    """The backend reads an all-day item's dates as local midnight (the lab normalises them so)."""
    from zoneinfo import ZoneInfo

    from roomsops.adapters.ews.backend import as_utc

    zurich = ZoneInfo("Europe/Zurich")
    assert as_utc(EWSDate.from_date(date(2026, 7, 1)), zurich) == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
