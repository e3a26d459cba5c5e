"""Start time of each local server and the stack's peak memory under the test suite's load.

Run: ``.venv/bin/python -m tests.bench.bench_stack --starts 3``

Starts a fresh stack ``--starts`` times (first use: initdb, Kafka storage format), prints each
server's start time, then runs the integration and e2e tiers against the last stack while
sampling the resident memory of its processes, and prints the peak.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from deploy.processes import rss_bytes
from deploy.stack import DEFAULT_PORTS, LocalStack, load_state

SERVERS = ("kafka", "temporal", "postgres")


def start_times(starts: int) -> tuple[dict[str, list[float]], Path]:
    """Start fresh stacks; return start seconds per server and the folder of the last one."""
    times: dict[str, list[float]] = {name: [] for name in SERVERS}
    state_dir = Path()
    for attempt in range(starts):
        state_dir = Path(tempfile.mkdtemp(prefix="memberflow-stack-bench-"))
        stack = LocalStack(state_dir, ui=True, ports=dict.fromkeys(DEFAULT_PORTS, 0))
        state = stack.up()
        for name in SERVERS:
            times[name].append(state.servers[name].start_seconds)
        if attempt < starts - 1:
            stack.down()
            shutil.rmtree(state_dir, ignore_errors=True)
    return times, state_dir


def peak_memory_under_tests(state_dir: Path) -> int:
    """Run the integration and e2e tiers against the stack; the peak summed RSS in bytes."""
    state = load_state(state_dir)
    assert state is not None
    pids = {server.pid for server in state.servers.values()}
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(rss_bytes(pid) for pid in pids))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    env = {**os.environ, **state.env(), "MEMBERFLOW_TEST_SERVERS": "external"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-m",
            "integration or e2e",
            "-p",
            "no:cacheprovider",
        ],
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
    )
    done.set()
    sampler.join()
    return peak


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    times, state_dir = start_times(args.starts)
    try:
        for name, values in times.items():
            print(
                f"{name:<9} start: median {statistics.median(values):5.2f} s "
                f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"
            )
        state = load_state(state_dir)
        assert state is not None
        idle = sum(rss_bytes(pid) for pid in {s.pid for s in state.servers.values()})
        print(f"stack idle RSS: {idle / 2**20:.0f} MiB")
        peak = peak_memory_under_tests(state_dir)
        print(f"stack peak RSS during the integration + e2e tiers: {peak / 2**20:.0f} MiB")
    finally:
        LocalStack(state_dir).down()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
