"""Engine and session helpers for the Tracker store."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

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
