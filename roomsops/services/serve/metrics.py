"""`/metrics`: what `roomsops serve` counts, in Prometheus' text format through prometheus_client, in a registry
of its own (no process-wide state). Labels carry mailbox addresses, services and error codes, never a secret."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ticks = Counter(
            "roomsops_serve_ticks", "Scheduler rounds run (each runs the passes due then)", registry=r
        )
        self.passes = Counter(
            "roomsops_serve_passes",
            "Sync passes of one mailbox, by service and result",
            ["mailbox", "service", "result"],
            registry=r,
        )
        self.full_passes = Counter(
            "roomsops_serve_full_passes",
            "Passes of one mailbox that compared every meeting (a recovery, sync.full_every, a missed notification)",
            ["mailbox"],
            registry=r,
        )
        self.healing_passes = Counter(
            "roomsops_serve_healing_passes",
            "Healing reconciliations of one mailbox (full passes on serve.healing_interval's schedule), by result",
            ["mailbox", "result"],
            registry=r,
        )
        self.failures = Counter(
            "roomsops_serve_mailbox_failures",
            "Failed passes of one mailbox, by error code",
            ["mailbox", "code"],
            registry=r,
        )
        self.requests = Counter(
            "roomsops_serve_requests",
            "Requests the service sent to Exchange, by protocol (ews, graph) and operation (the EWS operation; "
            "the Graph client's name for it, a $batch's prefixed); a request sent again counts again",
            ["protocol", "operation"],
            registry=r,
        )
        self.throttled = Counter(
            "roomsops_serve_throttle_waits",
            "Waits the server asked for (Graph 429/503, EWS ErrorServerBusy), by protocol",
            ["protocol"],
            registry=r,
        )
        self.throttled_seconds = Counter(
            "roomsops_serve_throttle_wait_seconds",
            "Seconds spent in those waits, by protocol",
            ["protocol"],
            registry=r,
        )
        self.queue = Gauge("roomsops_serve_queue_length", "Mailboxes due and not synced yet", registry=r)
        self.lock_busy = Counter(
            "roomsops_serve_lock_busy",
            "Rounds that waited because another sync held the database's run lock",
            registry=r,
        )
        self.claimed = Counter(
            "roomsops_serve_claimed",
            "Mailboxes this service claimed (serve --worker: leased from the database's queue for a pass)",
            registry=r,
        )
        self.lease_lost = Counter(
            "roomsops_serve_lease_lost",
            "Passes of one mailbox whose lease this service lost (serve --worker: it expired and another service "
            "or worker took the mailbox over; the pass's writes were refused)",
            ["mailbox"],
            registry=r,
        )
        self.round_errors = Counter(
            "roomsops_serve_round_errors",
            "Rounds that failed before their passes (token service, database), by error code",
            ["code"],
            registry=r,
        )
        self.last_pass = Gauge(
            "roomsops_serve_last_pass_timestamp_seconds",
            "When the last pass of one mailbox finished (Unix time)",
            ["mailbox"],
            registry=r,
        )

        self.notifications = Counter(
            "roomsops_serve_notifications",
            "Graph notifications taken by the webhook, by kind (change, or the lifecycle event)",
            ["kind"],
            registry=r,
        )
        self.notifications_ignored = Counter(
            "roomsops_serve_notifications_ignored",
            "Graph notifications ignored, by reason (unknown_subscription, client_state, malformed)",
            ["reason"],
            registry=r,
        )
        self.webhook_refused = Counter(
            "roomsops_serve_webhook_refused",
            "Webhook requests refused before reading them, by reason (too_large, method, path)",
            ["reason"],
            registry=r,
        )
        self.queue_notifications = Gauge(
            "roomsops_serve_notification_queue_length",
            "Notifications the webhook queued and the scheduler has not taken yet",
            registry=r,
        )
        self.notification_lag = Gauge(
            "roomsops_serve_notification_lag_seconds",
            "From the last change notification taken to the start of the pass it scheduled",
            registry=r,
        )
        self.open_differences = Gauge(
            "roomsops_serve_open_differences",
            "Open differences (roomsops sync diff: a booking whose ROOMS and Exchange states differ), by kind",
            ["kind"],
            registry=r,
        )
        self.subscription_expiry = Gauge(
            "roomsops_serve_subscription_expiry_timestamp_seconds",
            "When the Graph subscription of one mailbox expires (Unix time)",
            ["mailbox"],
            registry=r,
        )
        self.subscription_operations = Counter(
            "roomsops_serve_subscription_operations",
            "Graph subscription operations, by operation (create, renew, reauthorize, delete) and result",
            ["operation", "result"],
            registry=r,
        )

    def request(self, protocol: str, operation: str) -> None:
        """A request sent (core.traffic's observer)."""
        self.requests.labels(protocol, operation).inc()

    def throttle(self, protocol: str, seconds: float) -> None:
        """A wait the server asked for (core.traffic's observer)."""
        self.throttled.labels(protocol).inc()
        self.throttled_seconds.labels(protocol).inc(max(seconds, 0.0))

    def text(self) -> bytes:
        return generate_latest(self.registry)
