"""The columns of a scored member, and the shapes a result takes after the engine.

A member's result is :class:`~contracts.tiers.results.MemberTierResult`; its fields are the
one list of result columns, and everything here is derived from them:

- the engine's frame (:func:`result_columns`): the one-value fields, then one integer column
  per configured item, per goal and per goal's possible points;
- the stored row (:func:`stored_frame`): the one-value fields but ``period`` (the table's key),
  then the three breakdowns as JSON objects, ready for ``workers.tiers.runs.persist``;
- ``MemberTierResult`` models (:func:`to_results`): for small frames (tests, samples).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_origin

import polars as pl

from contracts.tiers.items import GOALS
from contracts.tiers.program import TierProgram
from contracts.tiers.results import MemberTierResult

BREAKDOWN_FIELDS: tuple[str, ...] = tuple(
    name
    for name, field in MemberTierResult.model_fields.items()
    if get_origin(field.annotation) is dict
)
"""``points_by_goal, points_by_item, possible_by_goal``: a number per goal or item each."""

VALUE_FIELDS: tuple[str, ...] = tuple(
    name for name in MemberTierResult.model_fields if name not in BREAKDOWN_FIELDS
)
"""``member_id, period, total, household_total, level_code, level_name, previous_level_code,
atm_service_charge_code``: one value per member, the same column in every shape."""

PERIOD_FIELD = "period"
"""Not a column of a stored row: the results table has it as part of its key."""


def item_column(item_id: str) -> str:
    """Engine column holding the points of ``item_id``."""
    return f"item_{item_id}"


def goal_column(goal: int) -> str:
    """Engine column holding the points of ``goal``."""
    return f"goal_{goal}"


def possible_column(goal: int) -> str:
    """Engine column holding the possible points of ``goal``."""
    return f"possible_{goal}"


@dataclass(frozen=True)
class _Breakdown:
    """One breakdown field: its key (goal or item id) -> engine column."""

    field: str
    columns: Mapping[int, str] | Mapping[str, str]
    sparse: bool = False
    """Zero entries may be left out of the stored JSON (readers add them back)."""


def _breakdowns(program: TierProgram) -> list[_Breakdown]:
    """The :data:`BREAKDOWN_FIELDS` with the engine columns of each (the program's items)."""
    items = program.configured_items()
    return [
        _Breakdown("points_by_goal", {g: goal_column(g) for g in GOALS}),
        _Breakdown("points_by_item", {i: item_column(i) for i in items}, sparse=True),
        _Breakdown("possible_by_goal", {g: possible_column(g) for g in GOALS}),
    ]


def result_columns(program: TierProgram) -> list[str]:
    """Columns of the engine's frame, in order (see the module docstring)."""
    items = program.configured_items()
    return [
        *VALUE_FIELDS,
        *(item_column(i) for i in items),
        *(goal_column(g) for g in GOALS),
        *(possible_column(g) for g in GOALS),
    ]


def to_results(program: TierProgram, frame: pl.DataFrame) -> list[MemberTierResult]:
    """Engine rows as :class:`MemberTierResult` (a Python object per row: small frames only)."""
    breakdowns = _breakdowns(program)
    return [
        MemberTierResult.model_validate(
            {
                **{name: row[name] for name in VALUE_FIELDS},
                **{b.field: {key: row[col] for key, col in b.columns.items()} for b in breakdowns},
            }
        )
        for row in frame.iter_rows(named=True)
    ]


def _json_object(
    columns: Sequence[str], name: str, *, keys: Sequence[str] | None = None, drop_zero: bool = False
) -> pl.Expr:
    """A JSON-object string column from integer columns, built vectorized (no row loop).

    Args:
        columns: Integer columns, one per key, in key order.
        name: Name of the resulting column.
        keys: JSON keys (default: the column names); plain identifiers, not escaped.
        drop_zero: Leave out keys whose value is 0 (keeps wide, mostly-zero rows small).

    Returns:
        An expression producing ``{"key": value, ...}`` per row (``{}`` when empty).
    """
    names = list(keys) if keys is not None else list(columns)
    parts = []
    for column, key in zip(columns, names, strict=True):
        value = pl.col(column).cast(pl.Int64)
        text = pl.lit(f'"{key}":') + value.cast(pl.String)
        parts.append(pl.when(value != 0).then(text) if drop_zero else text)
    if not parts:
        return pl.lit("{}").alias(name)
    body = pl.concat_str(parts, separator=",", ignore_nulls=True).fill_null("")
    return (pl.lit("{") + body + pl.lit("}")).alias(name)


def stored_frame(
    program: TierProgram, frame: pl.DataFrame, *, drop_zero_items: bool = False
) -> pl.DataFrame:
    """Engine rows shaped for storage: the breakdowns as JSON strings, no ``period``.

    Args:
        program: The program the frame was scored with (its configured items).
        frame: The engine's frame.
        drop_zero_items: Leave items with 0 points out of ``points_by_item`` (most members
            score in a handful of the thirty-odd items; a smaller row is a faster COPY).

    Returns:
        ``member_id, total, household_total, level_code, level_name, previous_level_code,
        atm_service_charge_code, points_by_goal, points_by_item, possible_by_goal`` with the
        three last as JSON objects (goal keys ``"1"``..``"6"``, item keys the item ids).
    """
    return frame.select(
        *(name for name in VALUE_FIELDS if name != PERIOD_FIELD),
        *(
            _json_object(
                list(b.columns.values()),
                b.field,
                keys=[str(key) for key in b.columns],
                drop_zero=drop_zero_items and b.sparse,
            )
            for b in _breakdowns(program)
        ),
    )
