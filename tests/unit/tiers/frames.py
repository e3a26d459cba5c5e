"""Builders of small typed extracts and programs for the tier tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from contracts.tiers.program import TierProgram
from tests.unit.tiers import reference
from workers.tiers.scoring.engine import score_extract
from workers.tiers.scoring.extract import SCHEMAS, TABLE_NAMES, Extract, polars_schema
from workers.tiers.scoring.results import to_results
from workers.tiers.scoring.sharding import assign_shards, split_by_shard

PERIOD = "2026-05"

DEFAULTS: dict[str, dict[str, Any]] = {
    "members": {
        "household_id": None,
        "joined_on": date(2026, 1, 1),
        "email_valid": False,
        "wrong_address": False,
        "atm_service_charge_code": None,
    },
    "accounts": {
        "suffix": "000",
        "account_type": "000",
        "file": "MEMBER1",
        "application_type": "SH",
        "dividend_application": None,
        "ira": False,
        "ira_plan": None,
        "loan_category": None,
        "balance": Decimal("0.00"),
        "delinquent_months": 0,
        "opened_on": date(2026, 1, 1),
        "closed_on": None,
    },
    "credit_scores": {"scored_on": date(2026, 1, 1)},
    "otb": {"balance": Decimal("0.00")},
    "activity": {
        "atm_transactions": 0,
        "debit_signature_count": 0,
        "debit_signature_amount": Decimal("0.00"),
        "debit_pin_count": 0,
        "debit_pin_amount": Decimal("0.00"),
        "audio_response_used": False,
        "online_banking_used": False,
        "estatements_enrolled": False,
        "bill_pay_enrolled": False,
        "enotices_enrolled": False,
        "text_banking_enrolled": False,
        "payroll_deposit_amount": Decimal("0.00"),
        "ach_deposit_amount": Decimal("0.00"),
        "aft_loan_payments": 0,
        "ach_loan_payments": 0,
    },
}


def table(name: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A typed table from partial rows (missing columns take the defaults above)."""
    full = [{**DEFAULTS[name], **row} for row in rows]
    columns = [c.name for c in SCHEMAS[name]]
    data = {c: [row.get(c) for row in full] for c in columns}
    return pl.DataFrame(data, schema=polars_schema(name))


def extract(**tables: list[dict[str, Any]]) -> Extract:
    """An extract from partial rows per table (absent tables are empty)."""
    return Extract.of({name: table(name, tables.get(name, [])) for name in TABLE_NAMES})


def program(items: dict[str, Any], **settings: Any) -> TierProgram:
    """A program with the usual levels (A 10-29, B 30-59, C 60+) and the given items."""
    raw: dict[str, Any] = {
        "name": "Test",
        "levels": {
            "basic": {"name": "Basic Service", "code": "BAS", "atm_service_charge_code": 10},
            "A": {
                "name": "Bronze",
                "code": "BRZ",
                "from": 10,
                "to": 29,
                "atm_service_charge_code": 11,
            },
            "B": {
                "name": "Silver",
                "code": "SLV",
                "from": 30,
                "to": 59,
                "atm_service_charge_code": 12,
            },
            "C": {
                "name": "Gold",
                "code": "GLD",
                "from": 60,
                "to": None,
                "atm_service_charge_code": 13,
            },
        },
        "items": items,
    }
    raw.update(settings)
    return TierProgram.model_validate(raw)


def both(
    prog: TierProgram,
    data: Extract,
    previous: pl.DataFrame | None = None,
    period: str = PERIOD,
) -> dict[str, Any]:
    """Score with engine and reference; assert they agree; results by member id."""
    frame = score_extract(prog, period, data, previous)
    got = to_results(prog, frame)
    want = reference.score_extract_reference(prog, period, data, previous)
    assert got == want
    return {r.member_id: r for r in got}


def shards(data: Extract, shard_count: int) -> list[Extract]:
    """The extract cut in memory exactly as a run cuts it into shard files."""
    assignment = assign_shards(data.members, shard_count)
    parts = {name: list(split_by_shard(frame, assignment, shard_count)) for name, frame in data}
    return [
        Extract.of({name: tables[index] for name, tables in parts.items()})
        for index in range(shard_count)
    ]
