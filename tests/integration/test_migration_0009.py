"""Migration 0009 (Tracker consolidate and copy) goes down to the numbering it found and up
again: the relocation function gone and back, owned by the maintenance role."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from tests.integration.test_access import migrate
from workers.platform.database import create_engine

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_migration_0009_downgrades_to_the_unique_numbering_and_upgrades_again(
    postgres_url: str,
) -> None:
    url = f"{postgres_url.rsplit('/', 1)[0]}/mf_mig_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    try:
        await admin.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    finally:
        await admin.close()
    function = "SELECT count(*) FROM pg_proc WHERE proname = 'memberflow_relocate_conversations'"
    unique = "SELECT count(*) FROM pg_constraint WHERE conname = 'uq_conversations_tracker_seq'"
    owner = (
        "SELECT pg_get_userbyid(proowner) FROM pg_proc "
        "WHERE proname = 'memberflow_relocate_conversations'"
    )
    engine = create_engine(url, pool_size=1)

    async def read(query: str) -> Any:
        async with engine.connect() as connection:
            return await connection.scalar(text(query))

    try:
        await migrate(url, "head")
        await migrate(url, "0008", down=True)
        assert (await read(function), await read(unique)) == (0, 1)
        await migrate(url, "head")
        assert (await read(function), await read(unique)) == (1, 0)
        assert await read(owner) == "memberflow_tracker_maintenance"
    finally:
        await engine.dispose()
