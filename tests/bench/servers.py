"""Servers for benchmarks: a throwaway local stack, or the one named by the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from deploy.stack import throwaway_stack


@contextmanager
def bench_servers() -> Iterator[dict[str, str]]:
    """``MEMBERFLOW_*`` variables of the servers to measure against."""
    if os.environ.get("MEMBERFLOW_TEST_SERVERS") == "external" or os.environ.get(
        "MEMBERFLOW_DATABASE_URL"
    ):
        yield {k: v for k, v in os.environ.items() if k.startswith("MEMBERFLOW_")}
        return
    with throwaway_stack() as env:
        yield env


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (fraction in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]
