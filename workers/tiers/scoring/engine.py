"""The production tier scorer: every item, goal, level and ATM rule as columnar polars.

The rules are those of docs/tier-program.md. :func:`workers.tiers.scoring.inputs.member_inputs`
gives one row per member with every input as a column; here each configured item becomes one
integer column, then goals, totals, household totals, levels and ATM codes follow, all in one
lazy query (no Python loop per member). Money is exact integer cents, never floats.

``tests.unit.tiers.reference`` states the same rules one member at a time; the property tests
hold the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, cast

import polars as pl

from contracts.tiers.items import GOALS, ITEMS, ItemKind
from contracts.tiers.period import Period
from contracts.tiers.program import BasicLevel, ItemSettings, Range, TierProgram
from workers.tiers.scoring.extract import Extract
from workers.tiers.scoring.inputs import ACTIVITY_FLAGS, DEPOSITS, account_column, member_inputs
from workers.tiers.scoring.results import (
    goal_column,
    item_column,
    possible_column,
    result_columns,
)

PERMANENT_ATM_CODES = range(90, 100)
"""ATM service-charge codes scoring never overwrites."""

_CENTS = 100


def _to_cents(value: Decimal) -> int:
    return int(value * _CENTS)


def _range_points(value_cents: pl.Expr, ranges: list[Range]) -> pl.Expr:
    """Points of the range containing the value (bounds inclusive), 0 when none or null."""
    expr: Any = pl
    for r in ranges:
        inside = value_cents >= _to_cents(r.from_)
        if r.to is not None:
            inside = inside & (value_cents <= _to_cents(r.to))
        expr = expr.when(inside).then(pl.lit(r.points, pl.Int64))
    return (expr.otherwise(pl.lit(0, pl.Int64)) if ranges else pl.lit(0, pl.Int64)).cast(pl.Int64)


def _once(condition: pl.Expr, settings: ItemSettings) -> pl.Expr:
    return pl.when(condition.fill_null(False)).then(settings.p).otherwise(0).cast(pl.Int64)


def _full_years(joined_on: pl.Expr, last_day: date) -> pl.Expr:
    """Whole years from ``joined_on`` to ``last_day`` (negative when joined later)."""
    years = pl.lit(last_day.year, pl.Int64) - joined_on.dt.year().cast(pl.Int64)
    anniversary_later = (
        joined_on.dt.month().cast(pl.Int64) * 100 + joined_on.dt.day().cast(pl.Int64)
    ) > (last_day.month * 100 + last_day.day)
    return years - anniversary_later.cast(pl.Int64)


def _item_points(program: TierProgram, period: Period) -> dict[str, pl.Expr]:
    """One integer expression per configured item, over the member inputs."""
    points: dict[str, pl.Expr] = {}
    include_pin = program.debit_include_pin
    for item_id in program.configured_items():
        s = program.items[item_id]
        spec = ITEMS[item_id]
        acc = pl.col(account_column(item_id))
        expr: pl.Expr
        if item_id == "g1_membership_years":
            years = _full_years(pl.col("joined_on"), period.last_day())
            past = pl.max_horizontal(years - s.after_years_or_default, pl.lit(0, pl.Int64))
            expr = past * (s.points_per_year or 0)
        elif item_id == "g1_credit_score":
            assert s.ranges is not None
            expr = _range_points(pl.col("credit_score").cast(pl.Int64) * _CENTS, s.ranges)
        elif item_id in ("g2_aggregate_balance", "g3_aggregate_loan_balance"):
            assert s.ranges is not None
            expr = _range_points(acc.fill_null(0), s.ranges)
        elif item_id == "g2_certificates":
            expr = _once(acc, s)
        elif item_id == "g2_otb_savings":
            expr = _once(pl.col("otb_save"), s)
        elif item_id == "g3_otb_loans":
            expr = _once(pl.col("otb_loan"), s)
        elif item_id == "g4_atm_active":
            expr = _once(pl.col("atm_transactions") > 0, s)
        elif item_id == "g4_debit_count":
            assert s.ranges is not None
            count = pl.col("debit_signature_count")
            if include_pin:
                count = count + pl.col("debit_pin_count")
            expr = _range_points(count * _CENTS, s.ranges)
        elif item_id == "g4_debit_amount":
            assert s.ranges is not None
            amount = pl.col("debit_signature_amount_c")
            if include_pin:
                amount = amount + pl.col("debit_pin_amount_c")
            expr = _range_points(amount, s.ranges)
        elif item_id in ACTIVITY_FLAGS:
            expr = _once(pl.col(ACTIVITY_FLAGS[item_id]), s)
        elif item_id == "g4_valid_email":
            expr = _once(pl.col("email_valid"), s)
        elif item_id == "other_wrong_address":
            expr = _once(pl.col("wrong_address"), s)
        elif item_id in DEPOSITS:
            column = pl.col(DEPOSITS[item_id])
            minimum = _to_cents(s.min_amount_or_default)
            expr = _once((column >= minimum) & (column > 0), s)
        elif item_id == "g5_aft_loan_payment":
            expr = _once(pl.col("aft_loan_payments") > 0, s)
        elif item_id == "g5_ach_loan_payment":
            expr = _once(pl.col("ach_loan_payments") > 0, s)
        else:
            # Counted over accounts: P times a count (distinct values, accounts or plans).
            assert spec.kind in (ItemKind.SELECT, ItemKind.COUNT), item_id
            expr = acc.fill_null(0).cast(pl.Int64) * s.p
        points[item_id] = expr.cast(pl.Int64).alias(item_column(item_id))
    return points


def _level_expr(levels: list[tuple[int | None, BasicLevel]], value: pl.Expr, field: str) -> pl.Expr:
    """``field`` of the level containing ``value``; ``levels`` highest first, basic last."""
    expr: Any = pl
    for lower, level in levels[:-1]:
        expr = expr.when(value >= lower).then(pl.lit(getattr(level, field)))
    return cast(pl.Expr, expr.otherwise(pl.lit(getattr(levels[-1][1], field))))


def _household_total(program: TierProgram) -> pl.Expr:
    """The member's household's summed totals (null when household scoring is off)."""
    if not program.household_scoring:
        return pl.lit(None, pl.Int64)
    # A member without a household is a household of one; the prefix keeps a member id from
    # ever equalling a household id.
    key = pl.coalesce(pl.lit("h:") + pl.col("household_id"), pl.lit("m:") + pl.col("member_id"))
    return pl.col("total").sum().over(key).cast(pl.Int64)


def _levels_and_atm(program: TierProgram, period: Period) -> list[pl.Expr]:
    """``level_code``, ``level_name`` and the new ``atm_service_charge_code`` per member."""
    deciding = pl.col("household_total") if program.household_scoring else pl.col("total")
    levels = program.levels_for(period)
    ladder: list[tuple[int | None, BasicLevel]] = [
        (levels.C.from_, levels.C),
        (levels.B.from_, levels.B),
        (levels.A.from_, levels.A),
        (None, levels.basic),
    ]
    current = pl.col("atm_service_charge_code")
    permanent = current.is_between(PERMANENT_ATM_CODES.start, PERMANENT_ATM_CODES.stop - 1)
    level_atm = _level_expr(ladder, deciding, "atm_service_charge_code").cast(pl.Int64)
    return [
        _level_expr(ladder, deciding, "code").cast(pl.String).alias("level_code"),
        _level_expr(ladder, deciding, "name").cast(pl.String).alias("level_name"),
        pl.when(permanent.fill_null(False))
        .then(current)
        .otherwise(level_atm)
        .alias("atm_service_charge_code"),
    ]


def score_extract(
    program: TierProgram,
    period: str,
    extract: Extract | Mapping[str, pl.DataFrame],
    previous_levels: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Score every member of an extract (or of a household-aligned shard of one).

    Args:
        program: The validated program.
        period: The scored month ``YYYY-MM`` (its levels are those in force for it).
        extract: The typed tables (:class:`Extract` or a mapping of table name to frame).
        previous_levels: ``member_id, level_code`` of the period before (None: first scoring).

    Returns:
        One row per member in ``members`` order, columns
        :func:`~workers.tiers.scoring.results.result_columns`: ``member_id, period, total,
        household_total, level_code, level_name, previous_level_code,
        atm_service_charge_code``, ``item_<id>`` per configured item, ``goal_1..6``,
        ``possible_1..6``.
    """
    month = Period(period)
    frame = member_inputs(program, Extract.of(extract), previous_levels)
    points = _item_points(program, month)
    frame = frame.with_columns(list(points.values()))
    item_cols = [item_column(i) for i in points]
    total = pl.sum_horizontal(item_cols) if item_cols else pl.lit(0, pl.Int64)
    goals = []
    for goal in GOALS:
        cols = [item_column(i) for i in points if ITEMS[i].goal == goal]
        expr = pl.sum_horizontal(cols) if cols else pl.lit(0, pl.Int64)
        goals.append(expr.cast(pl.Int64).alias(goal_column(goal)))
    frame = frame.with_columns(total.cast(pl.Int64).alias("total"), *goals)
    frame = frame.with_columns(_household_total(program).alias("household_total"))
    possible = program.possible_by_goal()
    frame = frame.with_columns(
        pl.lit(str(month)).alias("period"),
        *_levels_and_atm(program, month),
        *(pl.lit(possible[g], pl.Int64).alias(possible_column(g)) for g in GOALS),
    )
    return frame.select(result_columns(program)).collect()
