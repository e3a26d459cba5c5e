"""Failed authentications per source: after too many in a window, the source waits.

Hand-rolled on purpose, and small: ``limits`` and ``slowapi`` count every request against a
route's quota and read the wall clock inside their storage, while this counts failures only
and takes its clock as an argument (tests advance it instead of sleeping). One process's
memory is enough: each API process limits the sources it serves, and the bound only has to
make guessing slow, not exact across processes.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MonotonicClock = Callable[[], float]
"""Seconds from an arbitrary start that never go backwards (``time.monotonic``)."""

MAX_SOURCES = 10_000
"""Sources tracked at once; the longest-quiet ones are forgotten first (bounded memory)."""


class FailureThrottle:
    """A sliding log of failure times per source (client address).

    A source with ``limit`` failures within the last ``window`` seconds is blocked until the
    oldest of them leaves the window. Successes are never counted.
    """

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        *,
        clock: MonotonicClock = time.monotonic,
        max_sources: int = MAX_SOURCES,
    ) -> None:
        """A throttle allowing ``limit`` failures per ``window`` seconds per source."""
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_sources = max_sources
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, source: str, now: float) -> deque[float] | None:
        times = self._failures.get(source)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[source]
            return None
        return times

    def retry_after(self, source: str) -> int | None:
        """Whole seconds until ``source`` may try again, or None when it is not blocked."""
        now = self._clock()
        times = self._recent(source, now)
        if times is None or len(times) < self.limit:
            return None
        return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, source: str) -> None:
        """Count one failed authentication from ``source``."""
        now = self._clock()
        times = self._recent(source, now)
        if times is None:
            times = self._failures[source] = deque(maxlen=self.limit)
        times.append(now)
        self._failures.move_to_end(source)
        while len(self._failures) > self._max_sources:
            self._failures.popitem(last=False)
