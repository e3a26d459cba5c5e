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

from workers.platform.settings import DatabaseSettings

Sessions = async_sessionmaker[AsyncSession]
"""What every store function takes first: a factory of sessions bound to one engine."""


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    connect_timeout: float = 5.0,
    statement_timeout: float = 300.0,
) -> AsyncEngine:
    """An async engine for ``url`` (``postgresql+asyncpg://user@host:port/db``).

    Args:
        url: The database URL; the asyncpg driver is required.
        pool_size: Connections kept open per process.
        connect_timeout: Seconds to open a connection (and to wait for a free pooled one).
        statement_timeout: Seconds any one statement (or COPY) may take.

    Returns:
        The engine; dispose of it with ``await engine.dispose()``.
    """
    return _create_async_engine(
        url,
        pool_size=pool_size,
        # A restarted PostgreSQL must not fail the first activity after it comes back.
        pool_pre_ping=True,
        pool_timeout=connect_timeout,
        # asyncpg's own bounds: without them a stopped server (sockets open, nobody answering)
        # holds a call for ever; the ping above is bounded by the statement timeout too.
        connect_args={"timeout": connect_timeout, "command_timeout": statement_timeout},
        # Errors and logs never carry the statement's parameters: they are member data.
        hide_parameters=True,
    )


def engine_for(settings: DatabaseSettings, *, pool_size: int | None = None) -> AsyncEngine:
    """The engine a memberflow process uses: the configured URL, pool and timeouts."""
    return create_engine(
        settings.url,
        pool_size=settings.pool_size if pool_size is None else pool_size,
        connect_timeout=settings.connect_timeout_seconds,
        statement_timeout=settings.statement_timeout_seconds,
    )


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
