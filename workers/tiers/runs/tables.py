"""Tables of the Tiered Service results and runs, on the store's metadata (migration 0002)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB

from workers.platform.database import Base

tier_results = Table(
    "tier_results",
    Base.metadata,
    Column("period", String(7), primary_key=True),
    Column("member_id", String(12), primary_key=True),
    Column("total", Integer, nullable=False),
    Column("household_total", Integer, nullable=True),
    Column("level_code", String(3), nullable=False),
    Column("level_name", String(80), nullable=False),
    Column("previous_level_code", String(3), nullable=True),
    Column("atm_service_charge_code", Integer, nullable=True),
    Column("points_by_goal", JSONB, nullable=False),
    Column("points_by_item", JSONB, nullable=False),
    Column("possible_by_goal", JSONB, nullable=False),
    Column("result_hash", BigInteger, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("scored_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)
tier_runs = Table(
    "tier_runs",
    Base.metadata,
    Column("period", String(7), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("workflow_id", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("report", JSONB, nullable=True),
)
