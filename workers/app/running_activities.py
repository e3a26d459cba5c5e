"""Which activities a worker is running, so a shutdown that cuts some short can name them."""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


class RunningActivities(Interceptor):
    """A worker interceptor keeping the activities under way: type, workflow id, attempt.

    Workflow ids are built from business keys (``contracts/ids.py``), never member data, so
    naming them in a log line is safe.
    """

    def __init__(self) -> None:
        self._running: dict[tuple[str, str], str] = {}

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Wrap every activity execution of the worker."""
        return _Tracked(next, self._running)

    def describe(self) -> list[str]:
        """The activities under way, e.g. ``deliver_reply of contact-request-R1 (attempt 2)``."""
        return sorted(self._running.values())


class _Tracked(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, running: dict[tuple[str, str], str]):
        super().__init__(next)
        self._running = running

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        key = (info.workflow_id or "", info.activity_id)
        self._running[key] = f"{info.activity_type} of {info.workflow_id} (attempt {info.attempt})"
        try:
            return await super().execute_activity(input)
        finally:
            self._running.pop(key, None)
