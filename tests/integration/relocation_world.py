"""What the consolidate and copy tests build on the real servers: the desk, Trackers with notes
at chosen times, and readings of the rows the API must (or must not) have written."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from contracts.platform.operations import OpsConfig
from tests.integration.conftest import RunningApp
from workers.platform.database import Sessions
from workers.trackers import tracker_store as trackers
from workers.trackers.relocation_tables import CopyRow, RelocationRow
from workers.trackers.tables import ConversationRow, TrackerRow

SUPERVISOR, EMPLOYEE = "RLS", "RLE"
"""A supervisor (who may consolidate and copy) and a plain employee (who may not)."""

EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def member() -> str:
    """A membership no other test uses."""
    return str(random.randint(10**8, 10**9 - 1))


def at(minutes: int) -> datetime:
    """A fixed moment, ``minutes`` after the tests' epoch."""
    return EPOCH + timedelta(minutes=minutes)


@dataclass
class Desk:
    """The running app, its API client and the tokens."""

    app: RunningApp
    http: httpx.AsyncClient
    tokens: dict[str, str]

    @property
    def sessions(self) -> Sessions:
        """The store."""
        return self.app.services.session_factory

    @property
    def ops(self) -> OpsConfig:
        """The shipped operations configuration."""
        return self.app.services.ops

    def headers(self, who: str = SUPERVISOR, key: str | None = None) -> dict[str, str]:
        """Bearer token of ``who`` and an Idempotency-Key (a new one unless given)."""
        return {
            "Authorization": f"Bearer {self.tokens[who]}",
            "Idempotency-Key": key or uuid.uuid4().hex,
        }

    async def consolidate(
        self,
        member_id: str,
        tracker_ids: list[str],
        *,
        who: str = SUPERVISOR,
        key: str | None = None,
    ) -> httpx.Response:
        """``POST /members/{member_id}/trackers/consolidations``."""
        answer: httpx.Response = await self.http.post(
            f"/members/{member_id}/trackers/consolidations",
            json={"tracker_ids": tracker_ids},
            headers=self.headers(who, key),
        )
        return answer

    async def copy(
        self, member_id: str, body: dict[str, Any], *, who: str = SUPERVISOR, key: str | None = None
    ) -> httpx.Response:
        """``POST /members/{member_id}/trackers/copies``."""
        answer: httpx.Response = await self.http.post(
            f"/members/{member_id}/trackers/copies", json=body, headers=self.headers(who, key)
        )
        return answer

    async def listing(self, member_id: str, **params: Any) -> list[dict[str, Any]]:
        """``GET /members/{member_id}/trackers``: the Trackers."""
        answer = await self.http.get(
            f"/members/{member_id}/trackers",
            params=params,
            headers={"Authorization": f"Bearer {self.tokens[SUPERVISOR]}"},
        )
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def notes_reported(self, day: date) -> int:
        """The notes the tracker-activity report counts for the supervisor on ``day``."""
        answer = await self.http.get(
            "/reports/tracker-activity",
            params={"from": day.isoformat(), "to": day.isoformat()},
            headers={"Authorization": f"Bearer {self.tokens[SUPERVISOR]}"},
        )
        assert answer.status_code == 200, answer.text
        rows = answer.json()["items"]
        return sum(int(r["conversations"]) for r in rows if r["employee_id"] == SUPERVISOR)

    async def tracker(
        self,
        member_id: str,
        notes: list[tuple[int, str]],
        *,
        tracker_type: str = "MS",
        memo_type: str = "MS",
        account_suffix: str = "000",
    ) -> str:
        """A new Tracker of the member with a note per ``(minute, text)``; its id."""
        first, *rest = notes
        ref = await trackers.append_conversation(
            self.sessions,
            self.ops,
            member_id=member_id,
            account_suffix=account_suffix,
            tracker_type=tracker_type,
            memo_type=memo_type,
            employee_id=SUPERVISOR,
            text=first[1],
            idempotency_key=f"rl-{uuid.uuid4()}",
            new_tracker=True,
            at=at(first[0]),
        )
        for minute, text in rest:
            await self.note(ref.tracker_id, minute, text, memo_type=memo_type)
        return ref.tracker_id

    async def note(self, tracker_id: str, minute: int, text: str, memo_type: str = "MS") -> str:
        """A note in a given Tracker at a fixed moment; its conversation id."""
        ref = await trackers.append_to_tracker(
            self.sessions,
            self.ops,
            tracker_id=tracker_id,
            memo_type=memo_type,
            employee_id=SUPERVISOR,
            text=text,
            idempotency_key=f"rl-{uuid.uuid4()}",
            at=at(minute),
        )
        return ref.conversation_id

    async def legacy_tracker(self, member_id: str, tracker_type: str, memo_type: str) -> str:
        """A Tracker of a one-per-member type written before that rule (``single_type`` NULL),
        so a member can hold two of it, as in older data."""
        tracker_id = str(uuid.uuid4())
        async with self.sessions.begin() as session:
            session.add(
                TrackerRow(
                    id=tracker_id,
                    member_id=member_id,
                    account_suffix="000",
                    tracker_type=tracker_type,
                    single_type=None,
                    description="Legacy",
                )
            )
        await self.note(tracker_id, 1, "Legacy note.", memo_type=memo_type)
        return tracker_id

    async def conversations(self, tracker_id: str) -> list[ConversationRow]:
        """The conversations in a Tracker, oldest first."""
        async with self.sessions() as session:
            return list(
                await session.scalars(
                    select(ConversationRow)
                    .where(ConversationRow.tracker_id == tracker_id)
                    .order_by(ConversationRow.created_at)
                )
            )

    async def exists(self, tracker_id: str) -> bool:
        """Whether the Tracker is still there."""
        async with self.sessions() as session:
            return await session.get(TrackerRow, tracker_id) is not None

    async def relocations(self, consolidation_id: str) -> list[RelocationRow]:
        """The relocation rows of one consolidation."""
        async with self.sessions() as session:
            return list(
                await session.scalars(
                    select(RelocationRow).where(RelocationRow.consolidation_id == consolidation_id)
                )
            )

    async def copy_rows(self, copy_id: str) -> list[CopyRow]:
        """The copy links written by one copy."""
        async with self.sessions() as session:
            return list(await session.scalars(select(CopyRow).where(CopyRow.copy_id == copy_id)))


def snapshot(rows: list[ConversationRow]) -> list[tuple[Any, ...]]:
    """What a conversation is made of (everything but its Tracker)."""
    return [
        (r.id, r.seq, r.created_at, r.employee_id, r.memo_type, r.text, r.idempotency_key)
        for r in rows
    ]
