"""Change notifications (graph/webhooks, graph/api/subscription-post-subscriptions, graph/webhooks-lifecycle):
subscriptions to `/users/{id}/events`, the validation handshake, notifications POSTed to the subscriber with
retries, lifecycle notifications (triggered by the lab's admin API), all in the lab's memory.

A watcher thread runs while subscriptions exist: it compares each subscribed mailbox's change seq with the last one
notified and POSTs the changes (one notification per changed event). Deliveries run in their own threads and retry
a subscriber that fails or does not answer in time, with doubling back-off, a bounded number of times.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from roomsops.lab import authz
from roomsops.lab.context import LabContext
from roomsops.lab.ews.store import CALENDAR, changes_since
from roomsops.lab.graph.errors import GraphError, bad_request
from roomsops.lab.graph.ids import immutable_id, immutable_id_of_entry, rest_id
from roomsops.lab.tenant import Mailbox
from roomsops.lab.web import Request, Response

log = logging.getLogger("roomsops.lab.graph")

#: Outlook event subscriptions: at most 10,080 minutes (under 7 days) (graph/api/resources/subscription).
MAX_MINUTES = 10080
#: An expiration sooner than this is set to this many minutes after the request (graph/api/resources/subscription).
MIN_MINUTES = 45
VALIDATION_TIMEOUT = 10.0  # seconds the subscriber has to answer the validation request
#: Subscriptions a page of GET /subscriptions holds (unverified: Graph documents server-side paging, not this size).
PAGE_SIZE = 100
DELIVERY_TIMEOUT = 3.0  # seconds a notification POST may take before it counts as failed (unverified)
RETRIES = 4  # further attempts after a failed delivery (unverified: Graph retries for hours)
# The wait before the first retry, doubling: LabOptions.notification_back_off (0.5 s; unverified).
WATCH_INTERVAL = 0.1  # seconds between two looks at the subscribed mailboxes (lab-internal)
RIGHTS_INTERVAL = 1.0  # seconds between two judgements of an idle subscription's rights (lab-internal)
CHANGE_TYPES = ("created", "updated", "deleted")
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
#: Any of these opens a mailbox's events to a subscription (graph/api/subscription-post-subscriptions).
READ_PERMISSIONS = ("Calendars.Read", "Calendars.ReadWrite")
_RESOURCE = re.compile(r"^/?users/(?P<user>[^/]+)/events/?$", re.IGNORECASE)

Authorize = Callable[[str, list[str], str, tuple[str, ...]], Mailbox]


@dataclass
class Subscription:
    id: str
    app_id: str
    tenant_id: str
    mailbox_id: str
    user_object_id: str
    resource: str
    change_types: list[str]
    notification_url: str
    expiration: dt.datetime
    client_state: str | None = None
    lifecycle_url: str | None = None
    last_seq: int = 0
    generation: str = ""
    delivered: int = 0  # notifications the subscriber acknowledged
    attempts: int = 0  # POSTs made, retries included
    failed: int = 0  # notifications given up on
    lifecycle_sent: list[str] = field(default_factory=list)
    immutable: bool = False  # created with Prefer: IdType="ImmutableId": notifications name immutable ids
    unauthorized: bool = (
        False  # the app lost its rights on the mailbox: no notifications, reauthorization asked
    )

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.app_id,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": _offset(self.expiration),
            "creatorId": self.app_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


def _offset(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


class Subscriptions:
    def __init__(self, ctx: LabContext) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._subs: dict[str, Subscription] = {}
        # Deliveries whose retries stopped because their subscription was deleted or expired meanwhile (GET
        # /lab/graph `stopped_deliveries`): a test waits for that count, not for the retries' back-off.
        self.stopped_deliveries = 0
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        self._rights_checked: dict[
            str, float
        ] = {}  # subscription id -> time.monotonic() of the last judgement
        self.delivery_timeout = DELIVERY_TIMEOUT
        self.page_size = PAGE_SIZE
        self._load()

    # --- persistence: Graph keeps a subscription until it expires or is deleted, a lab restart included -----

    @property
    def _file(self) -> Path:
        return Path(self.ctx.dir) / "graph-subscriptions.json"

    def _load(self) -> None:
        try:
            rows = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        now = dt.datetime.now(dt.UTC)
        for row in rows if isinstance(rows, list) else []:
            try:
                row["expiration"] = dt.datetime.fromisoformat(row["expiration"])
                sub = Subscription(**row)
            except (KeyError, TypeError, ValueError):
                continue
            if sub.expiration > now:
                self._subs[sub.id] = sub
        if self._subs:
            self._ensure_watcher()

    def _save(self) -> None:
        """Write the subscriptions (temp file + rename, 0600); the caller holds self._lock."""
        rows = [{**asdict(s), "expiration": s.expiration.isoformat()} for s in self._subs.values()]
        temporary = self._file.with_suffix(".tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                json.dump(rows, out)
            os.replace(temporary, self._file)
        except OSError as exc:
            log.warning("could not save the Graph subscriptions: %s", exc)

    # --- the API -----------------------------------------------------------------------------------

    def handle(
        self,
        name: str,
        sub_id: str,
        request: Request,
        app_id: str,
        roles: list[str],
        tenant_id: str,
        authorize: Authorize,
        base: str,
    ) -> Response:
        if name == "subscriptions.create":
            return self._create(request, app_id, roles, tenant_id, authorize, base)
        if name == "subscriptions.list":
            return self._list(request, app_id, base)
        with self._lock:
            sub = self._subs.get(sub_id)
        if sub is None or sub.app_id != app_id:
            raise GraphError(404, "ResourceNotFound", f"The object was not found: subscription {sub_id}.")
        if name == "subscriptions.get":
            return Response.json(
                200, {"@odata.context": f"{base}/$metadata#subscriptions/$entity", **sub.json()}
            )
        if name in ("subscriptions.reauthorize", "subscriptions.update"):
            # Reauthorizing or renewing needs the permission creating it needs (graph/api/subscription-update,
            # graph/api/subscription-reauthorize): a revoked app does not keep its subscription alive.
            authorize(app_id, roles, sub.user_object_id, READ_PERMISSIONS)
        if name == "subscriptions.reauthorize":
            # graph/api/subscription-reauthorize: the answer to reauthorizationRequired; 204, nothing else changes.
            return Response(204)
        if name == "subscriptions.delete":
            with self._lock:
                self._subs.pop(sub.id, None)
                self._save()
            return Response(204)
        if name == "subscriptions.update":
            # graph/api/subscription-update: renew the expiration or move delivery to another notificationUrl
            # (validated as at creation).
            body = _body(request)
            if set(body) - {"expirationDateTime", "notificationUrl"} or not body:
                raise bad_request(
                    "Only expirationDateTime and notificationUrl can be updated.", "ValidationError"
                )
            expiration = (
                _expiration(body["expirationDateTime"]) if "expirationDateTime" in body else sub.expiration
            )
            if "notificationUrl" in body:
                url = _url(body["notificationUrl"], "notificationUrl")
                if not self._validate(url):
                    raise bad_request(
                        "Subscription validation request failed. Notification endpoint must respond with 200 OK "
                        "to validation request.",
                        "ValidationError",
                    )
                sub.notification_url = url
            with self._lock:
                sub.expiration = expiration
                self._save()
            return Response.json(
                200, {"@odata.context": f"{base}/$metadata#subscriptions/$entity", **sub.json()}
            )
        raise GraphError(405, "MethodNotAllowed", "The method is not allowed on subscriptions.")

    def _list(self, request: Request, app_id: str, base: str) -> Response:
        """The app's subscriptions, `page_size` a page, in the order of their ids, linked by `@odata.nextLink`
        (graph/paging: server-side paging; an app reads on until a page has no nextLink). The `$skiptoken` names
        the last id of the page before, so a subscription deleted between two pages moves none of the others out
        of the listing."""
        after = (request.query.get("$skiptoken") or [""])[0]
        with self._lock:
            mine = sorted((s for s in self._subs.values() if s.app_id == app_id), key=lambda s: s.id)
        rest = [s for s in mine if s.id > after] if after else mine
        page = rest[: self.page_size]
        body: dict[str, Any] = {
            "@odata.context": f"{base}/$metadata#subscriptions",
            "value": [s.json() for s in page],
        }
        if len(rest) > len(page):
            body["@odata.nextLink"] = f"{base}/subscriptions?" + urllib.parse.urlencode(
                {"$skiptoken": page[-1].id}
            )
        return Response.json(200, body)

    def _create(
        self, request: Request, app_id: str, roles: list[str], tenant_id: str, authorize: Authorize, base: str
    ) -> Response:
        body = _body(request)
        change_types = [c.strip() for c in str(body.get("changeType") or "").split(",") if c.strip()]
        if not change_types or any(c not in CHANGE_TYPES for c in change_types):
            raise bad_request("changeType must name created, updated and/or deleted.", "ValidationError")
        resource = str(body.get("resource") or "")
        found = _RESOURCE.match(resource)
        if found is None:
            raise bad_request(
                "The lab's Graph takes subscriptions to /users/{id}/events only.", "ExtensionError"
            )
        mailbox = authorize(app_id, roles, found.group("user"), READ_PERMISSIONS)
        include = body.get("includeResourceData")
        if include not in (None, False):
            # graph/change-notifications-with-resource-data: resource data comes encrypted with the subscriber's
            # certificate, which the lab does not emulate: refused, never silently dropped.
            raise bad_request(
                "The lab's Graph does not send resource data (includeResourceData with an "
                "encryptionCertificate); subscribe without it.",
                "ValidationError",
            )
        notification_url = _url(body.get("notificationUrl"), "notificationUrl")
        lifecycle_url = (
            _url(body["lifecycleNotificationUrl"], "lifecycleNotificationUrl")
            if body.get("lifecycleNotificationUrl")
            else None
        )
        expiration = _expiration(body.get("expirationDateTime"))
        client_state = body.get("clientState")
        if client_state is not None and (not isinstance(client_state, str) or len(client_state) > 128):
            raise bad_request("clientState must be a string of at most 128 characters.", "ValidationError")
        for url in filter(None, (notification_url, lifecycle_url)):
            if not self._validate(url):
                raise bad_request(
                    "Subscription validation request failed. Notification endpoint must respond with 200 OK to "
                    "validation request.",
                    "ValidationError",
                )
        with self.ctx.tenant.read() as state:
            store = state.calendars.get(mailbox.id)
            seq, generation = (store.seq, store.generation) if store else (0, "")
        sub = Subscription(
            id=str(uuid.uuid4()),
            app_id=app_id,
            tenant_id=tenant_id,
            mailbox_id=mailbox.id,
            user_object_id=mailbox.object_id,
            resource=resource,
            change_types=change_types,
            notification_url=notification_url,
            expiration=expiration,
            client_state=client_state,
            lifecycle_url=lifecycle_url,
            last_seq=seq,
            generation=generation,
            immutable=_prefers_immutable_ids(request),
        )
        with self._lock:
            self._subs[sub.id] = sub
            self._save()
            self._ensure_watcher()
        return Response.json(201, {"@odata.context": f"{base}/$metadata#subscriptions/$entity", **sub.json()})

    def _validate(self, url: str) -> bool:
        """The handshake: POST {url}?validationToken=...; the subscriber answers 200 with the token as text."""
        token = "Validation: Testing client application reachability for subscription Request-Id: " + str(
            uuid.uuid4()
        )
        target = f"{url}{'&' if '?' in url else '?'}validationToken={urllib.parse.quote(token)}"
        try:
            status, body = self._post(target, b"", "text/plain; charset=utf-8", VALIDATION_TIMEOUT)
        except OSError as exc:
            log.info("validation of %s failed: %s", url, exc)
            return False
        return status == 200 and body.decode("utf-8", "replace") == token

    def _post(self, url: str, data: bytes, content_type: str, timeout: float) -> tuple[int, bytes]:
        # `url` passed _url(): http(s) only. No proxy: subscribers in tests listen on 127.0.0.1.
        request = urllib.request.Request(  # noqa: S310
            url, data=data, method="POST", headers={"Content-Type": content_type}
        )
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({}), _NoRedirects()]
        if url.startswith("https:"):
            context = ssl.create_default_context(cafile=str(self.ctx.pki.ca_file))
            handlers.append(urllib.request.HTTPSHandler(context=context))
        opener = urllib.request.build_opener(*handlers)
        try:
            with opener.open(request, timeout=timeout) as answer:
                return int(answer.status), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, b""

    # --- notifications ------------------------------------------------------------------------------

    def _ensure_watcher(self) -> None:
        if self._watcher is None or not self._watcher.is_alive():
            self._stop.clear()
            self._watcher = threading.Thread(target=self._watch, name="lab-graph-notify", daemon=True)
            self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._save()  # with what was notified last, so a restart does not notify it again
            self._subs.clear()

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL):
            with self._lock:
                subs = list(self._subs.values())
            if not subs:
                return
            now = dt.datetime.now(dt.UTC)
            for sub in subs:
                if sub.expiration <= now:
                    with self._lock:
                        self._subs.pop(sub.id, None)
                        self._save()
                    continue
                self._notify_changes(sub)

    def _notify_changes(self, sub: Subscription) -> None:
        with self.ctx.tenant.read() as state:
            store = state.calendars.get(sub.mailbox_id)
            if store is None:
                return
            if store.generation != sub.generation:
                sub.generation, sub.last_seq = store.generation, 0
            moment = time.monotonic()
            if (
                store.seq <= sub.last_seq
                and moment - self._rights_checked.get(sub.id, -RIGHTS_INTERVAL) < RIGHTS_INTERVAL
            ):
                return  # nothing changed, and the rights were judged a moment ago
            self._rights_checked[sub.id] = moment
            # The app's rights now (its consent and the access policies, not a token's): graph/webhooks-lifecycle,
            # Graph asks for reauthorization "when an administrator has revoked your app's permissions to read a
            # resource"; the mailbox's changes meanwhile are not notified.
            mailbox = next((m for m in state.mailboxes if m.id == sub.mailbox_id), None)
            allowed = mailbox is not None and (
                authz.decide(
                    state,
                    sub.app_id,
                    mailbox.primary_smtp,
                    protocol="graph",
                    graph_permissions=READ_PERMISSIONS,
                ).allowed
            )
            revoked = not allowed and not sub.unauthorized
            sub.unauthorized = not allowed
            if not allowed:
                sub.last_seq = store.seq
            if store.seq <= sub.last_seq:
                changes = []
            else:
                changes = changes_since(store, CALENDAR, sub.last_seq)
                sub.last_seq = store.seq
            kinds = {"Create": "created", "Update": "updated", "Delete": "deleted"}
            notes = []
            for change in changes:
                kind = kinds[change.kind]
                if kind not in sub.change_types:
                    continue
                event_id = rest_id(change.item_id)
                if sub.immutable:
                    if change.item is not None:
                        event_id = immutable_id(sub.mailbox_id, change.item)
                    else:
                        tomb = next((t for t in store.tombstones if t.id == change.item_id), None)
                        if tomb is not None and tomb.uid:
                            event_id = immutable_id_of_entry(sub.mailbox_id, tomb.uid, tomb.entry_key)
                path = f"Users/{sub.user_object_id}/Events/{event_id}"
                data: dict[str, Any] = {
                    "@odata.type": "#Microsoft.Graph.Event",
                    "@odata.id": path,
                    "id": event_id,
                }
                if change.item is not None:
                    data["@odata.etag"] = f'W/"{change.item.change_key}"'
                notes.append(
                    {
                        "subscriptionId": sub.id,
                        "subscriptionExpirationDateTime": _offset(sub.expiration),
                        "changeType": kind,
                        "resource": path,
                        "resourceData": data,
                        "clientState": sub.client_state,
                        "tenantId": sub.tenant_id,
                    }
                )
        if revoked and sub.lifecycle_url:
            reauthorize = {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": _offset(sub.expiration),
                "tenantId": sub.tenant_id,
                "clientState": sub.client_state,
                "lifecycleEvent": "reauthorizationRequired",
            }
            sub.lifecycle_sent.append("reauthorizationRequired")
            self._deliver(sub, sub.lifecycle_url, {"value": [reauthorize]})
        for note in notes:
            self._deliver(sub, sub.notification_url, {"value": [note]})

    def _deliver(self, sub: Subscription, url: str, payload: dict[str, Any], final: bool = False) -> None:
        """POST `payload` to `url` in its own thread, retried; a subscription deleted (or expired) meanwhile stops
        its retries (graph/api/subscription-delete), except for its `final` note (subscriptionRemoved)."""
        data = json.dumps(payload).encode("utf-8")

        def run() -> None:
            back_off = self.ctx.options.notification_back_off
            for attempt in range(RETRIES + 1):
                if not final:
                    with self._lock:
                        if self._subs.get(sub.id) is not sub:
                            self.stopped_deliveries += 1
                            return
                sub.attempts += 1
                try:
                    status, _ = self._post(
                        url, data, "application/json; charset=utf-8", self.delivery_timeout
                    )
                except OSError:
                    status = 0
                if 200 <= status < 300:
                    sub.delivered += 1
                    return
                if attempt < RETRIES and self._stop.wait(back_off):
                    return
                back_off *= 2
            sub.failed += 1
            if sub.lifecycle_url and any("changeType" in n for n in payload.get("value", [])):
                # graph/webhooks-lifecycle: "missed, if a change notification cannot be delivered to an app".
                self._missed(sub)

        threading.Thread(target=run, name=f"lab-graph-deliver-{sub.id[:8]}", daemon=True).start()

    def _missed(self, sub: Subscription) -> None:
        assert sub.lifecycle_url is not None
        note = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": _offset(sub.expiration),
            "tenantId": sub.tenant_id,
            "clientState": sub.client_state,
            "lifecycleEvent": "missed",
        }
        sub.lifecycle_sent.append("missed")
        self._deliver(sub, sub.lifecycle_url, {"value": [note]})

    # --- the admin side -------------------------------------------------------------------------------

    def lifecycle(self, sub_id: str, event: str) -> dict[str, Any]:
        """Send a lifecycle notification (graph/webhooks-lifecycle); subscriptionRemoved also removes it."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"event must be one of {', '.join(LIFECYCLE_EVENTS)}")
        with self._lock:
            sub = self._subs.get(sub_id)
        if sub is None:
            raise KeyError(sub_id)
        if not sub.lifecycle_url:
            raise ValueError("the subscription has no lifecycleNotificationUrl")
        note = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": _offset(sub.expiration),
            "tenantId": sub.tenant_id,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }
        if event == "subscriptionRemoved":
            with self._lock:
                self._subs.pop(sub.id, None)
                self._save()
        sub.lifecycle_sent.append(event)
        self._deliver(sub, sub.lifecycle_url, {"value": [note]}, final=event == "subscriptionRemoved")
        return {"subscription": sub.id, "lifecycleEvent": event}

    def summary(self) -> list[dict[str, Any]]:
        with self._lock:
            subs = list(self._subs.values())
        return [
            {
                "id": s.id,
                "resource": s.resource,
                "delivered": s.delivered,
                "attempts": s.attempts,
                "failed": s.failed,
                "lifecycle_sent": list(s.lifecycle_sent),
            }
            for s in subs
        ]

    def reset(self) -> None:
        with self._lock:
            self._subs.clear()
            self._save()
            self.stopped_deliveries = 0
        self.delivery_timeout = DELIVERY_TIMEOUT
        self.page_size = PAGE_SIZE


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A subscriber answers itself: a redirect is its answer (not 200: a failed validation or delivery), never
    followed, so the lab calls no other host than the one _url() allowed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _prefers_immutable_ids(request: Request) -> bool:
    """`Prefer: IdType="ImmutableId"` on the creating request (graph/outlook-immutable-id)."""
    for key, value in request.headers:
        if key.lower() == "prefer":
            for part in value.split(","):
                name, _, raw = part.strip().partition("=")
                if name.strip().lower() == "idtype" and raw.strip().strip('"').lower() == "immutableid":
                    return True
    return False


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        raise bad_request("The request body is not valid JSON.", "BadRequest") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", "BadRequest")
    return body


def _url(value: Any, name: str) -> str:
    """Graph calls only https endpoints (graph/api/resources/subscription: notificationUrl "must make use of the
    HTTPS protocol"; graph/change-notifications-delivery-webhooks: "a publicly accessible, HTTPS-secured
    endpoint"): another scheme is refused, no validation request sent. The lab calls only this machine (it never
    reaches out to the network): https on 127.0.0.1 / localhost, other hosts refused (lab choice); the
    subscriber's certificate must chain to the lab's CA (Graph: a public CA's)."""
    if not isinstance(value, str):
        raise bad_request(f"{name} is required.", "ValidationError")
    split = urllib.parse.urlsplit(value)
    if split.scheme != "https":
        raise bad_request(
            f"{name} must be an https URL (Microsoft Graph sends notifications over HTTPS only).",
            "ValidationError",
        )
    if split.hostname not in ("127.0.0.1", "localhost"):
        raise bad_request(
            f"{name}: the lab delivers notifications only to 127.0.0.1 or localhost.", "ValidationError"
        )
    return value


def _expiration(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise bad_request("expirationDateTime is required.", "ValidationError")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"'{value}' is not a valid expirationDateTime.", "ValidationError") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    if moment <= now:
        raise bad_request("Subscription expiration can only be in the future.", "ValidationError")
    if moment > now + dt.timedelta(minutes=MAX_MINUTES):
        raise bad_request(
            f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.", "ValidationError"
        )
    # graph/api/resources/subscription: "Any value under 45 minutes after the time of the request is automatically
    # set to 45 minutes after the request time."
    return max(moment, now + dt.timedelta(minutes=MIN_MINUTES))
