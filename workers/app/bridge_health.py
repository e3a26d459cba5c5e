"""The bridge's health: consuming, or stopped by a failure that retrying will not heal.

Written by the bridge's handlers (``workers/app/bridge.py``), read by the runtime (and by the
health endpoints once they exist), and exported as the Prometheus gauge
``memberflow_bridge_healthy`` (1 consuming, 0 stopped) when metrics are on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge

HEALTH_METRIC = "memberflow_bridge_healthy"


@dataclass(frozen=True)
class StopReason:
    """Why the bridge stopped consuming: the record it stopped at and the error's type.

    Never the record's content or the error's message, which may hold member data.
    """

    topic: str
    partition: int
    offset: int
    # The error's type, e.g. ``RPCError PERMISSION_DENIED``.
    error: str

    def describe(self) -> str:
        """One line for logs and health responses."""
        return f"{self.error} at {self.topic}[{self.partition}]@{self.offset}"


class BridgeHealth:
    """Healthy until the bridge stops consuming; then stopped, with the first reason, for good.

    Red lasts until the process restarts: the record that stopped it was not committed, so a
    restarted bridge reads it again once the cause is fixed.
    """

    def __init__(self) -> None:
        self._stopped: StopReason | None = None
        self._changed = asyncio.Event()

    @property
    def healthy(self) -> bool:
        """True while the bridge consumes."""
        return self._stopped is None

    @property
    def stopped(self) -> StopReason | None:
        """Why the bridge stopped, or None while it is healthy."""
        return self._stopped

    def stop(self, reason: StopReason) -> None:
        """Turn red; a second reason (another consumer failing the same way) is ignored."""
        if self._stopped is None:
            self._stopped = reason
            self._changed.set()

    async def wait_stopped(self) -> StopReason:
        """Wait until the bridge is stopped and return why."""
        await self._changed.wait()
        assert self._stopped is not None  # set before the event
        return self._stopped


def export_health(registry: CollectorRegistry, health: BridgeHealth) -> None:
    """Serve ``health`` as ``memberflow_bridge_healthy`` on ``registry``.

    One gauge per registry, bound to the newest bridge built on it (a process runs one bridge;
    tests build several on one registry).
    """
    # The same lookup FastStream's Prometheus middleware uses to share a registry.
    existing = registry._names_to_collectors.get(HEALTH_METRIC)
    gauge = (
        existing
        if isinstance(existing, Gauge)
        else Gauge(
            HEALTH_METRIC,
            "1 while the Kafka bridge consumes, 0 once a failure that will not heal stopped it",
            registry=registry,
        )
    )
    gauge.set_function(lambda: 1.0 if health.healthy else 0.0)
