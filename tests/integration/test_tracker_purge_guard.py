"""The one delete path on the real servers: the application role still cannot delete or change
a note, and the purge function deletes only what a verified purge lists, of the types it allows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.integration.purge_world import Purges, day, member, purges_app
from workers.platform.settings import Settings
from workers.trackers.tables import ConversationRow, TrackerRow

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def purges(base_settings: Settings, postgres_url: str) -> AsyncIterator[Purges]:
    """A worker, the API in process, an admin and an employee."""
    async with purges_app(base_settings, postgres_url) as running:
        yield running


# --- the guard ---------------------------------------------------------------------------------


async def test_the_application_role_still_cannot_delete_or_change_a_note(purges: Purges) -> None:
    ref = await purges.note(member(), day())
    for statement in (
        "DELETE FROM conversations WHERE id = :id",
        "UPDATE conversations SET text = 'changed' WHERE id = :id",
        # The exception for moving notes holds for the maintenance role only.
        "UPDATE conversations SET tracker_id = tracker_id WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with purges.sessions.begin() as session:
                await session.execute(text(statement), {"id": ref.conversation_id})
    with pytest.raises(DBAPIError):
        async with purges.sessions.begin() as session:
            await session.execute(text("TRUNCATE follow_up_events"))
    assert await purges.exists(ConversationRow, ref.conversation_id)


async def _call_function(purges: Purges, purge_id: str, ids: list[str]) -> None:
    async with purges.sessions.begin() as session:
        await session.execute(
            text("SELECT * FROM memberflow_purge_conversations(:p, CAST(:ids AS varchar[]))"),
            {"p": purge_id, "ids": ids},
        )


async def test_the_function_refuses_what_the_verify_stage_did_not_allow(purges: Purges) -> None:
    on = day()
    ms = await purges.note(member(), on)
    audit = await purges.note(member(), on, tracker_type="AT", memo="CW")
    # A purge recorded as allowed to touch MS only, yet listing an AT note (as a forged or
    # stale list would): the database refuses it, whatever the application asked.
    purge_id = str(uuid.uuid4())
    async with purges.sessions.begin() as session:
        await session.execute(
            text(
                "INSERT INTO tracker_purges (id, origin, criteria, purge_types, report, state, "
                "verified_by) VALUES (:p, 'manual', '{}', ARRAY['MS'], '{}', 'verified', 'T')"
            ),
            {"p": purge_id},
        )
        await session.execute(
            text(
                "INSERT INTO tracker_purge_items (purge_id, conversation_id) "
                "VALUES (:p, :a), (:p, :b)"
            ),
            {"p": purge_id, "a": ms.conversation_id, "b": audit.conversation_id},
        )
    with pytest.raises(DBAPIError, match="Tracker type AT does not allow purging"):
        await _call_function(purges, purge_id, [audit.conversation_id])
    unlisted = await purges.note(member(), on)
    with pytest.raises(DBAPIError, match="not listed by the verify stage"):
        await _call_function(purges, purge_id, [unlisted.conversation_id])
    assert await purges.exists(ConversationRow, audit.conversation_id)
    # What the list does allow, it deletes (and the Tracker it empties).
    await _call_function(purges, purge_id, [ms.conversation_id])
    assert not await purges.exists(ConversationRow, ms.conversation_id)
    assert not await purges.exists(TrackerRow, ms.tracker_id)
    assert await purges.exists(ConversationRow, unlisted.conversation_id)
