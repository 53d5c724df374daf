"""The HTTP client the Graph backend will use (`requests`, its own Session trusting the lab's CA, trust_env off),
wrapped for tests: app-only tokens for https://graph.microsoft.com from the lab's token service, and every JSON
answer checked against Graph's v1.0 metadata (tests/graph_csdl.py) as it arrives."""

from __future__ import annotations

import re
from typing import Any

import requests

from tests.graph_csdl import Checker

GRAPH = "https://graph.microsoft.com"
#: One checker for the whole test run: its counts are what the CSDL check reports.
CSDL = Checker()

_COLLECTIONS = [
    (re.compile(r"/subscriptions/?$"), "subscription"),
    (re.compile(r"/translateExchangeIds/?$"), "convertIdResult"),
    (re.compile(r"/(events|calendarView|calendarView/delta|instances)/?$"), "event"),
]
_ENTITIES = [
    (re.compile(r"/subscriptions(/[^/]+)?/?$"), "subscription"),
    (re.compile(r"/events(/[^/]+)?/?$"), "event"),
    (re.compile(r"/users/[^/]+/?$"), "user"),
    (re.compile(r"/calendar/?$"), "calendar"),
]


def session(ca: str) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = ca
    return s


def check_answer(method: str, url: str, status: int, body: Any) -> list[str]:
    """Check one Graph JSON answer by what was asked: errors, collections, single entities."""
    path = url.split("?", 1)[0]
    if status >= 400:
        error = dict(body.get("error") or {}) if isinstance(body, dict) else {}
        inner = error.pop("innerError", None)
        found = CSDL.check(error, "publicError", "$.error")
        if set(body) - {"error"}:
            found.append(f"an error answer has more than error: {sorted(body)}")
            CSDL.violations.append(found[-1])
        if inner is not None:
            found += CSDL.check(inner, "InnerError", "$.error.innerError")
        return found
    if path.rstrip("/").endswith("$batch"):
        found = []
        for answer in body.get("responses", []):
            if isinstance(answer.get("body"), dict):
                sub_url = next((r for r in _BATCH_URLS.get(id(body), {}).get(answer["id"], [])), "")
                found += check_answer("", sub_url or "/events", int(answer["status"]), answer["body"])
        return found
    if isinstance(body, dict) and "value" in body and isinstance(body["value"], list):
        kind = next((k for p, k in _COLLECTIONS if p.search(path)), None)
        if kind is not None:
            return CSDL.check_collection(body, kind)
    kind = next((k for p, k in _ENTITIES if p.search(path)), None)
    if kind is None:
        CSDL.violations.append(f"{method} {path}: no type known for the answer")
        return CSDL.violations[-1:]
    return CSDL.check(body, kind)


_BATCH_URLS: dict[int, dict[str, list[str]]] = {}


class GraphClient:
    def __init__(self, base_url: str, ca: str, token_url: str, client_id: str, secret: str) -> None:
        self.base = f"{base_url}/v1.0"
        self.http = session(ca)
        self.token_url = token_url
        self.client_id = client_id
        self.secret = secret
        self._token: str | None = None

    def token(self, fresh: bool = False) -> str:
        if self._token is None or fresh:
            answer = self.http.post(
                self.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.secret,
                    "scope": f"{GRAPH}/.default",
                },
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            self._token = str(answer.json()["access_token"])
        return self._token

    def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        check: bool = True,
        timeout: float = 30,
    ) -> requests.Response:
        url = path if path.startswith("https://") else f"{self.base}{path}"
        sent = {"Authorization": f"Bearer {token if token is not None else self.token()}", **(headers or {})}
        if token == "":
            sent.pop("Authorization")
        answer = self.http.request(method, url, json=json, headers=sent, timeout=timeout)
        if check and answer.content and "json" in answer.headers.get("Content-Type", ""):
            body = answer.json()
            if path.rstrip("/").endswith("$batch") and isinstance(json, dict):
                _BATCH_URLS[id(body)] = {str(r["id"]): [str(r["url"])] for r in json.get("requests", [])}
            found = check_answer(method, url, answer.status_code, body)
            _BATCH_URLS.pop(id(body), None)
            assert not found, found
        return answer

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.call("PATCH", path, json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)


def report(request: Any) -> None:
    """Write the CSDL check's counts to the terminal (at the end of a test module)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(
            f"Graph CSDL check: {CSDL.checked} answers checked, {len(CSDL.violations)} violations"
        )
