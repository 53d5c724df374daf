"""/lab/graph/...: the admin side of the lab's Graph (behind the admin token, like every /lab/ path).

GET /lab/graph                               throttling, gate, sync states and subscriptions at a glance
POST /lab/graph/gate {"open": false|true}    hold Graph requests (after they got their throttling slot) / let go;
                                             {"open": false, "operations": ["events.create"]} holds only those
                                             (subscription requests, e.g. "subscriptions.delete", only when named)
POST /lab/graph/throttle {"rate_limit": n}   the requests per 10 minutes per app and mailbox (default 10,000)
POST /lab/graph/notifications {"delivery_timeout": s}  seconds a subscriber may take to answer (default 3)
POST /lab/graph/subscriptions/paging {"page_size": n}  subscriptions a page of GET /subscriptions holds (default 100)
POST /lab/graph/delta/expire                 forget every delta sync state (tokens answer 410 syncStateNotFound)
POST /lab/graph/subscriptions/{id}/lifecycle {"event": "reauthorizationRequired"|"subscriptionRemoved"|"missed"}
POST /lab/graph/reset                        all of it back to the start (no subscriptions, no states, gate open)
"""

from __future__ import annotations

import re

from roomsops.lab.graph.service import GraphService
from roomsops.lab.web import LabHandler, Request, Response

_LIFECYCLE = re.compile(r"^/lab/graph/subscriptions/(?P<id>[^/]+)/lifecycle/?$")


def _error(status: int, code: str, message: str) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message}})


class GraphAdmin(LabHandler):
    def __init__(self, graph: GraphService) -> None:
        self.graph = graph

    def classify(self, request: Request) -> tuple[str, str]:
        return "admin", "graph"

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        try:
            body = request.json() if request.body.strip() else {}
        except ValueError:
            return _error(400, "bad_json", "the body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "bad_json", "the body must be a JSON object")
        if request.method == "GET" and path == "/lab/graph":
            return Response.json(200, self.state())
        if request.method != "POST":
            return _error(405, "method_not_allowed", f"{request.method} is not allowed on {path}")
        setting = {
            "/lab/graph/gate": self._gate,
            "/lab/graph/throttle": self._throttle,
            "/lab/graph/notifications": self._notifications,
            "/lab/graph/subscriptions/paging": self._paging,
        }.get(path)
        if setting is not None:
            return setting(body)
        if path == "/lab/graph/delta/expire":
            return Response.json(200, {"expired": self.graph.delta.expire()})
        if path == "/lab/graph/reset":
            self.graph.throttle.reset()
            self.graph.delta.expire()
            self.graph.subscriptions.reset()
            return Response.json(200, self.state())
        found = _LIFECYCLE.match(path)
        if found:
            try:
                return Response.json(
                    200, self.graph.subscriptions.lifecycle(found.group("id"), str(body.get("event")))
                )
            except KeyError:
                return _error(404, "not_found", f"no subscription {found.group('id')}")
            except ValueError as exc:
                return _error(400, "bad_field", str(exc))
        return _error(404, "not_found", f"no such path: {path}")

    def _gate(self, body: dict[str, object]) -> Response:
        if not isinstance(body.get("open"), bool):
            return _error(400, "bad_field", 'give {"open": true} or {"open": false}')
        operations = body.get("operations")
        if operations is not None and (
            not isinstance(operations, list)
            or not operations
            or not all(isinstance(o, str) for o in operations)
        ):
            return _error(
                400, "bad_field", 'operations must be a list of operation names, e.g. ["events.create"]'
            )
        if body["open"]:
            self.graph.throttle.open_gate()
        else:
            self.graph.throttle.close_gate(frozenset(operations) if operations is not None else None)
        return Response.json(200, self.graph.throttle.state())

    def _throttle(self, body: dict[str, object]) -> Response:
        limit = body.get("rate_limit")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            return _error(400, "bad_field", "rate_limit must be a positive integer")
        self.graph.throttle.rate_limit = limit
        return Response.json(200, self.graph.throttle.state())

    def _notifications(self, body: dict[str, object]) -> Response:
        timeout = body.get("delivery_timeout")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 60:
            return _error(400, "bad_field", "delivery_timeout must be a number of seconds, 0 < s <= 60")
        self.graph.subscriptions.delivery_timeout = float(timeout)
        return Response.json(200, self.state())

    def _paging(self, body: dict[str, object]) -> Response:
        size = body.get("page_size")
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 1000:
            return _error(400, "bad_field", "page_size must be an integer, 1 <= n <= 1000")
        self.graph.subscriptions.page_size = size
        return Response.json(200, self.state())

    def state(self) -> dict[str, object]:
        return {
            "throttle": self.graph.throttle.state(),
            "subscriptions": self.graph.subscriptions.summary(),
            "delivery_timeout": self.graph.subscriptions.delivery_timeout,
            "subscriptions_page_size": self.graph.subscriptions.page_size,
            "stopped_deliveries": self.graph.subscriptions.stopped_deliveries,
        }
