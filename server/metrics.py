"""Prometheus metrics for one node, in a registry owned by the app (no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


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

    def render(self) -> bytes:
        return generate_latest(self.registry)
