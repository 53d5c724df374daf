"""/lab/graph/...: the admin side of the lab's Graph (behind the admin token, like every /lab/ path).

GET /lab/graph                               throttling, gate, sync states and subscriptions at a glance
POST /lab/graph/gate {"open": false|true}    hold Graph requests (after they got their throttling slot) / let go
POST /lab/graph/throttle {"rate_limit": n}   the requests per 10 minutes per app and mailbox (default 10,000)
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
        if path == "/lab/graph/gate":
            if not isinstance(body.get("open"), bool):
                return _error(400, "bad_field", 'give {"open": true} or {"open": false}')
            (self.graph.throttle.open_gate if body["open"] else self.graph.throttle.close_gate)()
            return Response.json(200, self.graph.throttle.state())
        if path == "/lab/graph/throttle":
            limit = body.get("rate_limit")
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
                return _error(400, "bad_field", "rate_limit must be a positive integer")
            self.graph.throttle.rate_limit = limit
            return Response.json(200, self.graph.throttle.state())
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

    def state(self) -> dict[str, object]:
        return {
            "throttle": self.graph.throttle.state(),
            "subscriptions": self.graph.subscriptions.summary(),
        }
