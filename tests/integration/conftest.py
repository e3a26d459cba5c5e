"""Running memberflow's own processes (worker, bridge, API) inside the test session."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.platform.operations import OpsConfig
from contracts.platform.topics import Topics
from tests.conftest import unique_topics
from tests.kafka_helpers import contact_event, encoded, produce
from workers.app.demo.desk_client import DeskClient, DeskError
from workers.app.runtime import Part, Services, run_part, services
from workers.platform import employees
from workers.platform.database import Sessions, create_engine, session_factory
from workers.platform.migrate import upgrade
from workers.platform.operations import load_ops_config
from workers.platform.settings import Settings
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers
from workers.trackers.records import FollowUpRecord


@dataclass
class RunningApp:
    """Settings and connections of an in-process memberflow."""

    settings: Settings
    services: Services

    @property
    def bootstrap(self) -> str:
        """Kafka bootstrap servers."""
        return self.settings.kafka.bootstrap_servers

    @property
    def topics(self) -> Topics:
        """This app's (unique) topics."""
        return self.settings.topics


@asynccontextmanager
async def running_app(
    base: Settings,
    *,
    postgres_url: str,
    parts: tuple[Part, ...] = ("worker", "bridge"),
    topics: Topics | None = None,
    api_port: int | None = None,
) -> AsyncIterator[RunningApp]:
    """Start the chosen parts against the real servers; stop them on exit."""
    settings = base.model_copy(
        update={
            "topics": topics or unique_topics("it"),
            "database": base.database.model_copy(update={"url": postgres_url}),
            "api_port": api_port or base.api_port,
        }
    )
    async with services(settings) as svc:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(run_part(part, svc, stop)) for part in parts]
        try:
            yield RunningApp(settings, svc)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)


@pytest_asyncio.fixture(loop_scope="session")
async def app(base_settings: Settings, postgres_url: str) -> AsyncIterator[RunningApp]:
    """Worker + bridge on fresh topics."""
    async with running_app(base_settings, postgres_url=postgres_url) as running:
        yield running


@pytest.fixture(scope="module")
def ops() -> OpsConfig:
    """The shipped operations configuration."""
    return load_ops_config(None)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def engine(postgres_url: str, ops: OpsConfig) -> AsyncIterator[AsyncEngine]:
    """An engine on the session's database, migrated, with the configured employees."""
    await upgrade(postgres_url)
    eng = create_engine(postgres_url)
    await employees.sync_employees_from_config(session_factory(eng), ops)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="module")
def sessions(engine: AsyncEngine) -> Sessions:
    """A session factory on that engine."""
    return session_factory(engine)


async def submitted(app: RunningApp, desk: DeskClient, **overrides: Any) -> str:
    """Publish a Contact Us request and wait until the desk lists it; its request id."""
    event = contact_event(**overrides)
    request_id: str = event["data"]["request_id"]
    await produce(app.bootstrap, app.topics.contact_requests, [(b"m", encoded(event))])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        try:
            await desk.request(request_id)
            return request_id
        except DeskError:
            await asyncio.sleep(0.2)
    raise AssertionError("request never reached the queue")


SALES_NOTE: dict[str, Any] = {
    "tracker_type": "ST",
    "memo_type": "SL",
    "need_group": "BORROW",
    "task": "CCAPP",
}
"""A note on the shipped Sales Tracker type (``sales_display``): its follow-ups are leads."""


async def new_follow_up(
    sessions: Sessions,
    ops: OpsConfig,
    *,
    assignee: str,
    due_on: date,
    today: date,
    sales: bool = False,
) -> FollowUpRecord:
    """A follow-up for ``assignee`` on a note in a new member's MS Tracker (with ``sales``, its
    Sales Tracker: a sales lead), written by MG."""
    kind = SALES_NOTE if sales else {"tracker_type": "MS", "memo_type": "MS"}
    written = await trackers.append_conversation(
        sessions,
        ops,
        member_id=str(random.randint(10**8, 10**9 - 1)),
        employee_id="MG",
        text="Member asked for a call back.",
        idempotency_key=f"note-{uuid.uuid4()}",
        **kind,
    )
    return await followups.open_follow_up(
        sessions,
        idempotency_key=f"follow-up-{uuid.uuid4()}",
        conversation_id=written.conversation_id,
        assignee_employee_id=assignee,
        assigned_by="MG",
        due_on=due_on,
        today=today,
    )
