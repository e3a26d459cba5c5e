"""What the Tracker purge tests share: an app with an admin and an employee, notes on days of
their own, and the in-process API (``test_tracker_purge.py``, ``test_tracker_purge_guard.py``).

Each test writes its notes on a day of its own far in the past (``day()``) and purges only that
day, so tests never select each other's notes.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from contracts.platform.operations import OpsConfig
from tests.integration.conftest import RunningApp, running_app
from workers.app.api import API_PREFIX, create_app
from workers.platform.database import Sessions
from workers.platform.employees import add_employee
from workers.platform.settings import Settings
from workers.trackers import follow_up_store as followups
from workers.trackers import tracker_store as trackers
from workers.trackers.records import ConversationRef, FollowUpRecord

ADMIN, CLERK = "PGADM", "PGEMP"
_days: set[date] = set()


def day() -> date:
    """A day of this test's own, between 1975 and 1999 (nobody else writes notes then)."""
    while (found := date(1975, 1, 1) + timedelta(days=random.randrange(9000))) in _days:
        pass
    _days.add(found)
    return found


def noon(on: date) -> datetime:
    """Midday UTC of ``on``: the same day in the credit union's time zone."""
    return datetime.combine(on, time(12), tzinfo=UTC)


@dataclass
class Purges:
    """The running app, the in-process API, tokens."""

    app: RunningApp
    http: httpx.AsyncClient
    tokens: dict[str, str]

    @property
    def sessions(self) -> Sessions:
        """The app's session factory."""
        return self.app.services.session_factory

    @property
    def ops(self) -> OpsConfig:
        """The shipped operations configuration (MS allows purging)."""
        return self.app.services.ops

    def as_(self, employee: str) -> dict[str, str]:
        """The Authorization header of ``employee``."""
        return {"Authorization": f"Bearer {self.tokens[employee]}"}

    async def note(
        self,
        member: str,
        on: date,
        *,
        memo: str = "MS",
        tracker_type: str = "MS",
        thread_id: str | None = None,
        new_tracker: bool = False,
        at: datetime | None = None,
    ) -> ConversationRef:
        """A note written by MG at noon of ``on`` (or ``at``)."""
        return await trackers.append_conversation(
            self.sessions,
            self.ops,
            member_id=member,
            tracker_type=tracker_type,
            memo_type=memo,
            employee_id="MG",
            text="Member asked about a fee.",
            idempotency_key=f"purge-note-{uuid.uuid4()}",
            thread_id=thread_id,
            new_tracker=new_tracker,
            at=at or noon(on),
        )

    async def follow_up(self, ref: ConversationRef, on: date) -> FollowUpRecord:
        """An open follow-up for MG on the note, opened on ``on``."""
        return await followups.open_follow_up(
            self.sessions,
            idempotency_key=f"purge-fu-{uuid.uuid4()}",
            conversation_id=ref.conversation_id,
            assignee_employee_id="MG",
            assigned_by="MG",
            due_on=on + timedelta(days=7),
            at=noon(on),
            today=on,
        )

    async def exists(self, row: Any, key: str) -> bool:
        """Whether the row with this primary key is still there."""
        async with self.sessions() as session:
            return await session.get(row, key) is not None


@asynccontextmanager
async def purges_app(base_settings: Settings, postgres_url: str) -> AsyncIterator[Purges]:
    """A worker on real servers, the API in process, an admin and an employee with tokens."""
    async with running_app(base_settings, postgres_url=postgres_url, parts=("worker",)) as app:
        sessions = app.services.session_factory
        tokens = {
            ADMIN: await add_employee(sessions, ADMIN, "Purge Admin", "admin"),
            CLERK: await add_employee(sessions, CLERK, "Purge Clerk", "employee"),
        }
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(app.services)),
            base_url=f"http://desk{API_PREFIX}",
        ) as http:
            yield Purges(app, http, tokens)


def member() -> str:
    """A new member number."""
    return str(random.randint(10**8, 10**9 - 1))


def only(on: date, **more: Any) -> dict[str, Any]:
    """Criteria selecting the MS notes of one day."""
    return {"tracker_types": ["MS"], "created_from": str(on), "created_to": str(on), **more}
