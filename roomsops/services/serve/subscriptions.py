"""The Graph change-notification subscriptions of `roomsops serve`: one per Microsoft365 person's events
(graph/api/subscription-post-subscriptions), with a clientState and a lifecycleNotificationUrl.

- created when the person is first seen (and again after `subscriptionRemoved`, or once its creation failed: the
  next round tries again);
- renewed at half the lifetime Graph returned (PATCH expirationDateTime; graph/api/subscription-update); a
  renewal answered 404 (the subscription expired while renewals failed, or was deleted) makes a new one at once;
- a create is a write (POST /subscriptions is not idempotent): it is never sent again blindly; when its answer is
  lost, the app's subscriptions are listed and the one for this resource and notificationUrl adopted (extras
  deleted), and when there is none the next round creates it;
- `reauthorizationRequired` is answered with POST /subscriptions/{id}/reauthorize (graph/api/subscription-
  reauthorize), a renewal when that is refused;
- deleted when the person leaves the sync, and on shutdown only with `--unsubscribe-on-exit`.

The clientState is a random secret per subscription (`secrets.token_urlsafe`), registered with the log's masking
like every secret roomsops handles and never shown on the page, in metrics or in output: a notification carrying
another is ignored. The subscriptions (id, mailbox, clientState, expiry) are kept in a private file (`state_file`:
owner-only, like the certificate; written whole and replaced at once), so a restarted service adopts the
subscriptions Graph still has and goes on accepting their notifications (Graph retries an endpoint that was down
for a while) instead of making every one again. At the start, of the app's subscriptions at our notificationUrl
and those the file names, the live ones of the file are adopted and every other one is deleted (no subscription
is left behind, also when serve.public_url changed); the scheduler then runs a pass of each Graph mailbox, as
changes while no service listened may not have been notified. Without the file (or with an unreadable one) every
subscription is made anew.

The scheduler thread calls everything here but `lookup`, which the webhook's threads call.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from roomsops.adapters.graph.client import GraphClient, user_path
from roomsops.core.calendar import ItemGone, MailboxUnavailable, WriteOutcomeUnknown
from roomsops.core.errors import RoomsopsError
from roomsops.core.logs import log, register_secret
from roomsops.core.secure_files import private_opener
from roomsops.services.serve.metrics import ServeMetrics

#: The lifetime asked for (Graph sets at most 10,080 minutes for Outlook events, graph/api/resources/subscription;
#: renewed at half of what Graph returns).
LIFETIME = timedelta(minutes=4320)
CHANGE_TYPES = "created,updated,deleted"
#: Where subscriptions are listed when the service starts (an address for the client's per-mailbox bookkeeping).
_TENANT = "subscriptions"


@dataclass
class Subscription:
    id: str
    mailbox: str
    client_state: str
    expires: datetime
    renew_at: datetime

    def __repr__(self) -> str:  # never the clientState
        return f"Subscription(id={self.id!r}, mailbox={self.mailbox!r}, expires={self.expires.isoformat()})"


class Subscriptions:
    def __init__(
        self,
        client: GraphClient,
        notification_url: str,
        lifecycle_url: str,
        metrics: ServeMetrics,
        clock: Callable[[], datetime],
        state_file: Path | None = None,
    ) -> None:
        self.state_file = state_file
        self.client = client
        self.notification_url = notification_url
        self.lifecycle_url = lifecycle_url
        self.metrics = metrics
        self.clock = clock
        self._by_mailbox: dict[str, Subscription] = {}
        self._by_id: dict[str, Subscription] = {}  # the same, by subscription id (the webhook's look-up)
        self._lock = threading.Lock()
        # mailbox (casefolded) -> (the address as written, why its subscription is missing), for the page
        self.failures: dict[str, tuple[str, str]] = {}
        self._cleaned = False

    # --- the webhook's side -------------------------------------------------------------------------------

    def lookup(self, subscription_id: str, client_state: object) -> tuple[str | None, str | None]:
        """(mailbox, None) for a notification of a subscription of ours with its clientState; (None, reason)
        otherwise: `unknown_subscription` or `client_state` (compared in constant time)."""
        with self._lock:
            sub = self._by_id.get(subscription_id)
        if sub is None:
            return None, "unknown_subscription"
        given = client_state.encode("utf-8") if isinstance(client_state, str) else b""
        if not hmac.compare_digest(given, sub.client_state.encode("utf-8")):
            return None, "client_state"
        return sub.mailbox, None

    # --- the scheduler's side -----------------------------------------------------------------------------

    def health(self) -> list[tuple[str, datetime | None, str | None]]:
        """(mailbox, expiry, problem) per Graph mailbox known, for the status page: the problem is why it has no
        subscription, or why its last renewal (or reauthorization) failed — a subscription still known but running
        out is not healthy."""
        with self._lock:
            subs = dict(self._by_mailbox)
        known: dict[str, tuple[str, datetime | None, str | None]] = {
            k: (s.mailbox, s.expires, None) for k, s in subs.items()
        }
        for key, (mailbox, why) in self.failures.items():
            sub = subs.get(key)
            known[key] = (mailbox, None, why) if sub is None else (sub.mailbox, sub.expires, why)
        return [known[k] for k in sorted(known)]

    def clean_up_left_over(self) -> tuple[int, list[str]]:
        """At the start: adopt the subscriptions of the state file Graph still has at our notificationUrl; delete
        the others of the file and every other one at our notificationUrl (a previous process's, whose clientState
        is not known). (deleted, mailboxes adopted)."""
        saved = self._read_state()
        live = {str(entry["id"]): entry for entry in self._list(_TENANT)}
        # What this process made already (rounds whose listing failed make subscriptions all the same) is never
        # left over: neither deleted nor replaced by an earlier process's for the same mailbox.
        with self._lock:
            own_ids = set(self._by_id)
            own_mailboxes = set(self._by_mailbox)
        for sub_id in own_ids:
            live.pop(sub_id, None)
        now = self.clock()
        adopted: list[str] = []
        gone = 0
        for sub in saved:
            if sub.id in own_ids:
                continue
            entry = live.pop(sub.id, None)
            if entry is None:
                continue  # expired or removed meanwhile: a new one is made
            if (
                sub.mailbox.casefold() in own_mailboxes
            ):  # this process subscribed it anew: the old one is extra
                gone += self._delete_left(sub.mailbox, sub.id)
                continue
            expires = _parse(entry.get("expirationDateTime")) or sub.expires
            if entry.get("notificationUrl") == self.notification_url and expires > now:
                self._remember(sub.mailbox, entry, sub.client_state)
                adopted.append(sub.mailbox)
                self.metrics.subscription_operations.labels("adopt", "ok").inc()
            else:  # made for another notificationUrl (serve.public_url changed): ours, so deleted
                gone += self._delete_left(sub.mailbox, sub.id)
        for sub_id, entry in live.items():
            if entry.get("notificationUrl") == self.notification_url:
                gone += self._delete_left(_TENANT, sub_id)
        return gone, adopted

    def _delete_left(self, mailbox: str, subscription_id: str) -> int:
        """Delete a subscription left by an earlier process; a failure is logged (it expires in time, and its
        notifications are ignored as unknown)."""
        try:
            self._delete(mailbox, subscription_id)
        except RoomsopsError as exc:
            log.warning("serve: deleting a subscription left by an earlier process: %s", exc.one_line())
            return 0
        return 1

    def keep(self, mailboxes: Iterable[str], stopping: Callable[[], bool] = lambda: False) -> list[str]:
        """Create, renew and delete so that each of `mailboxes` has a live subscription; the mailboxes whose
        subscription is new (a pass should follow: changes before it were not notified). When `stopping()` turns
        true (SIGTERM) no further create or renewal is started; the state file is written after each, so what was
        made is known to the next start."""
        wanted = {m.casefold(): m for m in mailboxes}
        made: list[str] = []
        # Graph is asked only when there is a Graph mailbox, or subscriptions of an earlier process to delete (a
        # tenant synced over EWS alone never calls Graph).
        if not self._cleaned and (wanted or self._read_state()):
            try:
                gone, adopted = self.clean_up_left_over()
                if gone:
                    log.info("serve: deleted %d subscription(s) a previous process left", gone)
                if adopted:
                    log.info("serve: adopted %d subscription(s) of the previous process", len(adopted))
                made += [m for m in adopted if m.casefold() in wanted]  # a pass each: changes while down
                self._cleaned = True
            except RoomsopsError as exc:  # tried again next round; new subscriptions are made anyway
                log.warning("serve: listing the app's subscriptions: %s", exc.one_line())
        current = self._drop_unwanted(wanted)
        now = self.clock()
        for key, mailbox in wanted.items():
            if stopping():
                log.info(
                    "serve: stopping; the subscriptions of the remaining Graph mailboxes are left for the next start"
                )
                break
            sub = current.get(key)
            try:
                if sub is not None and sub.renew_at <= now:
                    try:
                        self._renew(sub)
                    except (ItemGone, MailboxUnavailable) as gone:  # 404: Graph no longer has it
                        log.info(
                            "serve: the subscription of %s is gone (%s): a new one", mailbox, gone.one_line()
                        )
                        self._forget(key)
                        sub = None
                if sub is None:
                    self._create(mailbox)
                    made.append(mailbox)
                    self.save()
            except RoomsopsError as exc:
                self.failures[key] = (mailbox, exc.one_line())
                log.warning("serve: the Graph subscription of %s: %s", mailbox, exc.one_line())
        if (
            self._cleaned
        ):  # else the file still names an earlier process's subscriptions: kept for the next try
            self.save()
        return made

    def _drop_unwanted(self, wanted: dict[str, str]) -> dict[str, Subscription]:
        """Delete the subscriptions of mailboxes no longer wanted (left Graph mode or the sync) and forget their
        failures (no row on the page); the subscriptions kept, by casefolded mailbox."""
        with self._lock:
            current = dict(self._by_mailbox)
        for key, left in current.items():
            if key not in wanted:
                try:
                    self._delete(left.mailbox, left.id)
                except RoomsopsError as exc:  # it expires in time; not tried again
                    log.warning("serve: deleting the subscription of %s: %s", left.mailbox, exc.one_line())
                self._forget(key)
        for key in [k for k in self.failures if k not in wanted]:
            self.failures.pop(key, None)
        return current

    def removed(self, mailbox: str) -> None:
        """Graph removed the subscription (`subscriptionRemoved`): the next `keep` makes a new one."""
        self._forget(mailbox.casefold())
        self.save()

    def reauthorize(self, mailbox: str) -> None:
        """`reauthorizationRequired`: POST .../reauthorize; refused, a renewal (which also reauthorizes)."""
        with self._lock:
            sub = self._by_mailbox.get(mailbox.casefold())
        if sub is None:
            return
        try:
            self.client.request(
                sub.mailbox, "POST", f"/subscriptions/{sub.id}/reauthorize", what="reauthorize subscription"
            )
            self.metrics.subscription_operations.labels("reauthorize", "ok").inc()
            self.failures.pop(mailbox.casefold(), None)  # healthy again: no problem on the page
        except RoomsopsError as exc:
            self.metrics.subscription_operations.labels("reauthorize", "failed").inc()
            log.warning("serve: reauthorizing the subscription of %s: %s", sub.mailbox, exc.one_line())
            try:
                self._renew(sub)
            except (ItemGone, MailboxUnavailable):  # gone at Graph: the next `keep` makes a new one
                self._forget(mailbox.casefold())
            except RoomsopsError as again:
                self.failures[mailbox.casefold()] = (sub.mailbox, again.one_line())
                log.warning("serve: renewing the subscription of %s: %s", sub.mailbox, again.one_line())
        self.save()

    def close(self, unsubscribe: bool) -> None:
        """On shutdown: delete every subscription when asked, else leave them to expire (a restart replaces them)."""
        if not unsubscribe:
            return
        with self._lock:
            subs = list(self._by_mailbox.values())
        for sub in subs:
            try:
                self._delete(sub.mailbox, sub.id)
            except RoomsopsError as exc:
                log.warning("serve: deleting the subscription of %s: %s", sub.mailbox, exc.one_line())
            self._forget(sub.mailbox.casefold())
        self.save()

    # --- the state file --------------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the subscriptions to the state file (private; a new file replaces the old at once, so a crash
        leaves the one or the other). A failure is logged: the next start then makes subscriptions anew."""
        if self.state_file is None or not self._cleaned:
            return  # not cleaned up yet: the file still names an earlier process's subscriptions, kept for then
        with self._lock:
            subs = sorted(self._by_mailbox.values(), key=lambda s: s.mailbox.casefold())
        doc = {
            "version": 1,
            "notification_url": self.notification_url,
            "subscriptions": [
                {"id": s.id, "mailbox": s.mailbox, "client_state": s.client_state, "expires": _iso(s.expires)}
                for s in subs
            ],
        }
        temporary = self.state_file.with_name(self.state_file.name + ".new")
        try:
            temporary.unlink(missing_ok=True)
            with open(temporary, "w", encoding="utf-8", opener=private_opener) as out:
                json.dump(doc, out)
            os.replace(temporary, self.state_file)
        except OSError as exc:
            log.warning("serve: cannot write the subscriptions to %s: %s", self.state_file, exc)

    def _read_state(self) -> list[Subscription]:
        if self.state_file is None:
            return []
        try:
            doc = json.loads(self.state_file.read_text(encoding="utf-8"))
            entries = doc["subscriptions"]
            subs = [
                Subscription(
                    str(e["id"]),
                    str(e["mailbox"]),
                    str(e["client_state"]),
                    _parse(e["expires"]) or self.clock(),
                    self.clock(),
                )
                for e in entries
            ]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "serve: ignoring the subscriptions file %s (%s): new ones are made", self.state_file, exc
            )
            return []
        for sub in subs:
            register_secret(sub.client_state)
        return subs

    # --- Graph -------------------------------------------------------------------------------------------

    def _create(self, mailbox: str) -> None:
        client_state = secrets.token_urlsafe(32)  # 43 characters; Graph takes up to 128
        register_secret(client_state)
        resource = f"{user_path(mailbox)}/events"
        body = {
            "changeType": CHANGE_TYPES,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "resource": resource,
            "expirationDateTime": _iso(self.clock() + LIFETIME),
            "clientState": client_state,
        }
        try:
            # write=True: POST /subscriptions is not idempotent, a lost answer is not sent again blindly
            answer = self.client.request(
                mailbox, "POST", "/subscriptions", body=body, write=True, what="create subscription"
            )
            entry = answer.body or {}
        except WriteOutcomeUnknown as lost:
            self.metrics.subscription_operations.labels("create", "failed").inc()
            adopted = self._adopt(mailbox, resource, client_state)
            if adopted is None:
                raise lost from None  # Graph made none: the next round creates it
            entry = adopted
        except RoomsopsError:
            self.metrics.subscription_operations.labels("create", "failed").inc()
            raise
        else:
            self.metrics.subscription_operations.labels("create", "ok").inc()
        self._remember(mailbox, entry, client_state)
        log.info("serve: subscribed to the events of %s", mailbox)

    def _adopt(self, mailbox: str, resource: str, client_state: str) -> dict[str, Any] | None:
        """After a create whose answer was lost: the subscription Graph made for `resource` at our notificationUrl
        (the one with our clientState when Graph shows it), the others of that resource and URL deleted; None
        when there is none."""
        ours = [
            entry
            for entry in self._list(mailbox)
            if entry.get("notificationUrl") == self.notification_url
            and _same_resource(entry.get("resource"), resource)
        ]
        if not ours:
            return None
        ours.sort(key=lambda e: not hmac.compare_digest(str(e.get("clientState") or ""), client_state))
        kept, *extras = ours
        for extra in extras:
            try:
                self._delete(mailbox, str(extra["id"]))
            except RoomsopsError as exc:  # it expires in time; its notifications are ignored (unknown id)
                log.warning("serve: deleting an extra subscription of %s: %s", mailbox, exc.one_line())
        log.info(
            "serve: the create of the subscription of %s lost its answer; adopted the one Graph made", mailbox
        )
        return kept

    def _list(self, mailbox: str) -> list[dict[str, Any]]:
        """Every subscription of the app: GET /subscriptions and each page its `@odata.nextLink` names, until one
        names none (graph/paging: server-side paging). Read only the first page, the start would leave an earlier
        process's subscriptions beyond it undeleted (each notifying, each ignored and counted) and a lost create's
        subscription unadopted. A nextLink seen before ends the listing (a loop would never end)."""
        entries: list[dict[str, Any]] = []
        url: str | None = "/subscriptions"
        seen: set[str] = set()
        while url is not None and url not in seen:
            seen.add(url)
            page = self.client.request(mailbox, "GET", url, what="list subscriptions").body or {}
            entries += [e for e in page.get("value") or [] if isinstance(e, dict) and e.get("id")]
            link = page.get("@odata.nextLink")
            url = str(link) if link else None
        return entries

    def _renew(self, sub: Subscription) -> None:
        body = {"expirationDateTime": _iso(self.clock() + LIFETIME)}
        try:
            answer = self.client.request(
                sub.mailbox, "PATCH", f"/subscriptions/{sub.id}", body=body, what="renew subscription"
            )
        except RoomsopsError:
            self.metrics.subscription_operations.labels("renew", "failed").inc()
            raise
        self.metrics.subscription_operations.labels("renew", "ok").inc()
        self._remember(sub.mailbox, answer.body or {}, sub.client_state)

    def _delete(self, mailbox: str, subscription_id: str) -> None:
        try:
            self.client.request(
                mailbox, "DELETE", f"/subscriptions/{subscription_id}", what="delete subscription"
            )
        except RoomsopsError:
            self.metrics.subscription_operations.labels("delete", "failed").inc()
            raise
        self.metrics.subscription_operations.labels("delete", "ok").inc()

    def _remember(self, mailbox: str, entry: dict[str, Any], client_state: str) -> None:
        now = self.clock()
        expires = _parse(entry.get("expirationDateTime")) or now + LIFETIME
        sub = Subscription(
            str(entry.get("id") or ""), mailbox, client_state, expires, now + (expires - now) / 2
        )
        with self._lock:
            old = self._by_mailbox.get(mailbox.casefold())
            if old is not None:
                self._by_id.pop(old.id, None)
            self._by_mailbox[mailbox.casefold()] = sub
            self._by_id[sub.id] = sub
        self.failures.pop(mailbox.casefold(), None)
        self.metrics.subscription_expiry.labels(mailbox).set(expires.timestamp())

    def _forget(self, key: str) -> None:
        with self._lock:
            sub = self._by_mailbox.pop(key, None)
            if sub is not None:
                self._by_id.pop(sub.id, None)
        if sub is not None:
            self.metrics.subscription_expiry.remove(sub.mailbox)


def _same_resource(given: object, wanted: str) -> bool:
    """Graph may show a resource without its leading slash or in another case (a UPN is case-insensitive)."""
    return isinstance(given, str) and given.strip("/").casefold() == wanted.strip("/").casefold()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
