"""Servers for benchmarks: a throwaway local stack, or the one named by the environment."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.stack import LocalStack


@contextmanager
def bench_servers() -> Iterator[dict[str, str]]:
    """``MEMBERFLOW_*`` variables of the servers to measure against."""
    if os.environ.get("MEMBERFLOW_TEST_SERVERS") == "external":
        yield {k: v for k, v in os.environ.items() if k.startswith("MEMBERFLOW_")}
        return
    state_dir = Path(tempfile.mkdtemp(prefix="memberflow-bench-"))
    stack = LocalStack(
        state_dir,
        ui=False,
        persistent_temporal=False,
        ports={"kafka": 0, "temporal": 0, "temporal-ui": 0, "postgres": 0},
    )
    try:
        yield stack.up().env()
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (fraction in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]
