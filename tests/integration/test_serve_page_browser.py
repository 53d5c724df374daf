"""The status page of `roomsops serve` in a real headless browser: Debian's chromium, driven through its
chromedriver by Selenium's own Python bindings, opens `/` of a service running against the lab.

The page must show the expected rows (mailboxes, a failing one with its remedy, a booking the room declined, a
Graph subscription) and leave nothing in the browser's console at level SEVERE. A screenshot is saved as an
artefact: `artifacts/serve-status-page.png` at the top of the checkout (ignored by git), or under
`$ROOMSOPS_ARTIFACTS`.

scripts/test installs chromium and chromium-driver when they are missing (as root) or fails: a missing browser fails
this test, it is never skipped. Nothing here measures time: the waits count passes (their limits only end a hung
run)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from tests.conftest import Invoke, ok

from .test_serve_lab import (
    DAY,
    book,
    meetings,
    metrics,
    passes,
    room_answers,
    start,
    status_url,
    stopped,
    wait_for,
)
from .test_serve_webhook_lab import subscriptions, webhook, webhook_url

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name
HUNG = 120.0
ROOT = Path(__file__).resolve().parents[2]


def artifacts() -> Path:
    folder = Path(os.environ.get("ROOMSOPS_ARTIFACTS") or ROOT / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def installed(*names: str) -> list[str]:
    found = [shutil.which(n) for n in names]
    if None in found:
        pytest.fail(
            f"{' and '.join(n for n, f in zip(names, found, strict=True) if f is None)} not found: the status page is"
            " tested in a real browser — run scripts/test (it installs them as root), or apt-get install chromium"
            " chromium-driver"
        )
    return [str(f) for f in found]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless chromium with its console log kept (goog:loggingPrefs). Both executables are named, so Selenium
    Manager neither looks for nor downloads a browser or a driver."""
    chromium, chromedriver = installed("chromium", "chromedriver")
    options = Options()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root (CI) chromium refuses to start with its sandbox
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=chromedriver, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """The console entries at level SEVERE since the last call (reading the log empties it)."""
    return [str(e["message"]) for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def cells(row: Any) -> list[str]:
    return [str(td.text) for td in row.find_elements(By.TAG_NAME, "td")]


def test_the_status_page_renders_in_headless_chromium_with_the_rows_and_no_console_errors(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    browser: webdriver.Chrome,
) -> None:
    """AdeleV over EWS books Zürich for a slot MeganB's own meeting holds (the room declines it), ghost has no
    mailbox (every pass fails, with a remedy), DiegoS over Graph has a subscription (serve.listen is set)."""
    adele, diego, ghost, zurich = addr("AdeleV"), addr("DiegoS"), addr("ghost"), addr("room-zurich")
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", ghost, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    slot = DAY + timedelta(hours=12)
    own = {
        "subject": "Megan's own",
        "start": slot.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (slot + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [zurich],
    }
    assert fresh_lab.admin("POST", f"/lab/mailboxes/{addr('MeganB')}/calendar", json=own).status_code == 201
    assert room_answers(fresh_lab) == ["Accept"]
    declined = book(invoke, env, addr, "Wants Zürich too", 12, organizer=adele)
    book(invoke, env, addr, "Diego over Graph", 13, organizer=diego)

    process, err = start(
        env,
        tmp_path,
        **{**webhook(fresh_lab), "ews_interval": "1"},
    )
    stopped.append(process)
    url = status_url(err, process)
    webhook_url(err, process)
    wait_for(
        lambda: (
            (s := metrics(url))
            and passes(s, adele) >= 1
            and passes(s, diego) >= 1
            and subscriptions(fresh_lab)
        ),
        process,
    )
    assert meetings(fresh_lab, adele) == {str(declined): "Wants Zürich too"}
    assert sorted(room_answers(fresh_lab)) == ["Accept", "Decline"]  # Diego's slot is free, Adele's is not
    done = passes(metrics(url), adele)
    wait_for(lambda: passes(metrics(url), adele) >= done + 2, process)

    browser.get(url)
    assert browser.title == "roomsops serve: status"
    rows = {
        r.get_attribute("data-mailbox"): r
        for r in browser.find_elements(By.CSS_SELECTOR, "#mailboxes tbody tr[data-mailbox]")
    }
    assert set(rows) == {adele, diego, ghost}
    # Adele's pass reports the room's decline as her booking's conflict, naming who holds the room.
    shown = cells(rows[adele])
    assert shown[:2] == [adele, "ews"] and shown[3] == "failed", shown
    assert "the room's calendar is taken at this time by meganb@" in shown[5].lower(), shown
    assert cells(rows[diego])[:2] == [diego, "graph"] and cells(rows[diego])[3] == "ok"
    failing = cells(rows[ghost])
    assert rows[ghost].get_attribute("class") == "failed"
    assert failing[3] == "failed" and failing[5] and failing[6]  # the error and its remedy, as shown
    # The failing row is painted as one (the style sheet applied: a browser's view, not the HTML's text).
    assert rows[ghost].value_of_css_property("background-color") == "rgba(255, 221, 221, 1)"

    (room_declined,) = browser.find_elements(By.CSS_SELECTOR, f'#declined tr[data-booking="{declined}"]')
    shown = cells(room_declined)
    assert shown[:3] == [str(declined), adele, "room-declined"] and shown[3]  # with the room's reason

    (subscribed,) = browser.find_elements(By.CSS_SELECTOR, f'#subscriptions tr[data-subscription="{diego}"]')
    assert subscribed.get_attribute("class") == "ok"
    expires, problem = cells(subscribed)[1:]
    # Graph's expiry of the subscription, days ahead (3 asked; at most under 7 for events).
    ahead = datetime.fromisoformat(expires) - datetime.now(UTC)
    assert timedelta(days=1) < ahead < timedelta(days=7) and problem == "", (expires, problem)

    screenshot = artifacts() / "serve-status-page.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert console_errors(browser) == []

    # The console is read for real: a page that fails to load is reported there at level SEVERE.
    browser.get(url + "no-such-page")
    assert any("404" in message for message in console_errors(browser))

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0, err.read_text()
