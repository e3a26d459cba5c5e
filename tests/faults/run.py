"""The fault suite as a benchmark: every fault at the full size, one table.

Run: ``.venv/bin/python -m tests.faults.run --requests 2000``
(``--faults worker-kill,postgres-stop`` picks some; ``--logs DIR`` keeps the processes' logs).
Exit status 0 when no fault lost, doubled, misrouted or wedged anything, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

from tests.faults.harness import FaultHarness
from tests.faults.injectors import FAULT_IDS
from tests.faults.report import Row, table
from tests.faults.sizes import FULL, FaultSize


def parse(argv: list[str] | None) -> tuple[FaultSize, list[str], Path | None]:
    """The size, the faults to run and where to keep logs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=FULL.requests, help="valid per fault")
    parser.add_argument("--rate", type=float, default=FULL.rate, help="requests per second")
    parser.add_argument("--pause", type=float, default=FULL.pause, help="seconds stopped")
    parser.add_argument("--timeout", type=float, default=FULL.settle_timeout, help="settle bound")
    parser.add_argument("--faults", default=",".join(FAULT_IDS), help="comma-separated names")
    parser.add_argument("--logs", type=Path, default=None, help="keep process logs here")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.faults.split(",") if n.strip()]
    unknown = [n for n in names if n not in FAULT_IDS]
    if unknown:
        parser.error(f"unknown faults {unknown}; known: {', '.join(FAULT_IDS)}")
    size = replace(
        FULL,
        requests=args.requests,
        rate=args.rate,
        pause=args.pause,
        settle_timeout=args.timeout,
    )
    return size, names, args.logs


async def run(size: FaultSize, names: list[str], logs: Path | None) -> list[Row]:
    """Every chosen fault in turn on one stack; everything is stopped at the end."""
    # SIGTERM and Ctrl-C cancel this task, so ``harness.close()`` below runs as a normal await;
    # an exception raised from a signal handler could land inside a Kafka client's own task and
    # skip the clean-up, leaving the broker running.
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, main_task.cancel)
    harness = FaultHarness(size, logs)
    rows: list[Row] = []
    try:
        await harness.start()
        for name in names:
            row = await harness.run_round(FAULT_IDS[name])
            rows.append(row)
            print(table([row]), flush=True)
    finally:
        leftovers = await harness.close()
        if leftovers:
            print(f"WARNING: processes still running after stop: {leftovers}", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, exit non-zero when any row has a problem."""
    size, names, logs = parse(argv)
    # The harness's own Kafka clients report every refused connection while the broker is
    # down on purpose; the table says what matters.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        rows = asyncio.run(run(size, names, logs))
    except asyncio.CancelledError:
        print("stopped by a signal; every process and server was stopped", file=sys.stderr)
        return 130
    title = (
        f"faults: {size.requests} requests/fault at {size.rate:g}/s, stops {size.pause:g} s, "
        f"kills restarted after {size.restart_delay:g} s, settle bound {size.settle_timeout:g} s"
    )
    print("\n" + table(rows, title), flush=True)
    return 0 if all(row.clean for row in rows) else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # The Temporal client's native threads can crash interpreter shutdown (sdk-python#300).
    os._exit(code)
