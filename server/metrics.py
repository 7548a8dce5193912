"""Prometheus metrics for one node, in a registry owned by the app (no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# An ack waits for a group commit; past a few seconds the client's retry takes over.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The node's counters; `render()` is the `/metrics` body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge(
            "beckon_connections", "Open WebSocket connections", ["kind"], registry=r
        )
        self.frames_in = Counter("beckon_frames_in", "Frames received", ["type"], registry=r)
        self.frames_out = Counter("beckon_frames_out", "Frames sent", ["type"], registry=r)
        self.errors = Counter("beckon_errors", "Errors answered, by code", ["code"], registry=r)
        self.http_requests = Counter(
            "beckon_http_requests", "HTTP requests", ["method", "status"], registry=r
        )
        self.store_latency = Histogram(
            "beckon_store_latency_seconds",
            "Store operation latency",
            ["op"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.broker_latency = Histogram(
            "beckon_broker_latency_seconds",
            "Broker operation latency",
            ["op"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.broker_reconnects = Counter(
            "beckon_broker_reconnects", "Broker reconnections", registry=r
        )
        # What docs/monitoring/ charts and alerts on; tests/integration/
        # test_monitoring.py checks that every name it uses is exported.
        self.connects = Counter(
            "beckon_connects", "WebSocket connections opened", ["kind"], registry=r
        )
        self.ack_latency = Histogram(
            "beckon_message_ack_seconds",
            "From a chat message frame's arrival to its ack queued on the socket",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.backend_errors = Counter(
            "beckon_backend_errors",
            "Requests, frames and samples that failed because the store or broker did",
            ["backend"],
            registry=r,
        )
        self.event_loop_lag = Histogram(
            "beckon_event_loop_lag_seconds",
            "How late the node's periodic lag timer woke up",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.write_queue = Gauge(
            "beckon_write_queue",
            "Items waiting for this node's group commit",
            ["writer"],
            registry=r,
        )
        # Sampled from the Store: the same cluster-wide value on every node (chart max()).
        self.chat_queue = Gauge(
            "beckon_chat_queue_waiting",
            "Conversations waiting in a queue for an agent",
            registry=r,
        )
        self.webhook_backlog = Gauge(
            "beckon_webhook_backlog",
            "Webhook deliveries not yet delivered (pending)",
            registry=r,
        )
        self.webhook_oldest = Gauge(
            "beckon_webhook_oldest_pending_seconds",
            "Age of the oldest pending webhook delivery (0 with none)",
            registry=r,
        )
        self.webhook_failed = Gauge(
            "beckon_webhook_failed_deliveries",
            "Webhook deliveries that gave up after their retries (kept in the outbox)",
            registry=r,
        )
        self.sampled_at = Gauge(
            "beckon_store_sample_timestamp_seconds",
            "When the Store-sampled gauges were last refreshed (Unix time)",
            registry=r,
        )

        # Every label value exported from the start (at 0): a rate over a series that
        # appears only on its first event misses that event, and absent series break alerts.
        for kind in ("visitor", "agent"):
            self.connections.labels(kind)
            self.connects.labels(kind)
            self.ack_latency.labels(kind)
        for backend in ("store", "broker"):
            self.backend_errors.labels(backend)

    def render(self) -> bytes:
        return generate_latest(self.registry)
