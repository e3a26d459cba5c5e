"""The engine's first step: one row per member with every input the items need, as columns.

Open accounts are grouped per member in one pass; the latest credit score, the OTB flags, the
activity row and the previous level are joined on. Money is exact integer cents (the physical
value of ``decimal(14,2)``), never floats. Absent data is zero or false.

Columns of :func:`member_inputs` that :mod:`workers.tiers.scoring.engine` reads: ``member_id``,
``household_id``, ``joined_on``, ``email_valid``, ``wrong_address``,
``atm_service_charge_code``, :func:`account_column` per account-based item, ``credit_score``,
``otb_save``, ``otb_loan``, the activity columns (money ones as cents, ending ``_c``) and
``previous_level_code``.
"""

from __future__ import annotations

import polars as pl

from contracts.tiers.program import TierProgram
from workers.tiers.scoring.extract import MONEY, Extract

_SHIFT = 2**64  # |score| < 2**63, so day * 2**64 + score orders by day, then score
_SAVINGS_FILES = ("MEMBER1", "MEMBER2", "MEMBER3", "MEMBER4")
_LOAN_FILES = ("MEMBER5", "MEMBER6")

ACTIVITY_FLAGS = {
    "g4_audio_response": "audio_response_used",
    "g4_online_banking": "online_banking_used",
    "g4_estatements": "estatements_enrolled",
    "g4_bill_pay": "bill_pay_enrolled",
    "g4_enotices": "enotices_enrolled",
    "g4_text_banking": "text_banking_enrolled",
}
"""Items scored once when an activity flag is set: item id -> input column."""

DEPOSITS = {
    "g5_payroll_deposit": "payroll_deposit_amount_c",
    "g5_ach_deposit": "ach_deposit_amount_c",
}
"""Deposit items: item id -> input column (cents)."""

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


def account_column(item_id: str) -> str:
    """Input column holding the per-member account aggregate of ``item_id``."""
    return f"acc_{item_id}"


def _member_key(column: str = "member_id") -> pl.Expr:
    """A UInt64 key per member id (1-12 digits), unique even with leading zeros.

    Joining and grouping on integers is several times faster than on strings; the digit
    count is folded in so ``"007"`` and ``"7"`` stay different members.
    """
    ident = pl.col(column)
    return ident.cast(pl.UInt64) + ident.str.len_bytes().cast(pl.UInt64) * 10**12


def _cents(column: str) -> pl.Expr:
    """Exact integer cents of a ``decimal(14,2)`` column (its physical value)."""
    return pl.col(column).cast(MONEY).to_physical().cast(pl.Int64)


def _in(column: str, values: frozenset[str] | tuple[str, ...]) -> pl.Expr:
    """``column`` is one of ``values`` (false for null)."""
    return pl.col(column).is_in(sorted(values)).fill_null(False)


def _code(column: str) -> pl.Expr:
    """A small integer per distinct string (distinct counts on integers are much faster)."""
    return pl.col(column).cast(pl.Categorical).to_physical().alias(f"{column}_code")


def _distinct(condition: pl.Expr, value: pl.Expr) -> pl.Expr:
    """Aggregation: number of distinct non-null ``value`` among rows meeting ``condition``."""
    picked = pl.when(condition).then(value)
    return picked.n_unique() - (picked.null_count() > 0).cast(pl.UInt32)


def _account_aggregates(program: TierProgram) -> list[pl.Expr]:
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
    return [expr.alias(account_column(name)) for name, expr in aggs.items()]


def _latest_credit_scores(credit_scores: pl.DataFrame) -> pl.LazyFrame:
    """``mk, credit_score``: the latest scored_on; on a tie, the highest score of that day."""
    # The maximum of (day, score) packed into one Int128, which a plain max aggregation finds
    # fast (no sort, no second pass).
    day = pl.col("scored_on").cast(pl.Int32).cast(pl.Int128)
    packed = day * _SHIFT + pl.col("score").cast(pl.Int128)
    return (
        credit_scores.lazy()
        .select(_member_key().alias("mk"), packed.alias("packed"), day.alias("day"))
        .group_by("mk")
        .agg(pl.col("packed").max(), pl.col("day").max())
        .select(
            "mk",
            (pl.col("packed") - pl.col("day") * _SHIFT).cast(pl.Int64).alias("credit_score"),
        )
    )


def member_inputs(
    program: TierProgram, extract: Extract, previous: pl.DataFrame | None
) -> pl.LazyFrame:
    """Members (in ``members`` order) with every per-member input joined, nulls filled.

    Args:
        program: The program (only the inputs its configured items need are computed).
        extract: The typed tables.
        previous: ``member_id, level_code`` of the period before, or None (first scoring).

    Returns:
        The lazy query of the columns listed in the module docstring (plus the key ``mk``).
    """
    frame = extract.members.lazy().select(
        "member_id",
        _member_key().alias("mk"),
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
            _member_key().alias("mk"),
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
        add(accounts.group_by("mk").agg(aggs))
    if program.item("g1_credit_score"):
        add(_latest_credit_scores(extract.credit_scores))
    if program.item("g2_otb_savings") or program.item("g3_otb_loans"):
        otb = (
            extract.otb.lazy()
            .select(
                _member_key().alias("mk"),
                (pl.col("otb_type") == "SAVE").alias("save"),
                pl.col("otb_type").is_in(("LOAN", "CARD")).alias("loan"),
            )
            .group_by("mk")
            .agg(pl.col("save").any().alias("otb_save"), pl.col("loan").any().alias("otb_loan"))
        )
        add(otb)
    add(
        extract.activity.lazy().select(
            _member_key().alias("mk"),
            *(pl.col(c).cast(pl.Int64) for c in _ACTIVITY_INTS),
            *(_cents(c).alias(f"{c}_c") for c in _ACTIVITY_MONEY),
            *ACTIVITY_FLAGS.values(),
        )
    )
    fills = [pl.col(c).fill_null(0) for c in _ACTIVITY_INTS]
    fills += [pl.col(f"{c}_c").fill_null(0) for c in _ACTIVITY_MONEY]
    fills += [pl.col(c).fill_null(False) for c in ACTIVITY_FLAGS.values()]
    frame = frame.with_columns(fills)
    if previous is not None:
        add(
            previous.lazy().select(
                _member_key().alias("mk"),
                pl.col("level_code").cast(pl.String).alias("previous_level_code"),
            )
        )
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("previous_level_code"))
    return frame
