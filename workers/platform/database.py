"""Engine and session helpers for the Tracker store."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    DateTime,
    MetaData,
    func,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Sessions = async_sessionmaker[AsyncSession]
"""What every store function takes first: a factory of sessions bound to one engine."""


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine for ``url`` (``postgresql+asyncpg://user@host:port/db``).

    Args:
        url: The database URL; the asyncpg driver is required.
        pool_size: Connections kept open per process.

    Returns:
        The engine; dispose of it with ``await engine.dispose()``.
    """
    # pre_ping: a restarted PostgreSQL must not fail the first activity after it comes back.
    return _create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> Sessions:
    """A session factory; sessions keep loaded values usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


# Ids derived from idempotency keys: a retried write computes the same id.
_IDS = uuid.UUID("6d656d62-6572-666c-6f77-000000000001")


def derived_id(kind: str, key: str) -> str:
    """A stable id for the row written under ``key``."""
    return str(uuid.uuid5(_IDS, f"{kind}:{key}"))


async def advisory_lock(session: AsyncSession, name: str) -> None:
    """Hold a transaction-scoped advisory lock named ``name`` until commit or rollback."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
    )


# Stable constraint names, so later migrations can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


KEY = 200
"""Length of idempotency keys (callers compose them from business ids)."""


class Base(DeclarativeBase):
    """Base of every memberflow table."""

    metadata = MetaData(naming_convention=NAMING)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())
