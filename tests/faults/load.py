"""The steady load of a round: records published on Kafka, and an employee working the queue.

The publisher and the desk behave like sensible clients of a system under a fault: they retry
what failed, with a bound, and remember every attempt so the checks can tell a duplicate the
client caused (a record re-sent after an unanswered send) from one the system made.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import httpx
from aiokafka import AIOKafkaProducer

from tests.faults.records import Outbound
from workers.app.demo.desk_client import DeskClient, DeskError

# One HTTP call is abandoned (and retried) after this long: Updates from the API have no
# deadline of their own, so a call made while Temporal or the worker is gone may never answer.
CALL_TIMEOUT = 15.0
SEND_TIMEOUT = 10.0


@dataclass
class Sent:
    """One record's publishing: how many sends it took and when the broker acknowledged it."""

    record: Outbound
    attempts: int = 0
    acked_at: float | None = None


ReplyStatus = Literal["ok", "ok-after-retry", "refused", "gave-up"]


@dataclass
class Reply:
    """The desk's work on one request: claim (with a follow-up) and reply."""

    request_id: str
    follow_up: bool
    started: float
    status: ReplyStatus | None = None
    done_at: float | None = None
    attempts: int = 0
    detail: str = ""
    # Calls abandoned without an answer after CALL_TIMEOUT, and the 5xx statuses answered.
    unanswered: int = 0
    server_errors: list[int] = field(default_factory=list)


@dataclass
class RoundLoad:
    """Everything the load did in one round (monotonic times)."""

    records: list[Outbound]
    sent: dict[bytes, Sent] = field(default_factory=dict)
    listed: dict[str, float] = field(default_factory=dict)
    replies: dict[str, Reply] = field(default_factory=dict)
    publishing_done: asyncio.Event = field(default_factory=asyncio.Event)

    def contact(self, request_id: str) -> Outbound | None:
        """The valid request with this id."""
        for record in self.records:
            if record.business_id == request_id and record.inbound == "contact":
                return record
        return None


class Publisher:
    """An idempotent producer that survives a broker restart by starting over."""

    def __init__(self, bootstrap: str, topics: Mapping[str, str]) -> None:
        self._bootstrap = bootstrap
        self._topics = topics
        self._producer: AIOKafkaProducer | None = None

    async def _ready(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap,
                enable_idempotence=True,
                request_timeout_ms=5000,
            )
            try:
                await asyncio.wait_for(producer.start(), SEND_TIMEOUT)
            except BaseException:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(producer.stop(), 5)
                raise
            self._producer = producer
        return self._producer

    async def _reset(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            # Long enough for aiokafka to give up its pending batch (request_timeout_ms) and
            # end its sender task, rather than leave it behind.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 15)

    async def send(self, sent: Sent, deadline: float) -> None:
        """Send until the broker acknowledges, or ``deadline`` (monotonic) passes."""
        record = sent.record
        while time.monotonic() < deadline:
            sent.attempts += 1
            try:
                producer = await self._ready()
                await asyncio.wait_for(
                    producer.send_and_wait(
                        self._topics[record.inbound], value=record.value, key=record.key
                    ),
                    SEND_TIMEOUT,
                )
            except Exception:
                # Unanswered: the record may or may not be in the log. A new producer (a new
                # producer id) then re-sends, so the checks read the topic to count copies.
                await self._reset()
                await asyncio.sleep(0.5)
                continue
            sent.acked_at = time.monotonic()
            return

    async def publish(self, load: RoundLoad, rate: float, deadline: float) -> None:
        """Publish the round's records, valid requests at ``rate`` per second."""
        valid = sum(1 for r in load.records if r.inbound == "contact" and r.valid)
        interval = (valid / rate) / max(1, len(load.records))
        begin = time.monotonic()
        try:
            for n, record in enumerate(load.records):
                # A steady schedule; a send held up by a fault is followed by a catch-up.
                await asyncio.sleep(max(0.0, begin + n * interval - time.monotonic()))
                sent = load.sent.setdefault(record.key, Sent(record))
                await self.send(sent, deadline)
        finally:
            load.publishing_done.set()

    async def close(self) -> None:
        """Stop the producer."""
        await self._reset()


class Desk:
    """Sarah works the queue: claims (when she will ask for a follow-up) and replies."""

    def __init__(self, base_url: str, token: str, concurrency: int) -> None:
        self._client = DeskClient(base_url, token, timeout=CALL_TIMEOUT)
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Cancel what is in flight and close the HTTP client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._client.close()

    def busy(self) -> bool:
        """Whether a reply is still being worked on."""
        return bool(self._tasks)

    async def work(self, load: RoundLoad, stop: asyncio.Event, deadline: float) -> None:
        """Poll the queue and reply to every request of the round it lists, until ``stop``."""
        wanted = {r.business_id: r for r in load.records if r.inbound == "contact" and r.valid}
        while not stop.is_set():
            try:
                items = await self._client.queue()
            except (DeskError, httpx.HTTPError, OSError):
                items = []
            now = time.monotonic()
            for item in items:
                request_id = item["request_id"]
                record = wanted.get(request_id)
                if record is None or request_id in load.replies:
                    continue
                load.listed.setdefault(request_id, now)
                reply = Reply(request_id, record.follow_up, now)
                load.replies[request_id] = reply
                task = asyncio.create_task(self._handle(reply, deadline))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)

    async def _handle(self, reply: Reply, deadline: float) -> None:
        async with self._slots:
            if reply.follow_up:
                status = await self._call(
                    reply, lambda: self._client.claim(reply.request_id), deadline
                )
                if status in ("refused", "gave-up"):
                    reply.status = status
                    return
            body: dict[str, Any] = {"body": "Thanks for writing; we have sorted this out."}
            body["copy_to_tracker"] = True
            if reply.follow_up:
                due = (date.today() + timedelta(days=3)).isoformat()
                body["follow_up"] = {"assignee_employee_id": "JD", "due_on": due}
            reply.status = await self._call(
                reply, lambda: self._client.reply(reply.request_id, body), deadline
            )
            reply.done_at = time.monotonic()

    async def _call(self, reply: Reply, call: Any, deadline: float) -> ReplyStatus:
        """One desk action with retries; a 409 after an unanswered attempt means it landed."""
        uncertain = False
        pause = 0.5
        while time.monotonic() < deadline:
            reply.attempts += 1
            try:
                await asyncio.wait_for(call(), CALL_TIMEOUT + 1)
                return "ok-after-retry" if uncertain else "ok"
            except DeskError as error:
                if error.status == 409 and uncertain and "already replied" in error.detail:
                    return "ok-after-retry"
                if error.status < 500 and error.status != 404:
                    reply.detail = f"HTTP {error.status}"
                    return "refused"
                # 5xx may come after the Update was accepted; 404: the read model lags.
                if error.status >= 500:
                    uncertain = True
                    reply.server_errors.append(error.status)
                reply.detail = f"HTTP {error.status}"
            except (httpx.HTTPError, OSError, TimeoutError) as error:
                uncertain = True
                if isinstance(error, (httpx.TimeoutException, TimeoutError)):
                    reply.unanswered += 1
                reply.detail = type(error).__name__
            await asyncio.sleep(pause)
            pause = min(pause * 2, 4.0)
        return "gave-up"
