"""Notification's own Prometheus metrics (issue 12 point 6): alerts issued, alerts muted by
reason, deliveries by channel and outcome, and alert latency from the event to the live stream.

They are made once per service on its registry (``main.create_service``) and reached through
``alert_metrics()``; before that (a unit test), a private registry stands in.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.issued = Counter(
            "oversight_alerts_issued_total",
            "Alerts issued, by alert type and severity.",
            ["alert_type", "severity"],
            registry=registry,
        )
        self.suppressed = Counter(
            "oversight_alerts_suppressed_total",
            "Alert copies kept but not sent to a receiver, by reason (inhibited, silenced, quiet_hours).",
            ["reason"],
            registry=registry,
        )
        self.deliveries = Counter(
            "oversight_alert_deliveries_total",
            "Notifications sent outside the live stream, by channel and outcome (delivered, failed).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "oversight_alert_latency_seconds",
            "From the causing event's time to the alert's first appearance on a live stream.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=registry,
        )


_current: AlertMetrics | None = None


def use(registry: CollectorRegistry) -> AlertMetrics:
    """Make the service's alert metrics on its registry."""
    global _current
    _current = AlertMetrics(registry)
    return _current


def alert_metrics() -> AlertMetrics:
    global _current
    if _current is None:
        _current = AlertMetrics(CollectorRegistry())
    return _current
