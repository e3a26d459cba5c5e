"""How big a fault round is: the CI size and the benchmark size."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class FaultSize:
    """The load of one round and the bounds its checks wait within.

    Attributes:
        requests: Valid Contact Us requests published per round; valid follow-up assignments
            are a third of that, and one set of known-invalid records goes out per 50 requests.
        rate: Contact Us requests published per second (the other records are spread between).
        fault_at: Fraction of the publishing window after which the fault is injected.
        pause: Seconds a stopped (SIGSTOP) server stays stopped.
        restart_delay: Seconds between a SIGKILL and the restart, as a supervisor would wait.
        settle_timeout: Upper bound on waiting for the round to converge after publishing.
        desk_concurrency: Replies in flight at once.
        stuck_attempts: A pending activity (or workflow task) past this attempt is "stuck".
    """

    requests: int
    rate: float
    fault_at: float = 0.3
    pause: float = 30.0
    restart_delay: float = 2.0
    settle_timeout: float = 300.0
    desk_concurrency: int = 4
    stuck_attempts: int = 3

    @property
    def assignments(self) -> int:
        """Valid follow-up assignments per round."""
        return max(1, self.requests // 3)

    @property
    def invalid_sets(self) -> int:
        """How many times the known-invalid records go out per round."""
        return max(1, self.requests // 50)

    def with_requests(self, requests: int) -> FaultSize:
        """The same size with another request count."""
        return replace(self, requests=requests)


# Small enough that the whole tier (nine rounds plus start-up) stays within about four minutes
# on a 2-core machine when nothing is lost; the pause is shortened for the same reason.
CI = FaultSize(
    requests=30, rate=5.0, pause=8.0, restart_delay=1.0, settle_timeout=90.0, desk_concurrency=8
)

# The benchmark: the full 30-second stops, and enough load that a fault hits work in flight.
# The rate is what one desk keeps up with on a 2-core machine (about 4 replies a second with
# everything on it), so the queue stays steady instead of growing for the whole round.
FULL = FaultSize(
    requests=2000,
    rate=4.0,
    pause=30.0,
    restart_delay=2.0,
    settle_timeout=600.0,
    desk_concurrency=16,
)
