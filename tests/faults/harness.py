"""One fault round after another on one stack: load, fault, recovery, settle, verdict."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.platform.topics import Topics
from deploy.processes import free_port
from tests.faults.apps import AppProcesses, add_employee
from tests.faults.checks import Observation, Verdict, evaluate
from tests.faults.injectors import BASELINE, Fault, Targets
from tests.faults.load import CALL_TIMEOUT, Desk, Publisher, RoundLoad
from tests.faults.observe import (
    TopicTail,
    committed_offsets,
    end_offsets,
    executions_since,
    read_store,
    stuck_executions,
)
from tests.faults.records import RecordFactory
from tests.faults.report import Row
from tests.faults.servers import FaultStack
from tests.faults.sizes import FaultSize

GROUPS = {"contact": "memberflow-bridge", "assignment": "memberflow-bridge.assignments"}
READ_TIMEOUT = 30.0
# A settled verdict with problems must look the same this long before it is believed: Temporal
# visibility and the read model may lag a restart by a few seconds.
STABLE_FOR = 5.0


class FaultHarness:
    """Owns the stack, the processes and the load clients; ``close`` stops everything."""

    def __init__(self, size: FaultSize, log_dir: Path | None = None) -> None:
        self.size = size
        self.stack = FaultStack()
        self.log_dir = log_dir or self.stack.state_dir / "apps"
        self.topics = Topics()
        self.inbound = {
            "contact": self.topics.contact_requests,
            "assignment": self.topics.followup_assignments,
        }
        self.factory = RecordFactory()
        self.round_no = 0
        self.env: dict[str, str] = {}
        self.apps: AppProcesses | None = None
        self.publisher: Publisher | None = None
        self.desk: Desk | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._notes: list[str] = []

    @property
    def bootstrap(self) -> str:
        """Kafka bootstrap servers."""
        return self.env["MEMBERFLOW_KAFKA_BOOTSTRAP_SERVERS"]

    async def start(self) -> None:
        """Stack, employees and tokens, the three processes, the load clients."""
        stack_env = await asyncio.to_thread(self.stack.up)
        api_port = free_port()
        self.env = stack_env | {
            "MEMBERFLOW_API_PORT": str(api_port),
            "MEMBERFLOW_STATE_DIR": str(self.stack.state_dir),
            "MEMBERFLOW_TIER_EXTRACT_ROOT": str(self.stack.state_dir / "extracts"),
        }
        # Operators issue tokens with the CLI; MG first, the others name MG as supervisor.
        await asyncio.to_thread(add_employee, self.env, "MG", "Maria", "supervisor")
        sarah = await asyncio.to_thread(add_employee, self.env, "SR", "Sarah", "employee")
        await asyncio.to_thread(add_employee, self.env, "JD", "John", "employee")
        self.apps = AppProcesses(self.env, self.log_dir, api_port)
        await asyncio.to_thread(self.apps.start_all)
        self.publisher = Publisher(self.bootstrap, self.inbound)
        self.desk = Desk(f"http://127.0.0.1:{api_port}", sarah, self.size.desk_concurrency)
        self._supervisor = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        """Restart a part that exited on its own, as a process supervisor would."""
        assert self.apps is not None
        while True:
            try:
                restarted = await asyncio.to_thread(self.apps.supervise)
            except RuntimeError as error:
                self._notes.append(f"supervisor could not restart a part: {error}")
                restarted = []
            for part in restarted:
                code = next(e.code for e in reversed(self.apps.exits) if e.part == part)
                self._notes.append(f"{part} exited on its own (status {code}); restarted")
            await asyncio.sleep(1.0)

    async def _heal(self) -> None:
        """Before a round: every server running (a fault may have left one down)."""
        down = [name for name, up in self.stack.running().items() if not up]
        if down:
            self._notes.append(f"servers down before the round, restarted: {', '.join(down)}")
            await asyncio.to_thread(self.stack.restart)

    async def run_round(self, fault: Fault) -> Row:
        """Load the system, inject the fault and recover, wait until it settles, judge."""
        assert self.apps is not None and self.publisher is not None and self.desk is not None
        self.round_no += 1
        self._notes = []
        await self._heal()
        size = self.size
        records = self.factory.round_records(
            self.round_no, size.requests, size.assignments, size.invalid_sets
        )
        load = RoundLoad(records)
        since = datetime.now(UTC) - timedelta(seconds=2)
        tails = await self._tails()
        window = size.requests / size.rate
        begin = time.monotonic()
        deadline = begin + window + size.pause + size.restart_delay + size.settle_timeout
        stop_desk = asyncio.Event()
        targets = Targets(self.stack, self.apps, size)
        publishing = asyncio.create_task(self.publisher.publish(load, size.rate, deadline))
        desk = asyncio.create_task(self.desk.work(load, stop_desk, deadline))
        try:
            await asyncio.sleep(window * size.fault_at)
            fault_at = time.monotonic()
            await fault.inject(targets)
            await fault.recover(targets)
            await publishing
            published = time.monotonic()
            verdict = await self._settle(load, tails, since, deadline)
        finally:
            # Also when the fault or a check raised: no load task may outlive its round.
            publishing.cancel()
            stop_desk.set()
            await asyncio.gather(publishing, desk, return_exceptions=True)
        row = self._row(fault, load, verdict, None if fault is BASELINE else fault_at)
        row.settle_seconds = time.monotonic() - published
        return row

    async def _tails(self) -> dict[str, TopicTail]:
        """Readers of every topic the checks look at, from their current ends."""
        names = {
            **{name: topic for name, topic in self.inbound.items()},
            **{f"dlq-{name}": self.topics.dlq(topic) for name, topic in self.inbound.items()},
            "member-messages": self.topics.member_messages,
            "notifications": self.topics.employee_notifications,
        }
        starts = await asyncio.wait_for(
            end_offsets(self.bootstrap, list(names.values())), READ_TIMEOUT
        )
        return {name: TopicTail(self.bootstrap, topic, starts) for name, topic in names.items()}

    async def _observe(
        self, load: RoundLoad, tails: dict[str, TopicTail], since: datetime
    ) -> Observation:
        """Read everything once, committed offsets first (what they cover is then visible)."""
        committed = {
            name: await committed_offsets(self.bootstrap, group) for name, group in GROUPS.items()
        }
        ends = await end_offsets(self.bootstrap, list(self.inbound.values()))
        for tail in tails.values():
            await tail.refresh()
        executions = await executions_since(self.env["MEMBERFLOW_TEMPORAL_ADDRESS"], since)
        members = [r.member_id for r in load.records]
        requests = [r.business_id for r in load.records if r.business_id]
        store = await read_store(self.env["MEMBERFLOW_DATABASE_URL"], requests, members)
        return Observation(
            topics=dict(self.inbound),
            inbound={name: tails[name].records for name in self.inbound},
            dead_letters={name: tails[f"dlq-{name}"].records for name in self.inbound},
            member_messages=tails["member-messages"].records,
            notifications=tails["notifications"].records,
            ends=ends,
            committed=committed,
            executions=executions,
            store=store,
        )

    async def _settle(
        self, load: RoundLoad, tails: dict[str, TopicTail], since: datetime, deadline: float
    ) -> Verdict:
        """Poll until nothing can change any more (or the deadline), then look for stuck work."""
        seen: Observation | None = None
        verdict = Verdict(sent=len(load.records))
        stable: tuple[list[str], float] | None = None
        failures = 0
        while True:
            passed = time.monotonic() >= deadline
            started = time.monotonic()
            try:
                seen = await asyncio.wait_for(self._observe(load, tails, since), READ_TIMEOUT)
            except Exception as error:
                failures += 1
                if passed and seen is None:
                    self._notes.append(f"could not observe the system: {type(error).__name__}")
                    return verdict
                if not passed:
                    await asyncio.sleep(1.0)
                    continue
            assert seen is not None
            verdict = evaluate(load, seen, deadline_passed=passed)
            if passed:
                break
            if verdict.settled and not self.desk_busy():
                details = sorted(p.detail for p in verdict.problems)
                now = time.monotonic()
                if not details:
                    break
                if stable is None or stable[0] != details:
                    stable = (details, now)
                elif now - stable[1] >= STABLE_FOR:
                    break
            else:
                stable = None
            # Never more than half the time observing: the harness shares the machine.
            await asyncio.sleep(max(1.0, time.monotonic() - started))
        if failures:
            self._notes.append(f"{failures} observation(s) failed while servers were down")
        running = [e for runs in seen.executions.values() for e in runs if e.running]
        seen.stuck = await asyncio.wait_for(
            stuck_executions(
                self.env["MEMBERFLOW_TEMPORAL_ADDRESS"], running, self.size.stuck_attempts
            ),
            READ_TIMEOUT * 4,
        )
        return evaluate(load, seen, deadline_passed=True)

    def desk_busy(self) -> bool:
        """Whether the desk still works on a reply."""
        return self.desk is not None and self.desk.busy()

    def _row(self, fault: Fault, load: RoundLoad, verdict: Verdict, at: float | None) -> Row:
        row = Row(fault.name, verdict.sent, verdict.started, verdict.dead_lettered)
        for category in ("lost", "duplicated", "misrouted", "stuck", "uncommitted"):
            setattr(row, category, verdict.count(category))
        row.repeats, row.problems = verdict.repeats, verdict.problems
        row.recover_seconds = _recovery(load, at) if at is not None else None
        resent = sum(1 for s in load.sent.values() if s.attempts > 1)
        unsent = sum(1 for s in load.sent.values() if s.acked_at is None)
        if resent:
            row.notes.append(f"{resent} record(s) re-sent after an unanswered send")
        if unsent:
            row.notes.append(f"{unsent} record(s) never acknowledged by Kafka")
        unanswered = sum(r.unanswered for r in load.replies.values())
        failed = Counter(status for r in load.replies.values() for status in r.server_errors)
        if unanswered:
            row.notes.append(
                f"{unanswered} desk call(s) abandoned unanswered after {CALL_TIMEOUT:g} s"
            )
        if failed:
            statuses = ", ".join(f"{n}x {status}" for status, n in sorted(failed.items()))
            row.notes.append(f"desk calls answered 5xx, then retried: {statuses}")
        row.notes += self._notes
        return row

    async def close(self) -> list[int]:
        """Stop the load, the processes and the stack; return pids that would not go."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        for client in (self.desk, self.publisher):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close()
        leftovers = await asyncio.to_thread(self.apps.stop_all) if self.apps else []
        leftovers += await asyncio.to_thread(self.stack.down)
        return leftovers


def _recovery(load: RoundLoad, fault_at: float) -> float | None:
    """Seconds from the fault until both paths worked again for work that began after it."""
    listed = [
        load.listed[r.business_id]
        for r in load.records
        if r.business_id in load.listed
        and (sent := load.sent.get(r.key)) is not None
        and sent.acked_at is not None
        and sent.acked_at >= fault_at
    ]
    answered = [
        reply.done_at
        for reply in load.replies.values()
        if reply.started >= fault_at
        and reply.done_at is not None
        and reply.status in ("ok", "ok-after-retry")
    ]
    if not listed or not answered:
        return None
    return max(min(listed), min(answered)) - fault_at
