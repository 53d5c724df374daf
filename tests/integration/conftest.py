"""Fixtures for integration tests: one lab per session on a free port, and a fresh tenant per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from roomsops.lab import Lab
from tests.campaign import campaign_env

Addr = Callable[[str], str]
# The count keys of the cmdlets that change the tenant (`/lab/requests`).
CHANGING = ("cmdlet:New-", "cmdlet:Add-", "cmdlet:Remove-", "cmdlet:Set-")


def http_session(ca: str | Path) -> requests.Session:
    """A session that trusts the lab's CA. trust_env=False: REQUESTS_CA_BUNDLE would override verify."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca)
    return session


class LabHelper:
    """The running lab as tests see it: its files, endpoints and admin API."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.session = http_session(lab.ca_path)

    @property
    def dir(self) -> Path:
        return self.lab.dir

    @property
    def base_url(self) -> str:
        return self.lab.base_url

    @property
    def info(self) -> dict[str, Any]:
        return self.lab.info

    @property
    def settings_path(self) -> Path:
        return self.lab.settings_path

    @property
    def ca(self) -> str:
        return str(self.lab.ca_path)

    @property
    def tenant_id(self) -> str:
        return str(self.info["tenant"]["id"])

    @property
    def authority(self) -> str:
        return str(self.info["endpoints"]["authority"])

    @property
    def token_url(self) -> str:
        return str(self.info["endpoints"]["token"])

    @property
    def scope(self) -> str:
        """The `<EWS resource>/.default` scope an app-only token is asked for."""
        return f"{self.base_url}/.default"

    def app(self, name: str) -> dict[str, Any]:
        """lab.json's entry of an app: "rooms" (the sync app) or "admin"."""
        return dict(self.info["apps"][name])

    def http(self) -> requests.Session:
        """A new session trusting the lab's CA (e.g. an msal http_client of its own)."""
        return http_session(self.ca)

    def admin(self, method: str, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        """Call the admin API: `path` is "/lab/..." or relative to it ("state", "faults")."""
        url = f"{self.base_url}{path}" if path.startswith("/") else f"{self.base_url}/lab/{path}"
        headers = {"Authorization": f"Bearer {self.lab.admin_token}", **kwargs.pop("headers", {})}
        return self.session.request(method, url, json=json, timeout=10, headers=headers, **kwargs)

    def reset(self) -> None:
        assert self.admin("POST", "reset").status_code == 200

    def requests(self) -> dict[str, int]:
        response = self.admin("GET", "requests")
        assert response.status_code == 200
        return dict(response.json())

    def reset_requests(self) -> None:
        assert self.admin("POST", "requests/reset").status_code == 200

    def fault(self, **spec: Any) -> dict[str, Any]:
        response = self.admin("POST", "faults", json=spec)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def clear_faults(self) -> None:
        assert self.admin("DELETE", "faults").status_code == 200

    def settings(self, **changes: Any) -> dict[str, Any]:
        response = self.admin("POST", "settings", json=changes)
        assert response.status_code == 200, response.text
        return dict(response.json())


#: Rooms answer meeting requests only when a test asks (POST /lab/room-answers/process) or sets the delay to 0
#: (tests about something else, saying so): an attendant answering after seconds would make tests depend on timing.
ROOM_ANSWERS_ON_DEMAND = 24 * 3600.0
#: The lab's default first retry wait of a Graph change notification; a test that changes it is undone here.
NOTIFICATION_BACK_OFF = 0.5


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHelper]:
    # A 1-second device code polling interval keeps device-flow tests short (real Entra says 5).
    running = Lab(
        tmp_path_factory.mktemp("lab"), device_code_interval=1, room_answer_delay=ROOM_ANSWERS_ON_DEMAND
    ).start()
    try:
        yield LabHelper(running)
    finally:
        running.stop()


@pytest.fixture
def fresh_lab(lab: LabHelper) -> LabHelper:
    """The session lab with its seed tenant, no faults and zeroed request counts."""
    lab.reset()
    lab.clear_faults()
    lab.reset_requests()
    lab.settings(room_answer_delay=ROOM_ANSWERS_ON_DEMAND, notification_back_off=NOTIFICATION_BACK_OFF)
    return lab


@pytest.fixture
def env(fresh_lab: LabHelper, tmp_path: Path, rooms_database: str) -> dict[str, str]:
    """ROOMSOPS_* for a CLI run against the lab: its roomsops.toml and WinRM password; the database, logs and
    sync summary in the test's folder (the database on PostgreSQL for a test marked both_databases)."""
    password = str(fresh_lab.info["winrm"]["password"])
    found = campaign_env(tmp_path, fresh_lab.settings_path, {"ROOMSOPS_WINRM_PASSWORD": password})
    return found | {"ROOMSOPS_ROOMS_DATABASE": rooms_database} if rooms_database else found


def address(lab: LabHelper, alias: str) -> str:
    """A mailbox address in the lab's tenant: address(lab, "DiegoS") is DiegoS@<the lab's domain>."""
    return f"{alias}@{lab.info['tenant']['domain']}"


@pytest.fixture
def addr(fresh_lab: LabHelper) -> Addr:
    """addr("DiegoS") is DiegoS@<the lab's domain>."""
    return lambda alias: address(fresh_lab, alias)


def changes(lab: LabHelper) -> dict[str, int]:
    """The counts of tenant-changing cmdlets run since the last reset of the lab's request counts."""
    return {k: v for k, v in lab.requests().items() if k.startswith(CHANGING)}
