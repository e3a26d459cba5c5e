"""Every table of memberflow on one metadata: what the migrations must create.

Each capability declares its own tables; this module only gathers them, so Alembic and the
migrations-versus-tables test see the whole schema.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from workers.contacts import tables as contact_tables
from workers.platform import audit, employees, memberships, tokens
from workers.platform.database import Base
from workers.tiers.runs import persist as tier_tables
from workers.trackers import mass_tables, purge_tables, relocation_tables
from workers.trackers import tables as tracker_tables

TABLE_MODULES = (
    employees,
    tokens,
    audit,
    contact_tables,
    tracker_tables,
    tier_tables,
    memberships,
    mass_tables,
    relocation_tables,
    purge_tables,
)
"""Imported for their side effect: each adds its tables to ``Base.metadata``."""

metadata: MetaData = Base.metadata
