"""What payload encryption costs a workflow task: the same workflows with and without the codec.

Run: ``.venv/bin/python -m tests.bench.bench_codec --workflows 200``

A headless Temporal dev server (no Kafka, no PostgreSQL: the codec touches Temporal payloads only)
runs ``ContactRequestWorkflow`` (the workflow tests' in-memory activities) through start, claim,
reply with a Tracker copy, to completion: every payload kind (start input, Update arguments and
results, activity arguments and results, the workflow result). Rounds alternate plain and
encrypted so drift on a shared machine falls on both. Per workflow task: the worker's time from
``WorkflowTaskStarted`` to ``WorkflowTaskCompleted`` in the histories (decoding the activation and
encoding the commands happen inside it); per workflow: start to result, as the client sees it.
On a shared machine those wall times carry noise of their own, so the worker's codec also
clocks itself: the time spent inside encode and decode, divided by the workflow tasks, is the
codec's own share (an upper bound: the worker's activity payloads are counted in it too).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Worker

from contracts.contacts.workflow import EmployeeAction, ReplyInput
from deploy.processes import free_port, stop_process_group
from deploy.temporal import TemporalDevServer
from tests.bench.servers import percentile
from tests.workflow.test_contact_request import FakeContactActivities, start_input
from workers.app.runtime import workflow_runner
from workers.platform.payload_codec import EncryptionCodec, PayloadKey, with_codec
from workflows.contacts.contact_request import ContactRequestWorkflow


@dataclass
class Round:
    """One round's figures."""

    task_ms: list[float]
    workflow_ms: list[float]


class TimedCodec(EncryptionCodec):
    """The real codec, adding up the time spent in it and the payloads it handled."""

    seconds = 0.0
    payloads = 0

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt, timed."""
        began = time.perf_counter()
        try:
            return await super().encode(payloads)
        finally:
            self.seconds += time.perf_counter() - began
            self.payloads += len(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt, timed."""
        began = time.perf_counter()
        try:
            return await super().decode(payloads)
        finally:
            self.seconds += time.perf_counter() - began
            self.payloads += len(payloads)


async def one_workflow(client: Client, queue: str) -> tuple[float, WorkflowHistory]:
    """Start, claim, reply, await the result; the client-side time and the history."""
    start = start_input()
    began = time.perf_counter()
    handle = await client.start_workflow(
        ContactRequestWorkflow.run,
        start,
        id=f"bench-codec-{uuid.uuid4().hex}",
        task_queue=queue,
        search_attributes=ContactRequestWorkflow.initial_search_attributes(start.request, "b" * 64),
    )
    await handle.execute_update(ContactRequestWorkflow.claim, EmployeeAction(employee_id="SR"))
    await handle.execute_update(
        ContactRequestWorkflow.reply,
        ReplyInput(employee_id="SR", body="Your payoff is $4,210.17 " * 20, copy_to_tracker=True),
    )
    await handle.result()
    elapsed = (time.perf_counter() - began) * 1000
    return elapsed, await handle.fetch_history()


def task_times_ms(history: WorkflowHistory) -> list[float]:
    """Started → completed of every workflow task in a history, in milliseconds."""
    started: dict[int, float] = {}
    times = []
    for event in history.events:
        at = event.event_time.ToNanoseconds() / 1e6
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            started[event.event_id] = at
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            attrs = event.workflow_task_completed_event_attributes
            times.append(at - started[attrs.started_event_id])
    return times


async def run_round(
    address: str,
    converter: DataConverter,
    count: int,
    concurrency: int,
    worker_converter: DataConverter | None = None,
) -> Round:
    """``count`` workflows on a task queue and worker of their own, with ``converter``
    (the worker's own client uses ``worker_converter`` when given: the same keys, timed)."""
    client = await Client.connect(address, data_converter=converter)
    worker_client = await Client.connect(address, data_converter=worker_converter or converter)
    queue = f"bench-codec-{uuid.uuid4().hex[:8]}"
    result = Round([], [])
    pending = list(range(count))
    async with Worker(
        worker_client,
        task_queue=queue,
        workflows=[ContactRequestWorkflow],
        activities=FakeContactActivities().all(),
        workflow_runner=workflow_runner(),
    ):

        async def caller() -> None:
            while pending:
                pending.pop()
                elapsed, history = await one_workflow(client, queue)
                result.workflow_ms.append(elapsed)
                result.task_ms.extend(task_times_ms(history))

        await asyncio.gather(*(caller() for _ in range(concurrency)))
    return result


def describe(name: str, figures: Round) -> str:
    """One line of figures."""
    tasks, flows = figures.task_ms, figures.workflow_ms
    return (
        f"{name:<9} tasks={len(tasks):>5} task mean={statistics.mean(tasks):6.2f} ms "
        f"p50={percentile(tasks, 0.5):6.2f} p95={percentile(tasks, 0.95):6.2f}  "
        f"workflow mean={statistics.mean(flows):7.1f} ms p95={percentile(flows, 0.95):7.1f}"
    )


async def measure(address: str, count: int, rounds: int, concurrency: int) -> None:
    """Alternate plain and encrypted rounds; print both and the ratio."""
    key = PayloadKey("bench", os.urandom(32))
    codec, timed = EncryptionCodec([key]), TimedCodec([key])
    converters = {"plain": with_codec(None), "encrypted": with_codec(codec)}
    worker_converters = {"plain": with_codec(None), "encrypted": with_codec(timed)}
    await run_round(address, converters["plain"], 10, concurrency)  # warm-up
    await run_round(address, converters["encrypted"], 10, concurrency)
    timed.seconds, timed.payloads = 0.0, 0
    total = {name: Round([], []) for name in converters}
    for _ in range(rounds):
        for name, converter in converters.items():
            figures = await run_round(
                address, converter, count // rounds, concurrency, worker_converters[name]
            )
            total[name].task_ms.extend(figures.task_ms)
            total[name].workflow_ms.extend(figures.workflow_ms)
    for name, figures in total.items():
        print(describe(name, figures))
    plain, sealed = total["plain"], total["encrypted"]
    added = statistics.mean(sealed.task_ms) - statistics.mean(plain.task_ms)
    print(
        f"codec adds {added:+.2f} ms per workflow task "
        f"(ratio {statistics.mean(sealed.task_ms) / statistics.mean(plain.task_ms):.2f}); "
        f"per workflow ratio "
        f"{statistics.mean(sealed.workflow_ms) / statistics.mean(plain.workflow_ms):.2f}"
    )
    tasks = len(sealed.task_ms)
    print(
        f"inside the worker's codec: {timed.seconds / tasks * 1e6:.0f} µs per workflow task "
        f"({timed.payloads / tasks:.1f} payloads a task, activities' included; "
        f"{timed.seconds / timed.payloads * 1e6:.1f} µs a payload)"
    )
    # The codec alone, without the server: the floor of what it can add.
    payload = (await converters["plain"].encode([start_input()]))[0]
    loops = 2000
    began = time.perf_counter()
    for _ in range(loops):
        await codec.decode(await codec.encode([payload]))
    per = (time.perf_counter() - began) / loops * 1e6
    print(f"codec alone: {per:.1f} µs to encrypt and decrypt one {payload.ByteSize()}-byte payload")


def main() -> None:
    """Start a headless dev server, measure, stop it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=200, help="per kind, over all rounds")
    parser.add_argument("--rounds", type=int, default=8, help="alternations of the two kinds")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-codec-"))
    server = TemporalDevServer(home=home, port=free_port(), ui_port=None, persistent=False)
    pid = server.start()
    try:
        address = f"{server.host}:{server.port}"
        asyncio.run(measure(address, args.workflows, args.rounds, args.concurrency))
    finally:
        stop_process_group(pid)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
