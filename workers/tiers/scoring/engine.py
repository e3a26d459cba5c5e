"""The production tier scorer: every rule of TIERS.md §3-4 as columnar polars expressions.

One pass groups the open accounts per member, small per-member aggregates come from the other
tables, and each configured item becomes one integer column. Money is handled as exact
integer cents (the physical value of ``decimal(14,2)``), never as floats.

``tests.unit.tiers.reference`` states the same rules one member at a time; the property tests
hold the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

import polars as pl

from contracts.tiers.program import (
    GOALS,
    ITEMS,
    BasicLevel,
    ItemKind,
    ItemSettings,
    MemberTierResult,
    Period,
    Range,
    TierProgram,
)
from workers.tiers.scoring.extract import MONEY, Extract

PERMANENT_ATM_CODES = range(90, 100)
"""ATM service-charge codes scoring never overwrites."""

_CENTS = 100
_SHIFT = 2**64  # |score| < 2**63, so day * 2**64 + score orders by day, then score
_SAVINGS_FILES = ("MEMBER1", "MEMBER2", "MEMBER3", "MEMBER4")
_LOAN_FILES = ("MEMBER5", "MEMBER6")


def item_column(item_id: str) -> str:
    """Engine column holding the points of ``item_id``."""
    return f"item_{item_id}"


def goal_column(goal: int) -> str:
    """Engine column holding the points of ``goal``."""
    return f"goal_{goal}"


def possible_column(goal: int) -> str:
    """Engine column holding the possible points of ``goal``."""
    return f"possible_{goal}"


def result_columns(program: TierProgram) -> list[str]:
    """Columns of :func:`score_extract`'s frame, in order."""
    return [
        "member_id",
        "period",
        "total",
        "household_total",
        "level_code",
        "level_name",
        "previous_level_code",
        "atm_service_charge_code",
        *(item_column(i) for i in program.configured_items()),
        *(goal_column(g) for g in GOALS),
        *(possible_column(g) for g in GOALS),
    ]


# ---------------------------------------------------------------------------------------------
# Expressions


def _cents(column: str) -> pl.Expr:
    """Exact integer cents of a ``decimal(14,2)`` column (its physical value)."""
    return pl.col(column).cast(MONEY).to_physical().cast(pl.Int64)


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


def _in(column: str, values: frozenset[str] | tuple[str, ...]) -> pl.Expr:
    """``column`` is one of ``values`` (false for null)."""
    return pl.col(column).is_in(sorted(values)).fill_null(False)


def member_key(column: str = "member_id") -> pl.Expr:
    """A UInt64 key per member id (1-12 digits), unique even with leading zeros.

    Joining and grouping on integers is several times faster than on strings; the digit
    count is folded in so ``"007"`` and ``"7"`` stay different members.
    """
    ident = pl.col(column)
    return ident.cast(pl.UInt64) + ident.str.len_bytes().cast(pl.UInt64) * 10**12


def _code(column: str) -> pl.Expr:
    """A small integer per distinct string (distinct counts on integers are much faster)."""
    return pl.col(column).cast(pl.Categorical).to_physical().alias(f"{column}_code")


def _distinct(condition: pl.Expr, value: pl.Expr) -> pl.Expr:
    """Aggregation: number of distinct non-null ``value`` among rows meeting ``condition``."""
    picked = pl.when(condition).then(value)
    return picked.n_unique() - (picked.null_count() > 0).cast(pl.UInt32)


def _account_aggregates(program: TierProgram) -> dict[str, pl.Expr]:
    """Per-member aggregates over open accounts, only those the configured items need.

    Closed accounts are masked inside every condition rather than filtered out first:
    filtering copies every column of millions of rows, a mask costs one boolean each.
    """
    open_ = pl.col("closed_on").is_null()
    file, app = pl.col("file"), pl.col("application_type")
    loans = open_ & file.is_in(_LOAN_FILES)
    account_type = pl.col("account_type_code")
    aggs: dict[str, pl.Expr] = {}
    item = program.item

    if s := item("g1_dividend_applications"):
        files = file.is_in(("MEMBER1", "MEMBER2", "MEMBER4"))
        cond = open_ & files & _in("dividend_application", s.select_set)
        aggs["g1_dividend_applications"] = _distinct(cond, pl.col("dividend_application_code"))
    if s := item("g1_loan_categories"):
        cond = loans & _in("loan_category", s.select_set)
        aggs["g1_loan_categories"] = _distinct(cond, pl.col("loan_category_code"))
    if item("g2_additional_savings"):
        # A null application type is not IR.
        cond = open_ & (file == "MEMBER1") & (pl.col("account_type") != "000")
        cond = cond & (app.fill_null("") != "IR")
        aggs["g2_additional_savings"] = _distinct(cond, account_type)
    if item("g2_certificates"):
        aggs["g2_certificates"] = (open_ & (file == "MEMBER3") & ~pl.col("ira")).any()
    if item("g2_ira_plans"):
        ira = open_ & file.is_in(("MEMBER1", "MEMBER3")) & pl.col("ira")
        plan = pl.col("ira_plan")
        # Each IRA account without a plan is a plan of its own.
        aggs["g2_ira_plans"] = _distinct(ira & plan.is_not_null(), pl.col("ira_plan_code")) + (
            ira & plan.is_null()
        ).sum().cast(pl.UInt32)
    if s := item("g2_money_market"):
        cond = open_ & file.is_in(("MEMBER1", "MEMBER2"))
        cond = cond & _in("dividend_application", s.select_set)
        aggs["g2_money_market"] = _distinct(cond, account_type)
    if item("g2_negative_checking"):
        cond = open_ & (file == "MEMBER2") & (app == "SD").fill_null(False)
        aggs["g2_negative_checking"] = _distinct(cond & (pl.col("cents") < 0), account_type)
    if item("g2_negative_savings"):
        cond = open_ & file.is_in(("MEMBER1", "MEMBER4"))
        cond = cond & _in("application_type", ("SH", "TX", "IR")) & (pl.col("cents") < 0)
        aggs["g2_negative_savings"] = _distinct(cond, account_type)
    if item("g2_aggregate_balance"):
        saving = open_ & file.is_in(_SAVINGS_FILES)
        aggs["g2_aggregate_balance"] = pl.when(saving).then(pl.col("cents")).otherwise(0).sum()
    g3_select = s.select_set if (s := item("g3_loan_categories")) else frozenset()
    if item("g3_loan_categories"):
        aggs["g3_loan_categories"] = (loans & _in("loan_category", g3_select)).sum()
    if s := item("g3_other_loans"):
        other = loans & ~_in("loan_category", g3_select | s.exclude_set)
        aggs["g3_other_loans"] = other.sum()
    if item("g3_aggregate_loan_balance"):
        aggs["g3_aggregate_loan_balance"] = pl.when(loans).then(pl.col("cents")).otherwise(0).sum()
    if s := item("g3_delinquent_loans"):
        cond = loans & (pl.col("delinquent_months") >= s.min_months_or_default)
        aggs["g3_delinquent_loans"] = cond.sum()
    return {name: expr.alias(f"acc_{name}") for name, expr in aggs.items()}


def _full_years(joined_on: pl.Expr, last_day: date) -> pl.Expr:
    """Whole years from ``joined_on`` to ``last_day`` (negative when joined later)."""
    years = pl.lit(last_day.year, pl.Int64) - joined_on.dt.year().cast(pl.Int64)
    anniversary_later = (
        joined_on.dt.month().cast(pl.Int64) * 100 + joined_on.dt.day().cast(pl.Int64)
    ) > (last_day.month * 100 + last_day.day)
    return years - anniversary_later.cast(pl.Int64)


def _item_points(program: TierProgram, period: Period) -> dict[str, pl.Expr]:
    """One integer expression per configured item, over the joined per-member frame."""
    points: dict[str, pl.Expr] = {}
    include_pin = program.debit_include_pin
    for item_id in program.configured_items():
        s = program.items[item_id]
        spec = ITEMS[item_id]
        acc = pl.col(f"acc_{item_id}")
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
        elif item_id in _ACTIVITY_FLAGS:
            expr = _once(pl.col(_ACTIVITY_FLAGS[item_id]), s)
        elif item_id == "g4_valid_email":
            expr = _once(pl.col("email_valid"), s)
        elif item_id == "other_wrong_address":
            expr = _once(pl.col("wrong_address"), s)
        elif item_id in ("g5_payroll_deposit", "g5_ach_deposit"):
            column = pl.col(_DEPOSITS[item_id])
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


_ACTIVITY_FLAGS = {
    "g4_audio_response": "audio_response_used",
    "g4_online_banking": "online_banking_used",
    "g4_estatements": "estatements_enrolled",
    "g4_bill_pay": "bill_pay_enrolled",
    "g4_enotices": "enotices_enrolled",
    "g4_text_banking": "text_banking_enrolled",
}
_DEPOSITS = {
    "g5_payroll_deposit": "payroll_deposit_amount_c",
    "g5_ach_deposit": "ach_deposit_amount_c",
}
_ACTIVITY_INTS = (
    "atm_transactions",
    "debit_signature_count",
    "debit_pin_count",
    "aft_loan_payments",
    "ach_loan_payments",
)
_ACTIVITY_MONEY = (
    "debit_signature_amount",
    "debit_pin_amount",
    "payroll_deposit_amount",
    "ach_deposit_amount",
)


def _level_expr(levels: list[tuple[int | None, BasicLevel]], value: pl.Expr, field: str) -> pl.Expr:
    """``field`` of the level containing ``value``; ``levels`` highest first, basic last."""
    expr: Any = pl
    for lower, level in levels[:-1]:
        expr = expr.when(value >= lower).then(pl.lit(getattr(level, field)))
    return cast(pl.Expr, expr.otherwise(pl.lit(getattr(levels[-1][1], field))))


# ---------------------------------------------------------------------------------------------
# Scoring


def _as_extract(extract: Extract | Mapping[str, pl.DataFrame]) -> Extract:
    return Extract.of(extract)


def _members_frame(
    program: TierProgram, period: Period, extract: Extract, previous: pl.DataFrame | None
) -> pl.LazyFrame:
    """Members with every per-member input joined (nulls filled: no data = zero / false)."""
    frame = extract.members.lazy().select(
        "member_id",
        member_key().alias("mk"),
        "household_id",
        "joined_on",
        "email_valid",
        "wrong_address",
        pl.col("atm_service_charge_code").cast(pl.Int64),
    )

    def add(table: pl.LazyFrame) -> None:
        nonlocal frame
        frame = frame.join(table, on="mk", how="left", maintain_order="left")

    aggs = _account_aggregates(program)
    if aggs:
        accounts = extract.accounts.lazy().select(
            member_key().alias("mk"),
            "file",
            "account_type",
            _code("account_type"),
            "application_type",
            "dividend_application",
            _code("dividend_application"),
            "ira",
            "ira_plan",
            _code("ira_plan"),
            "loan_category",
            _code("loan_category"),
            _cents("balance").alias("cents"),
            "delinquent_months",
            "closed_on",
        )
        add(accounts.group_by("mk").agg(list(aggs.values())))
    if program.item("g1_credit_score"):
        # The latest scored_on; on a tie, the highest score of that day: the maximum of
        # (day, score) packed into one Int128, which a plain max aggregation finds fast.
        day = pl.col("scored_on").cast(pl.Int32).cast(pl.Int128)
        packed = day * _SHIFT + pl.col("score").cast(pl.Int128)
        latest = (
            extract.credit_scores.lazy()
            .select(member_key().alias("mk"), packed.alias("packed"), day.alias("day"))
            .group_by("mk")
            .agg(pl.col("packed").max(), pl.col("day").max())
            .select(
                "mk",
                (pl.col("packed") - pl.col("day") * _SHIFT).cast(pl.Int64).alias("credit_score"),
            )
        )
        add(latest)
    if program.item("g2_otb_savings") or program.item("g3_otb_loans"):
        otb = (
            extract.otb.lazy()
            .select(
                member_key().alias("mk"),
                (pl.col("otb_type") == "SAVE").alias("save"),
                pl.col("otb_type").is_in(("LOAN", "CARD")).alias("loan"),
            )
            .group_by("mk")
            .agg(pl.col("save").any().alias("otb_save"), pl.col("loan").any().alias("otb_loan"))
        )
        add(otb)
    add(
        extract.activity.lazy().select(
            member_key().alias("mk"),
            *(pl.col(c).cast(pl.Int64) for c in _ACTIVITY_INTS),
            *(_cents(c).alias(f"{c}_c") for c in _ACTIVITY_MONEY),
            *_ACTIVITY_FLAGS.values(),
        )
    )
    fills = [pl.col(c).fill_null(0) for c in _ACTIVITY_INTS]
    fills += [pl.col(f"{c}_c").fill_null(0) for c in _ACTIVITY_MONEY]
    fills += [pl.col(c).fill_null(False) for c in _ACTIVITY_FLAGS.values()]
    frame = frame.with_columns(fills)
    if previous is not None:
        add(
            previous.lazy().select(
                member_key().alias("mk"),
                pl.col("level_code").cast(pl.String).alias("previous_level_code"),
            )
        )
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("previous_level_code"))
    return frame


def score_extract_lazy(
    program: TierProgram,
    period: str,
    extract: Extract | Mapping[str, pl.DataFrame],
    previous_levels: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """The query of :func:`score_extract`, not yet run (to stream or sink it)."""
    month = Period(period)
    data = _as_extract(extract)
    frame = _members_frame(program, month, data, previous_levels)
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
    if program.household_scoring:
        # A member without a household is a household of one; the prefix keeps a member id
        # from ever equalling a household id.
        key = pl.coalesce(pl.lit("h:") + pl.col("household_id"), pl.lit("m:") + pl.col("member_id"))
        household = pl.col("total").sum().over(key).cast(pl.Int64)
    else:
        household = pl.lit(None, pl.Int64)
    frame = frame.with_columns(household.alias("household_total"))
    deciding = pl.col("household_total") if program.household_scoring else pl.col("total")
    levels = program.levels_for(month)
    ladder: list[tuple[int | None, BasicLevel]] = [
        (levels.C.from_, levels.C),
        (levels.B.from_, levels.B),
        (levels.A.from_, levels.A),
        (None, levels.basic),
    ]
    current = pl.col("atm_service_charge_code")
    permanent = current.is_between(PERMANENT_ATM_CODES.start, PERMANENT_ATM_CODES.stop - 1)
    level_atm = _level_expr(ladder, deciding, "atm_service_charge_code").cast(pl.Int64)
    possible = program.possible_by_goal()
    frame = frame.with_columns(
        pl.lit(str(month)).alias("period"),
        _level_expr(ladder, deciding, "code").cast(pl.String).alias("level_code"),
        _level_expr(ladder, deciding, "name").cast(pl.String).alias("level_name"),
        pl.when(permanent.fill_null(False))
        .then(current)
        .otherwise(level_atm)
        .alias("atm_service_charge_code"),
        *(pl.lit(possible[g], pl.Int64).alias(possible_column(g)) for g in GOALS),
    )
    return frame.select(result_columns(program))


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
        One row per member in ``members`` order, columns :func:`result_columns`: ``member_id,
        period, total, household_total, level_code, level_name, previous_level_code,
        atm_service_charge_code``, ``item_<id>`` per configured item, ``goal_1..6``,
        ``possible_1..6``.
    """
    return score_extract_lazy(program, period, extract, previous_levels).collect()


# ---------------------------------------------------------------------------------------------
# Shards


def mix64(x: pl.Expr) -> pl.Expr:
    """splitmix64 finaliser on UInt64 (wrapping arithmetic): a stable, well-spread hash."""
    x = x.cast(pl.UInt64)
    x = (x ^ (x // (1 << 30))) * pl.lit(0xBF58476D1CE4E5B9, pl.UInt64)
    x = (x ^ (x // (1 << 27))) * pl.lit(0x94D049BB133111EB, pl.UInt64)
    return x ^ (x // (1 << 31))


def shard_keys(members: pl.DataFrame, shard_count: int) -> pl.DataFrame:
    """``member_id, shard`` for every member; a household always lands in one shard.

    The shard depends only on the household's smallest member id (digits, read as a number,
    so it is the same on every machine and library version).
    """
    if shard_count < 1:
        raise ValueError("shard_count must be >= 1")
    number = pl.col("member_id").cast(pl.UInt64)
    anchor = (
        pl.when(pl.col("household_id").is_null())
        .then(number)
        .otherwise(number.min().over("household_id"))
    )
    return members.select("member_id", (mix64(anchor) % shard_count).cast(pl.Int32).alias("shard"))


def shard_members(
    extract: Extract | Mapping[str, pl.DataFrame], shard_index: int, shard_count: int
) -> Extract:
    """The part of the extract belonging to one household-aligned shard.

    Args:
        extract: The whole extract.
        shard_index: 0 .. ``shard_count`` - 1.
        shard_count: Number of shards.

    Returns:
        The same five tables restricted to the shard's members (whole households).
    """
    if not 0 <= shard_index < shard_count:
        raise ValueError(f"shard_index must be in 0..{shard_count - 1}")
    return split_shards(extract, shard_count)[shard_index]


def split_shards(extract: Extract | Mapping[str, pl.DataFrame], shard_count: int) -> list[Extract]:
    """Every household-aligned shard of the extract, each table cut once.

    Args:
        extract: The whole extract.
        shard_count: Number of shards.

    Returns:
        ``shard_count`` extracts (possibly empty), shard ``i`` at index ``i``; rows of other
        tables whose member is not in ``members`` belong to no shard.
    """
    data = _as_extract(extract)
    keys = shard_keys(data.members, shard_count).select(member_key().alias("mk"), pl.col("shard"))
    parts: dict[str, dict[int, pl.DataFrame]] = {}
    for name, frame in data:
        # Join on the integer key (fast), then split the table by shard in one pass.
        tagged = frame.with_columns(member_key().alias("mk")).join(
            keys, on="mk", how="inner", maintain_order="left"
        )
        parts[name] = {
            int(key[0]): part.drop("mk", "shard")
            for key, part in tagged.partition_by("shard", as_dict=True).items()
        }
    return [
        Extract.of({name: parts[name].get(i, frame.clear()) for name, frame in data})
        for i in range(shard_count)
    ]


# ---------------------------------------------------------------------------------------------
# Results


def to_results(program: TierProgram, frame: pl.DataFrame) -> list[MemberTierResult]:
    """Engine rows as :class:`MemberTierResult` (for small frames: tests, API, samples)."""
    items = program.configured_items()
    results = []
    for row in frame.iter_rows(named=True):
        results.append(
            MemberTierResult(
                member_id=row["member_id"],
                period=Period(row["period"]),
                total=row["total"],
                household_total=row["household_total"],
                level_code=row["level_code"],
                level_name=row["level_name"],
                previous_level_code=row["previous_level_code"],
                atm_service_charge_code=row["atm_service_charge_code"],
                points_by_goal={g: row[goal_column(g)] for g in GOALS},
                points_by_item={i: row[item_column(i)] for i in items},
                possible_by_goal={g: row[possible_column(g)] for g in GOALS},
            )
        )
    return results


def json_object(
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
    """Engine rows shaped for storage: the per-goal and per-item points as JSON strings.

    Returns:
        ``member_id, total, household_total, level_code, level_name, previous_level_code,
        atm_service_charge_code, points_by_goal, points_by_item, possible_by_goal`` with the
        three last as JSON objects (goal keys ``"1"``..``"6"``, item keys the item ids).
    """
    items = program.configured_items()
    goals = list(GOALS)
    return frame.select(
        "member_id",
        "total",
        "household_total",
        "level_code",
        "level_name",
        "previous_level_code",
        "atm_service_charge_code",
        json_object(
            [goal_column(g) for g in goals], "points_by_goal", keys=[str(g) for g in goals]
        ),
        json_object(
            [item_column(i) for i in items], "points_by_item", keys=items, drop_zero=drop_zero_items
        ),
        json_object(
            [possible_column(g) for g in goals], "possible_by_goal", keys=[str(g) for g in goals]
        ),
    )
