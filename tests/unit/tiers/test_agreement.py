"""Property tests: for random valid programs and members, the engine and the reference agree
on every item, goal, total, household total, level and ATM code."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.tiers.items import ITEMS, ItemKind
from contracts.tiers.program import TierProgram
from tests.unit.tiers import reference
from tests.unit.tiers.frames import extract, shards
from workers.tiers.generator import generate_frames
from workers.tiers.runs.steps import PREVIOUS_FILE, write_shards
from workers.tiers.scoring.engine import score_extract
from workers.tiers.scoring.extract import TABLE_NAMES
from workers.tiers.scoring.results import to_results

pytestmark = pytest.mark.unit

CATEGORIES = ["AUT", "MTG", "HEL", "CRD", "PER"]
DIVIDENDS = ["CK1", "CK2", "MM1", "MM2", "SV0"]
TYPES = ["000", "001", "002", "100", "101", "300", "500"]
FILES = ["MEMBER1", "MEMBER2", "MEMBER3", "MEMBER4", "MEMBER5", "MEMBER6"]
APPS = [None, "SH", "SD", "TX", "IR"]
PERIODS = ["2024-02", "2025-12", "2026-05"]

points = st.integers(-10, 20)
cents = st.integers(-200_000, 2_000_000).map(lambda c: Decimal(c) / 100)
days = st.integers(0, 20_000).map(lambda d: date(1975, 1, 1) + timedelta(days=d))


@st.composite
def ranges(draw: st.DrawFn, low: int, high: int, money: bool) -> list[dict[str, Any]]:
    """1-5 ascending, non-overlapping ranges (the last possibly open)."""
    count = draw(st.integers(1, 5))
    scale = 100 if money else 1
    bounds = sorted(
        draw(
            st.sets(st.integers(low * scale, high * scale), min_size=2 * count, max_size=2 * count)
        )
    )
    out = []
    for n in range(count):
        start, end = bounds[2 * n], bounds[2 * n + 1]
        to: Decimal | int | None = Decimal(end) / scale if money else end
        out.append(
            {"from": Decimal(start) / scale if money else start, "to": to, "points": draw(points)}
        )
    if draw(st.booleans()):
        out[-1]["to"] = None
    return out


RANGE_DOMAINS = {
    "g1_credit_score": (250, 900, False),
    "g2_aggregate_balance": (-2_000, 30_000, True),
    "g3_aggregate_loan_balance": (-100, 30_000, True),
    "g4_debit_count": (0, 60, False),
    "g4_debit_amount": (0, 3_000, True),
}


@st.composite
def item_settings(draw: st.DrawFn, item_id: str) -> dict[str, Any]:
    spec = ITEMS[item_id]
    if spec.kind is ItemKind.RANGE:
        low, high, money = RANGE_DOMAINS[item_id]
        return {"ranges": draw(ranges(low, high, money))}
    if spec.kind is ItemKind.YEARS:
        return {"points_per_year": draw(points), "after_years": draw(st.integers(0, 30))}
    out: dict[str, Any] = {"points": draw(points)}
    if spec.kind is ItemKind.SELECT:
        vocab = CATEGORIES if "loan" in item_id else DIVIDENDS
        out["select"] = draw(st.lists(st.sampled_from(vocab), min_size=1, max_size=3, unique=True))
    if "exclude" in spec.optional and draw(st.booleans()):
        out["exclude"] = draw(st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True))
    if "min_months" in spec.optional and draw(st.booleans()):
        out["min_months"] = draw(st.integers(1, 4))
    if "min_amount" in spec.optional and draw(st.booleans()):
        out["min_amount"] = Decimal(draw(st.integers(0, 200_000))) / 100
    return out


@st.composite
def level_sets(draw: st.DrawFn) -> dict[str, Any]:
    a_from = draw(st.integers(-20, 40))
    a_to = a_from + draw(st.integers(0, 30))
    b_to = a_to + 1 + draw(st.integers(0, 30))
    c_to = draw(st.one_of(st.none(), st.integers(b_to + 1, b_to + 40)))

    def atm() -> int | None:
        return draw(st.one_of(st.none(), st.integers(1, 20)))

    return {
        "basic": {"name": "Basic", "code": "BAS", "atm_service_charge_code": atm()},
        "A": {
            "name": "A",
            "code": "AAA",
            "from": a_from,
            "to": a_to,
            "atm_service_charge_code": atm(),
        },
        "B": {
            "name": "B",
            "code": "BBB",
            "from": a_to + 1,
            "to": b_to,
            "atm_service_charge_code": atm(),
        },
        "C": {
            "name": "C",
            "code": "CCC",
            "from": b_to + 1,
            "to": c_to,
            "atm_service_charge_code": atm(),
        },
    }


@st.composite
def programs(draw: st.DrawFn) -> TierProgram:
    # Each item in or out with even odds: most programs use many items at once.
    chosen = [item_id for item_id in ITEMS if draw(st.booleans())]
    changes = []
    if draw(st.booleans()):
        changes.append({"effective": draw(st.sampled_from(PERIODS)), "levels": draw(level_sets())})
    return TierProgram.model_validate(
        {
            "name": "P",
            "household_scoring": draw(st.booleans()),
            "debit_include_pin": draw(st.booleans()),
            "levels": draw(level_sets()),
            "level_changes": changes,
            "items": {item_id: draw(item_settings(item_id)) for item_id in chosen},
        }
    )


@st.composite
def extracts(draw: st.DrawFn) -> tuple[Any, pl.DataFrame]:
    count = draw(st.integers(1, 6))
    ids = [str(100 + n) for n in range(count)]
    members, accounts, scores, otb, activity = [], [], [], [], []
    for member_id in ids:
        members.append(
            {
                "member_id": member_id,
                "household_id": draw(st.sampled_from([None, None, "H1", "H2"])),
                "joined_on": draw(days),
                "email_valid": draw(st.booleans()),
                "wrong_address": draw(st.booleans()),
                "atm_service_charge_code": draw(
                    st.sampled_from([None, 5, 11, 89, 90, 95, 99, 100])
                ),
            }
        )
        for n in range(draw(st.integers(0, 7))):
            file = draw(st.sampled_from(FILES))
            loan = file in ("MEMBER5", "MEMBER6")
            accounts.append(
                {
                    "member_id": member_id,
                    "suffix": f"{n:03d}",
                    "account_type": draw(st.sampled_from(TYPES)),
                    "file": file,
                    "application_type": None if loan else draw(st.sampled_from(APPS)),
                    "dividend_application": None
                    if loan
                    else draw(st.sampled_from([None, *DIVIDENDS])),
                    "ira": draw(st.booleans()),
                    "ira_plan": draw(st.sampled_from([None, "TRAD", "ROTH"])),
                    "loan_category": draw(st.sampled_from([None, *CATEGORIES])) if loan else None,
                    "balance": draw(cents),
                    "delinquent_months": draw(st.integers(0, 5)) if loan else 0,
                    "closed_on": draw(st.sampled_from([None, None, None, date(2025, 1, 1)])),
                }
            )
        for _ in range(draw(st.integers(0, 3))):
            scores.append(
                {
                    "member_id": member_id,
                    "score": draw(st.integers(250, 900)),
                    "scored_on": draw(
                        st.sampled_from([date(2025, 1, 1), date(2025, 6, 1), date(2026, 1, 1)])
                    ),
                }
            )
        for _ in range(draw(st.integers(0, 2))):
            otb.append(
                {
                    "member_id": member_id,
                    "otb_type": draw(st.sampled_from(["SAVE", "LOAN", "CARD", "AUTO"])),
                    "balance": draw(cents),
                }
            )
        if draw(st.booleans()):
            activity.append(
                {
                    "member_id": member_id,
                    "atm_transactions": draw(st.integers(0, 3)),
                    "debit_signature_count": draw(st.integers(0, 40)),
                    "debit_signature_amount": Decimal(draw(st.integers(0, 200_000))) / 100,
                    "debit_pin_count": draw(st.integers(0, 30)),
                    "debit_pin_amount": Decimal(draw(st.integers(0, 150_000))) / 100,
                    "audio_response_used": draw(st.booleans()),
                    "online_banking_used": draw(st.booleans()),
                    "estatements_enrolled": draw(st.booleans()),
                    "bill_pay_enrolled": draw(st.booleans()),
                    "enotices_enrolled": draw(st.booleans()),
                    "text_banking_enrolled": draw(st.booleans()),
                    "payroll_deposit_amount": Decimal(draw(st.integers(0, 300_000))) / 100,
                    "ach_deposit_amount": Decimal(draw(st.integers(0, 300_000))) / 100,
                    "aft_loan_payments": draw(st.integers(0, 2)),
                    "ach_loan_payments": draw(st.integers(0, 2)),
                }
            )
    previous_ids = draw(st.lists(st.sampled_from(ids), unique=True))
    previous = pl.DataFrame(
        {
            "member_id": previous_ids,
            "level_code": [
                draw(st.sampled_from(["AAA", "BBB", "CCC", "BAS"])) for _ in previous_ids
            ],
        },
        schema={"member_id": pl.String, "level_code": pl.String},
    )
    data = extract(
        members=members, accounts=accounts, credit_scores=scores, otb=otb, activity=activity
    )
    return data, previous


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prog=programs(), sample=extracts(), period=st.sampled_from(PERIODS))
def test_engine_agrees_with_reference(
    prog: TierProgram, sample: tuple[Any, pl.DataFrame], period: str
) -> None:
    data, previous = sample
    frame = score_extract(prog, period, data, previous)
    got = to_results(prog, frame)
    want = reference.score_extract_reference(prog, period, data, previous)
    assert [r.member_id for r in got] == [r.member_id for r in want]
    for mine, theirs in zip(got, want, strict=True):
        assert mine.points_by_item == theirs.points_by_item, mine.member_id
        assert mine.points_by_goal == theirs.points_by_goal
        assert mine.possible_by_goal == theirs.possible_by_goal
        assert (mine.total, mine.household_total) == (theirs.total, theirs.household_total)
        assert (mine.level_code, mine.level_name) == (theirs.level_code, theirs.level_name)
        assert mine.atm_service_charge_code == theirs.atm_service_charge_code
        assert mine == theirs


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prog=programs(), sample=extracts(), shard_count=st.integers(1, 4))
def test_household_aligned_shards_give_the_same_results(
    prog: TierProgram, sample: tuple[Any, pl.DataFrame], shard_count: int
) -> None:
    data, previous = sample
    whole = score_extract(prog, "2026-05", data, previous).sort("member_id")
    parts = [score_extract(prog, "2026-05", part, previous) for part in shards(data, shard_count)]
    assert pl.concat(parts).sort("member_id").equals(whole)


def test_split_shards_cover_every_row_once_and_keep_households_whole(tmp_path: Path) -> None:
    # The run's own shard files: every table and the previous levels, cut by write_shards.
    data = generate_frames("2026-05", 2_000, 8)
    previous = data.members.select("member_id", pl.lit("BRZ").alias("level_code")).head(1_500)
    written = write_shards(data.tables(), previous, tmp_path, 3)
    folders = [Path(shard.folder) for shard in written]
    assert [shard.index for shard in written] == [0, 1, 2]
    files = {name: f"{name}.parquet" for name in TABLE_NAMES} | {"previous": PREVIOUS_FILE}
    tables = data.tables() | {"previous": previous}
    for name, frame in tables.items():
        parts = [pl.read_parquet(folder / files[name]) for folder in folders]
        joined = pl.concat(parts)
        assert joined.sort(joined.columns).equals(frame.sort(frame.columns)), name
        # A shard holds the rows of its own members only.
        for part, folder in zip(parts, folders, strict=True):
            own = pl.read_parquet(folder / "members.parquet")["member_id"]
            assert part["member_id"].is_in(own.implode()).all(), (name, folder)
    members = [pl.read_parquet(folder / "members.parquet") for folder in folders]
    assert [shard.members for shard in written] == [m.height for m in members]
    homes = [set(m["household_id"].drop_nulls()) for m in members]
    assert not (homes[0] & homes[1]) and not (homes[0] & homes[2]) and not (homes[1] & homes[2])
    assert all(m.height > 0 for m in members)
    # The in-memory cut used by the property test above is the same cut.
    for index, shard in enumerate(shards(data, 3)):
        assert shard.members.equals(members[index])
