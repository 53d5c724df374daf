"""Microsoft Graph over `requests`: app-only tokens from msal (adapters/entra), roomsops' retry rules, and at most
`graph.per_mailbox_concurrency` requests in flight per mailbox.

Why `requests` and not httpx or the Graph SDK: roomsops already ships `requests` (msal and exchangelib use it), so
Graph adds no dependency, no install size and nothing to `requirements.lock`; httpx would add httpx, httpcore,
h11, anyio and sniffio for features this client does not use (HTTP/2, async). The module is imported only by
commands that talk to Graph, so `roomsops --help` does not load it.

Retry rules (graph/throttling, graph/best-practices): 429 and 503 are waited out (the server's Retry-After, else
a doubling back-off), with up to 20 % jitter, within a budget per call, then `Throttled`. A 401 drops the cached
token and is tried once more with a fresh one. A write whose answer was lost is never sent again: the caller
gets `WriteOutcomeUnknown` and looks the item up by its tag (a create also carries a `transactionId`, so a write
that Graph answers with 429/503 and that is sent again cannot make a second event). A GET (idempotent) whose
connection dropped or that Graph answered 500, 502 or 504 is sent again, at most `GET_RETRIES` times after a short
back-off, each retry counted (`read_retries`); so is a $batch of GETs only, as a whole (its POST dropped or answered
500/502/504) and per request (a GET in it answered 500/502/504 goes in the next batch, at most `GET_RETRIES` times);
another request that is no write (a subscription's renewal) whose connection dropped is sent once more; a write
never, nor a write inside a $batch. The waits before these retries count against the call's `retry_budget` (a
$batch: per chunk of 20, its POST's and its requests' waits together) like the 429/503 waits: a retry that would
exceed it is not made and the failure is the caller's. A call thus waits at most `retry_budget` seconds in all and
sends a request at most 1 + GET_RETRIES times for server errors and lost answers (each send bounded by
`network.timeout_seconds`), plus once per 429/503 waited out within the budget.
Every request says `Prefer: IdType="ImmutableId"`: ids survive moves between folders.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3.exceptions

from roomsops.adapters import net
from roomsops.adapters.entra.tokens import TokenProvider
from roomsops.adapters.graph.errors import (
    TLS_REMEDY,
    GraphUnauthorized,
    from_answer,
    graph_error,
)
from roomsops.core import traffic
from roomsops.core.logs import log
from roomsops.core.settings import Settings
from roomsops.core.write_fence import before_write

DEFAULT_BACK_OFF = 2.0  # seconds, when a 429/503 names no Retry-After (doubled on each further one)
MAX_BACK_OFF = 60.0  # one wait at most, whatever the server asks (the budget still bounds the sum)
JITTER = 0.2  # each wait is lengthened by up to this share, so that waiting clients do not return together
READ_RECONNECTS = (
    1  # another request no write (renew a subscription) whose connection dropped is sent again this often
)
GET_RETRIES = (
    2  # a GET (or a $batch of GETs only) whose connection dropped or answered 500/502/504: sent again at most
)
# this often
GET_RETRY_BACK_OFF = 0.5  # seconds before the first retry of a GET (doubled for the next), with jitter
RETRIED_STATUSES = (500, 502, 504)  # a server's failure to answer a GET: the read is sent again
MAX_BATCH = 20  # requests in one $batch (graph/json-batching)
IMMUTABLE_IDS = 'IdType="ImmutableId"'

_sent = threading.local()


def requests_sent() -> int:
    """Graph requests this thread has sent (a $batch is one): a pass's cost."""
    return int(getattr(_sent, "count", 0))


def _count() -> None:
    _sent.count = requests_sent() + 1


def _operation(method: str, url: str, what: str) -> str:
    """The operation of a request for `roomsops serve`'s metrics: the client's name for it (`what`, a constant such
    as "calendarView delta" or "create subscription"; a $batch's prefixed), else the method."""
    name = what or method.upper()
    return f"$batch {name}" if urlsplit(url).path.endswith("/$batch") else name


def read_retries() -> int:
    """GETs this thread has sent again after a dropped connection or a 500/502/504 (each also a request sent)."""
    return int(getattr(_sent, "retries", 0))


def _count_retry() -> None:
    _sent.retries = read_retries() + 1


@dataclass
class Answer:
    """One Graph answer: status, headers (lower-case names) and JSON body (None when empty)."""

    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class SubRequest:
    """One request of a $batch: `url` relative to /v1.0, `body` JSON (None: none)."""

    method: str
    url: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Waited:
    """The seconds a call has waited before sending again (429/503 and retries of reads): at most `retry_budget`."""

    seconds: float = 0.0


class _Slots:
    """The requests in flight to one mailbox: at most `limit`; a $batch takes all of them (Graph runs a batch's
    requests up to four at a time, each holding one of Outlook's four concurrent requests per app and mailbox)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.waiting = 0
        self.peak = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, n: int) -> Iterator[None]:
        n = min(n, self.limit)
        with self._cond:
            self.waiting += 1
            try:
                self._cond.wait_for(lambda: self.active + n <= self.limit)
            finally:
                self.waiting -= 1
            self.active += n
            self.peak = max(self.peak, self.active)
        try:
            yield
        finally:
            with self._cond:
                self.active -= n
                self._cond.notify_all()


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds (Graph sends seconds); None when absent, zero or unreadable."""
    try:
        seconds = float(headers.get("retry-after", ""))
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def user_path(mailbox: str) -> str:
    """The user's path. A userPrincipalName beginning with `$` goes in parentheses and single quotes (a quote in
    it doubled), as Microsoft documents (graph/api/user-get): `/users/$x@y.com` is 400 Bad Request, OData reserving
    `$` for system query options."""
    if mailbox.startswith("$"):
        return "/users('" + quote(mailbox.replace("'", "''"), safe="@$'") + "')"
    return f"/users/{quote(mailbox, safe='@')}"


class GraphClient:
    """Graph for many mailboxes with one app-only token provider; safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        provider: TokenProvider,
        retry_budget: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.base = f"{settings.cloud.graph_url}/v1.0"
        self.provider = provider
        self.retry_budget = retry_budget
        self.timeout = settings.network.timeout_seconds
        self.limit = settings.graph.per_mailbox_concurrency
        self._sleep = sleep
        self._jitter = jitter
        self.session = net.http_session(settings)  # network.ca_bundle and proxy, never the environment's
        pool = max(settings.sync.concurrency * self.limit, 4)
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool, pool_maxsize=pool, max_retries=0)
        self.session.mount("https://", adapter)
        self._slots: dict[str, _Slots] = {}
        self._lock = threading.Lock()

    def owns(self, url: str) -> bool:
        """The URL is on Graph's endpoint (`cloud.graph_url`): a next or delta link Graph gave, not another host."""
        mine, other = urlsplit(self.base), urlsplit(url)
        return (other.scheme, other.netloc.lower()) == (
            mine.scheme,
            mine.netloc.lower(),
        ) and other.path.startswith(mine.path + "/")

    def slots(self, mailbox: str) -> _Slots:
        key = mailbox.casefold()
        with self._lock:
            if key not in self._slots:
                self._slots[key] = _Slots(self.limit)
            return self._slots[key]

    # --- one request, with the retry rules ---------------------------------------------------------------

    def request(
        self,
        mailbox: str,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        write: bool = False,
        what: str = "",
        slots: int = 1,
        reads_only: bool = False,
        waited: _Waited | None = None,
    ) -> Answer:
        """Send one request (`url` relative to /v1.0, or a next/delta link as Graph gave it, used as is); the
        answer if it is a success, else the port's error. 429/503 are waited out within the budget; a GET (or, with
        `reads_only`, a POST that only reads: a $batch of GETs) is sent again after a 500/502/504 or a dropped
        connection, at most GET_RETRIES times, its waits within the same budget (`waited`: one shared with the
        caller, as a $batch's with its requests' retries)."""
        full = url if url.startswith("https://") else self.base + url
        if not self.owns(full):  # the token goes only to Graph, whatever a link says
            raise graph_error(
                "failed", mailbox, f"{what or method}: a link to another host than cloud.graph_url"
            )
        if write:
            before_write()  # a sync worker's lease, proved before each write request (core/write_fence.py)
        waited = _Waited() if waited is None else waited
        busy = 0
        reconnects = 0
        fresh_token = False
        # Only a read is sent again after a server error or a lost answer: it changes nothing. A write's lost answer
        # is the caller's (its pending intent, the tag lookup, the transactionId), never resent here.
        idempotent = (method.upper() == "GET" or reads_only) and not write
        retries = GET_RETRIES if idempotent else (0 if write else READ_RECONNECTS)
        while True:
            try:
                traffic.requested("graph", _operation(method, full, what))
                answer = self._send(mailbox, method, full, body, headers, slots)
            except requests.RequestException as exc:
                wait = self._retry_wait(reconnects + 1)
                if (
                    write
                    or reconnects >= retries
                    or _never_connected(exc)
                    or waited.seconds + wait > self.retry_budget
                ):
                    raise self._lost(exc, mailbox, write, what) from None
                reconnects += 1
                waited.seconds += wait
                self._retry(
                    mailbox, method, what, f"the connection dropped ({type(exc).__name__})", reconnects, wait
                )
                continue
            if idempotent and answer.status in RETRIED_STATUSES and reconnects < retries:
                wait = self._retry_wait(reconnects + 1)
                if waited.seconds + wait <= self.retry_budget:
                    reconnects += 1
                    waited.seconds += wait
                    self._retry(mailbox, method, what, f"HTTP {answer.status}", reconnects, wait)
                    continue
            if answer.status in (429, 503):
                wait = self._back_off(answer.headers, busy)
                if waited.seconds + wait > self.retry_budget:
                    raise graph_error(
                        "throttled",
                        mailbox,
                        f"{what or method}: throttled beyond the retry budget of {self.retry_budget:g}s "
                        f"(HTTP {answer.status}, the server asked to wait {wait:g}s)",
                    )
                log.info("Graph answered %s for %s; backing off %.2fs", answer.status, mailbox, wait)
                waited.seconds += wait
                traffic.throttled("graph", wait)
                busy += 1
                self._sleep(wait)
                continue
            if answer.status == 401:
                self.provider.invalidate()  # the next request fetches a fresh token
                if not fresh_token:
                    fresh_token = True
                    continue
                raise GraphUnauthorized(
                    f"Microsoft Graph refused the app's token for {mailbox} (HTTP 401)",
                    "run roomsops auth test",
                    code="graph_unauthorized",
                )
            if not answer.ok:
                raise from_answer(
                    answer.status, answer.body, mailbox, what or f"{method} {url.split('?')[0]}"
                )
            return answer

    def _retry_wait(self, attempt: int) -> float:
        """The back-off before a read's retry number `attempt`: short, doubled per attempt, with jitter."""
        return GET_RETRY_BACK_OFF * 2 ** (attempt - 1) * (1 + JITTER * self._jitter())

    def _retry(self, mailbox: str, method: str, what: str, why: str, attempt: int, wait: float) -> None:
        """Count and log a read sent again, after its back-off `wait`."""
        _count_retry()
        log.info(
            "Graph %s for %s (%s): %s; sent again (retry %d)", method, mailbox, what or "read", why, attempt
        )
        self._sleep(wait)

    def _back_off(self, headers: Mapping[str, str], busy: int) -> float:
        base = retry_after(headers) or DEFAULT_BACK_OFF * 2**busy
        return min(base, MAX_BACK_OFF) * (1 + JITTER * self._jitter())

    def _headers(self, extra: Mapping[str, str] | None, has_body: bool) -> dict[str, str]:
        token = self.provider.token().access_token
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Prefer": IMMUTABLE_IDS}
        if has_body:
            headers["Content-Type"] = "application/json"
        for name, value in (extra or {}).items():
            headers[name] = f"{headers[name]}, {value}" if name == "Prefer" else value
        return headers

    def _send(
        self,
        mailbox: str,
        method: str,
        url: str,
        body: Any,
        headers: Mapping[str, str] | None,
        slots: int,
    ) -> Answer:
        data = None if body is None else json.dumps(body).encode("utf-8")
        sent_headers = self._headers(headers, data is not None)
        with self.slots(mailbox).hold(slots):
            _count()
            response = self.session.request(
                method, url, data=data, headers=sent_headers, timeout=self.timeout
            )
        try:
            parsed = response.json() if response.content else None
        except ValueError:
            parsed = None
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, parsed)

    def _lost(self, exc: Exception, mailbox: str, write: bool, what: str) -> Exception:
        tls = net.tls_error(exc, "Microsoft Graph", TLS_REMEDY)
        if tls is not None:
            return tls
        if _never_connected(exc):
            return net.connect_error(
                exc,
                "Microsoft Graph",
                tls_remedy=TLS_REMEDY,
                remedy="check the network, network.proxy and cloud.graph_url",
                code="graph_unreachable",  # Graph itself not reached: a pass where every mailbox says so exits 3
            )
        if write:
            return graph_error(
                "write_outcome_unknown", mailbox, f"{what}: the connection dropped during a write"
            )
        return graph_error(
            "connection", mailbox, f"{what}: no answer from Graph ({type(exc).__name__}, {net.reason(exc)})"
        )

    # --- $batch ------------------------------------------------------------------------------------------

    def batch(self, mailbox: str, requests_: Sequence[SubRequest], *, write: bool, what: str) -> list[Answer]:
        """Send up to 20 requests in one $batch (more: several) and answer each in order. A request answered
        429/503 inside the batch is sent again in the next batch after its Retry-After (within the budget): it
        was not applied, or, for a create, its transactionId makes Graph answer the event it made. A GET inside a
        batch that is no write answered 500/502/504 is sent again too, at most GET_RETRIES times, its back-off
        within the same budget; a write never. A batch of GETs only is itself a read: sent again like a GET."""
        answers: list[Answer | None] = [None] * len(requests_)
        reads_only = not write and all(r.method.upper() == "GET" for r in requests_)
        for first in range(0, len(requests_), MAX_BATCH):
            chunk = list(range(first, min(first + MAX_BATCH, len(requests_))))
            waited = _Waited()  # the chunk's, shared with its POST's retries
            busy = 0
            failed: dict[int, int] = {}  # a GET's retries after 500/502/504 so far
            while chunk:
                payload = {
                    "requests": [
                        {
                            "id": str(i),
                            "method": requests_[i].method,
                            "url": requests_[i].url,
                            "headers": {
                                "Prefer": IMMUTABLE_IDS,
                                **(
                                    {"Content-Type": "application/json"}
                                    if requests_[i].body is not None
                                    else {}
                                ),
                                **requests_[i].headers,
                            },
                            **({"body": requests_[i].body} if requests_[i].body is not None else {}),
                        }
                        for i in chunk
                    ]
                }
                outer = self.request(
                    mailbox,
                    "POST",
                    "/$batch",
                    body=payload,
                    write=write,
                    what=what,
                    slots=self.limit,
                    reads_only=reads_only,
                    waited=waited,
                )
                again: list[int] = []
                wait = 0.0
                server_failed: list[tuple[int, Answer]] = []
                for entry in (outer.body or {}).get("responses", []):
                    index = int(entry["id"])
                    headers = {str(k).lower(): str(v) for k, v in (entry.get("headers") or {}).items()}
                    answer = Answer(int(entry.get("status", 0)), headers, entry.get("body"))
                    if answer.status in (429, 503):
                        again.append(index)
                        wait = max(wait, self._back_off(headers, busy))
                    elif (
                        not write
                        and requests_[index].method.upper() == "GET"
                        and answer.status in RETRIED_STATUSES
                        and failed.get(index, 0) < GET_RETRIES
                    ):
                        server_failed.append((index, answer))
                    else:
                        answers[index] = answer
                throttled = len(again)
                if server_failed:
                    # The longest back-off of the GETs sent again; beyond the budget they are not: their answers stand.
                    attempt = max(failed.get(i, 0) for i, _ in server_failed) + 1
                    retry_wait = self._retry_wait(attempt)
                    if waited.seconds + max(wait, retry_wait) <= self.retry_budget:
                        wait = max(wait, retry_wait)
                        for index, answer in server_failed:
                            failed[index] = failed.get(index, 0) + 1
                            again.append(index)
                            _count_retry()
                            log.info(
                                "Graph GET in a $batch for %s (%s): HTTP %s; sent again (retry %d)",
                                mailbox,
                                what or "read",
                                answer.status,
                                failed[index],
                            )
                    else:
                        for index, answer in server_failed:
                            answers[index] = answer
                missing = [i for i in chunk if answers[i] is None and i not in again]
                if missing:
                    raise graph_error(
                        "failed", mailbox, f"{what}: the $batch answer left out {len(missing)} requests"
                    )
                if again:
                    if waited.seconds + wait > self.retry_budget:
                        raise graph_error(
                            "throttled",
                            mailbox,
                            f"{what}: throttled beyond the retry budget of {self.retry_budget:g}s",
                        )
                    log.info(
                        "Graph throttled %d and failed %d requests of a batch for %s; backing off %.2fs",
                        throttled,
                        len(again) - throttled,
                        mailbox,
                        wait,
                    )
                    waited.seconds += wait
                    if throttled:
                        traffic.throttled("graph", wait)
                    busy += 1 if throttled else 0
                    self._sleep(wait)
                chunk = sorted(again)
        return [a for a in answers if a is not None]


#: The connection was never made: refused, no route, name not resolved (NewConnectionError and
#: NameResolutionError are ConnectTimeoutErrors in urllib3), or no answer to the connect within the timeout
#: (ConnectTimeoutError itself; requests' ConnectTimeout): nothing was sent.
_NOT_CONNECTED = (
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.NameResolutionError,
    requests.exceptions.ConnectTimeout,
)


def _never_connected(exc: BaseException) -> bool:
    """The connection was never made (refused, no route, name not resolved, connect timed out, TLS refused):
    nothing was sent."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _NOT_CONNECTED):
            return True
        if net.is_tls_failure(seen):
            return True
        for arg in getattr(seen, "args", ()):
            if isinstance(arg, BaseException) and arg is not seen and _never_connected_direct(arg):
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def _never_connected_direct(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", None)
    candidates = [exc, reason] if isinstance(reason, BaseException) else [exc]
    return any(isinstance(c, _NOT_CONNECTED) for c in candidates)
