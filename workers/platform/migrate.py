"""Apply the Alembic migrations programmatically (no alembic.ini needed).

The script location is resolved from this package's directory, so it works from a source
checkout and from an installed wheel alike.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from workers.platform.database import create_engine

MIGRATIONS = Path(__file__).parent / "migrations"

# Several processes (worker, bridge, API) migrate at start-up; one advisory lock serialises
# them so the second finds the schema already at head instead of racing on CREATE TABLE.
_MIGRATION_LOCK = 0x6D66_0001


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations.

    Args:
        database_url: Optional URL, used only when Alembic opens its own connection.

    Returns:
        The configuration.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if database_url is not None:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(database_url: str) -> None:
    """Bring the database schema to the newest revision (safe to call concurrently).

    Args:
        database_url: A SQLAlchemy URL with the asyncpg driver,
            e.g. ``postgresql+asyncpg://user@127.0.0.1:15432/memberflow``.
    """
    engine = create_engine(database_url, pool_size=1)
    config = alembic_config()
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
            )
            await connection.run_sync(_upgrade, config)
    finally:
        await engine.dispose()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None before the first migration."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current)
    finally:
        await engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
