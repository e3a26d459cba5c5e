"""The five tables of a synthetic monthly extract, one builder per table (polars, no I/O).

What realistic data looks like lives here: households, the product catalogue and its weights,
balance, delinquency, credit-score and activity distributions. Randomness comes from
``workers.tiers.generator_random``; ``workers.tiers.generator`` assembles and writes the tables.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from workers.tiers.generator_random import int_below, uniform
from workers.tiers.scoring.extract import MONEY

_FIRST_MEMBER_ID = 100_001
_EPOCH = date(1970, 1, 1)


def _money(cents: pl.Expr) -> pl.Expr:
    """``decimal(14,2)`` from integer cents (exact)."""
    return (cents.cast(pl.Decimal(14, 0)) * pl.lit(Decimal("0.01"))).cast(MONEY)


def _days(day: date) -> int:
    return (day - _EPOCH).days


# The products an account can be: (file, account_type, application_type, dividend_application,
# ira, loan_category, balance profile, weight). Row 0 is the base share every member holds.
_PRODUCTS: list[tuple[str, str, str | None, str | None, bool, str | None, str, int]] = [
    ("MEMBER1", "000", "SH", "SV0", False, None, "base", 0),
    ("MEMBER1", "001", "SH", "SV1", False, None, "savings", 6),
    ("MEMBER1", "002", "SH", "SV2", False, None, "savings", 5),
    ("MEMBER1", "010", "SH", "MM1", False, None, "savings", 5),
    ("MEMBER1", "020", "IR", "IR1", True, None, "savings", 3),
    ("MEMBER1", "030", "SH", "CK3", False, None, "savings", 2),
    ("MEMBER2", "100", "SD", "CK1", False, None, "checking", 14),
    ("MEMBER2", "101", "SD", "CK2", False, None, "checking", 7),
    ("MEMBER2", "110", "SD", "MM2", False, None, "checking", 3),
    ("MEMBER3", "300", None, "CD6", False, None, "certificate", 6),
    ("MEMBER3", "301", None, "CD12", False, None, "certificate", 5),
    ("MEMBER3", "320", None, "IRC", True, None, "certificate", 2),
    ("MEMBER4", "400", "TX", "TX1", False, None, "savings", 3),
    ("MEMBER5", "500", None, None, False, "AUT", "loan", 10),
    ("MEMBER5", "501", None, None, False, "MTG", "mortgage", 3),
    ("MEMBER5", "502", None, None, False, "PER", "loan", 6),
    ("MEMBER5", "503", None, None, False, "HEL", "loan", 2),
    ("MEMBER6", "600", None, None, False, "CRD", "card", 8),
    ("MEMBER6", "601", None, None, False, "LOC", "card", 3),
]


def _products() -> pl.DataFrame:
    columns = list(zip(*_PRODUCTS, strict=True))
    return pl.DataFrame(
        {
            "product": list(range(len(_PRODUCTS))),
            "file": list(columns[0]),
            "account_type": list(columns[1]),
            "application_type": list(columns[2]),
            "dividend_application": list(columns[3]),
            "ira": list(columns[4]),
            "loan_category": list(columns[5]),
            "profile": list(columns[6]),
        },
        schema_overrides={"product": pl.Int64, "application_type": pl.String},
    )


def _product_buckets() -> pl.DataFrame:
    """1000 buckets -> product (by weight), so a product is drawn with one join."""
    weights = [p[7] for p in _PRODUCTS]
    total = sum(weights)
    buckets: list[int] = []
    for product, weight in enumerate(weights):
        buckets += [product] * round(1000 * weight / total)
    buckets = (buckets + [buckets[-1]] * 1000)[:1000]
    return pl.DataFrame({"bucket": list(range(1000)), "product": buckets})


def members_table(n: int, seed: int, last: date) -> pl.DataFrame:
    """``members``: ``n`` members in households, joined by ``last`` (the period's last day)."""
    # Households: groups of 1 (most) or 2-4 members; ~20% of members share a household.
    groups = pl.DataFrame({"g": pl.int_range(n, eager=True)}).with_columns(
        u=uniform(seed, 1, pl.col("g")), v=uniform(seed, 2, pl.col("g"))
    )
    groups = groups.with_columns(
        size=pl.when(pl.col("u") < 0.077).then(2 + int_below(pl.col("v"), 3)).otherwise(1)
    ).with_columns(start=pl.col("size").cum_sum() - pl.col("size"))
    groups = groups.filter(pl.col("start") < n)
    member_group = (
        groups.select(pl.col("g").repeat_by("size"), "size").explode("g").head(n)
    )  # members in order, each with its group
    idx = pl.int_range(n)
    last_days = _days(last)
    first_days = _days(date(1975, 1, 1))
    u = [uniform(seed, 10 + k, idx) for k in range(8)]
    frame = member_group.with_columns(i=idx).select(
        (pl.col("i") + _FIRST_MEMBER_ID).cast(pl.String).alias("member_id"),
        pl.when(pl.col("size") > 1)
        .then(pl.lit("H") + (pl.col("g") + 1).cast(pl.String).str.zfill(8))
        .otherwise(None)
        .alias("household_id"),
        (last_days - int_below(u[0] * u[0], last_days - first_days + 1))
        .cast(pl.Int32)
        .cast(pl.Date)
        .alias("joined_on"),
        (u[1] < 0.85).alias("email_valid"),
        (u[2] < 0.03).alias("wrong_address"),
        pl.when(u[3] < 0.01)
        .then(90 + int_below(u[4], 10))
        .when(u[3] < 0.30)
        .then(None)
        .otherwise(10 + int_below(u[4], 4))
        .cast(pl.Int64)
        .alias("atm_service_charge_code"),
    )
    return frame


def accounts_table(members: pl.DataFrame, seed: int, last: date) -> pl.DataFrame:
    """``accounts``: a base share per member plus weighted products, opened after joining."""
    n = members.height
    idx = pl.int_range(n)
    u, v = uniform(seed, 20, idx), uniform(seed, 21, idx)
    # Mostly 3-7 accounts (average about 5), a few with 1-2 or 8-10.
    count = (
        pl.when(u < 0.04)
        .then(1)
        .when(u < 0.08)
        .then(2)
        .when(u < 0.93)
        .then(3 + int_below(v, 5))
        .otherwise(8 + int_below(v, 3))
    )
    rows = (
        members.select("member_id", "joined_on", count.alias("k"))
        .with_columns(j=pl.int_ranges(0, pl.col("k")))
        .explode("j")
        .drop("k")
    )
    r = pl.int_range(pl.len())
    rows = rows.with_columns(
        bucket=int_below(uniform(seed, 22, r), 1000),
        ub=uniform(seed, 23, r),
        ub2=uniform(seed, 24, r),
        ud=uniform(seed, 25, r),
        uo=uniform(seed, 26, r),
        uc=uniform(seed, 27, r),
        up=uniform(seed, 28, r),
    )
    rows = rows.join(_product_buckets(), on="bucket", how="left", maintain_order="left")
    rows = rows.with_columns(
        product=pl.when(pl.col("j") == 0).then(0).otherwise(pl.col("product"))
    ).join(_products(), on="product", how="left", maintain_order="left")
    profile, ub, ub2 = pl.col("profile"), pl.col("ub"), pl.col("ub2")
    # Log-uniform balances in cents: many small, a few large.
    log_cents = (10 ** (ub * 4.5 + 3)).floor().cast(pl.Int64)  # $10 .. ~$316k
    cents = (
        pl.when(profile == "base")
        .then(500 + int_below(ub, 2_000))
        .when((profile == "checking") & (ub2 < 0.06))
        .then(-(1 + int_below(ub, 50_000)))
        .when((profile == "savings") & (ub2 < 0.01))
        .then(-(1 + int_below(ub, 10_000)))
        .when(profile == "mortgage")
        .then(log_cents * 10)
        .otherwise(log_cents)
    )
    loan = profile.is_in(("loan", "mortgage", "card"))
    delinquent = pl.when(loan & (pl.col("ud") < 0.04)).then(1 + int_below(ub2, 6)).otherwise(0)
    joined = pl.col("joined_on").cast(pl.Int32)
    opened = joined + int_below(pl.col("uo"), 1_000_000) % (_days(last) - joined + 1)
    closed = pl.when(pl.col("uc") < 0.03).then(
        opened + int_below(pl.col("up"), 1_000_000) % (_days(last) - opened + 1)
    )
    plans = (
        pl.when(pl.col("up") < 0.1)
        .then(None)
        .otherwise(
            pl.when(pl.col("up") < 0.6)
            .then(pl.lit("TRAD"))
            .when(pl.col("up") < 0.9)
            .then(pl.lit("ROTH"))
            .otherwise(pl.lit("SEP"))
        )
    )
    return rows.select(
        "member_id",
        pl.col("j").cast(pl.String).str.zfill(3).alias("suffix"),
        "account_type",
        "file",
        "application_type",
        "dividend_application",
        "ira",
        pl.when(pl.col("ira")).then(plans).otherwise(None).cast(pl.String).alias("ira_plan"),
        "loan_category",
        _money(cents).alias("balance"),
        delinquent.cast(pl.Int64).alias("delinquent_months"),
        opened.cast(pl.Int32).cast(pl.Date).alias("opened_on"),
        closed.cast(pl.Int32).cast(pl.Date).alias("closed_on"),
    )


def credit_scores_table(members: pl.DataFrame, seed: int, last: date) -> pl.DataFrame:
    """``credit_scores``: 0-3 scores per member, some on the same day."""
    idx = pl.int_range(members.height)
    u, v, w = uniform(seed, 30, idx), uniform(seed, 31, idx), uniform(seed, 32, idx)
    # ~15% without a score; the rest 1-3 scores, some on the same day (ties).
    count = (
        pl.when(u < 0.15)
        .then(0)
        .otherwise(1 + (v < 0.4).cast(pl.Int64) + (v < 0.15).cast(pl.Int64))
    )
    latest = _days(last) - int_below(w, 700)
    rows = (
        members.select("member_id", count.alias("k"), latest.alias("d0"))
        .filter(pl.col("k") > 0)
        .with_columns(j=pl.int_ranges(0, pl.col("k")))
        .explode("j")
    )
    r = pl.int_range(pl.len())
    tie = uniform(seed, 33, r) < 0.3
    day = (
        pl.when((pl.col("j") == 0) | tie)
        .then(pl.col("d0"))
        .otherwise(pl.col("d0") - 1 - int_below(uniform(seed, 34, r), 400))
    )
    return rows.select(
        "member_id",
        (300 + int_below(uniform(seed, 35, r), 551)).alias("score"),
        day.cast(pl.Int32).cast(pl.Date).alias("scored_on"),
    )


def otb_table(members: pl.DataFrame, seed: int) -> pl.DataFrame:
    """``otb``: off-the-books balances for a few members."""
    idx = pl.int_range(members.height)
    u, v = uniform(seed, 40, idx), uniform(seed, 41, idx)
    count = pl.when(u < 0.12).then(1 + (v < 0.3).cast(pl.Int64)).otherwise(0)
    rows = (
        members.select("member_id", count.alias("k"))
        .filter(pl.col("k") > 0)
        .with_columns(j=pl.int_ranges(0, pl.col("k")))
        .explode("j")
    )
    r = pl.int_range(pl.len())
    kinds = pl.Series(["SAVE", "LOAN", "CARD", "AUTO", "MISC"])
    kind = int_below(uniform(seed, 42, r), len(kinds))
    cents = (10 ** (uniform(seed, 43, r) * 4 + 3)).floor().cast(pl.Int64)
    return rows.select(
        "member_id",
        pl.lit(kinds).gather(kind).alias("otb_type"),
        _money(cents).alias("balance"),
    )


def activity_table(members: pl.DataFrame, seed: int) -> pl.DataFrame:
    """``activity``: one row of the month's channel use per active member."""
    idx = pl.int_range(members.height)
    # ~8% of members have no activity row at all.
    rows = members.select("member_id", uniform(seed, 50, idx).alias("u")).filter(
        pl.col("u") >= 0.08
    )
    r = pl.int_range(pl.len())

    def u(stream: int) -> pl.Expr:
        return uniform(seed, 100 + stream, r)

    def sometimes(p: float, stream: int, value: pl.Expr) -> pl.Expr:
        return pl.when(u(stream) < p).then(value).otherwise(0).cast(pl.Int64)

    sig_count = sometimes(0.70, 1, 1 + int_below(u(2) * u(2), 60))
    pin_count = sometimes(0.45, 3, 1 + int_below(u(4) * u(4), 25))
    return rows.select(
        "member_id",
        sometimes(0.55, 5, 1 + int_below(u(6), 20)).alias("atm_transactions"),
        sig_count.alias("debit_signature_count"),
        _money(sig_count * (500 + int_below(u(7), 7_500))).alias("debit_signature_amount"),
        pin_count.alias("debit_pin_count"),
        _money(pin_count * (500 + int_below(u(8), 7_500))).alias("debit_pin_amount"),
        (u(9) < 0.10).alias("audio_response_used"),
        (u(10) < 0.65).alias("online_banking_used"),
        (u(11) < 0.45).alias("estatements_enrolled"),
        (u(12) < 0.25).alias("bill_pay_enrolled"),
        (u(13) < 0.30).alias("enotices_enrolled"),
        (u(14) < 0.12).alias("text_banking_enrolled"),
        _money(sometimes(0.40, 15, 30_000 + int_below(u(16), 470_000))).alias(
            "payroll_deposit_amount"
        ),
        _money(sometimes(0.30, 17, 5_000 + int_below(u(18), 195_000))).alias("ach_deposit_amount"),
        sometimes(0.15, 19, 1 + int_below(u(20), 2)).alias("aft_loan_payments"),
        sometimes(0.20, 21, 1 + int_below(u(22), 2)).alias("ach_loan_payments"),
    )
