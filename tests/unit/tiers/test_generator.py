"""The extract generator: deterministic, realistic, valid."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from workers.tiers.generator import generate_extract, generate_frames
from workers.tiers.scoring.engine import score_extract
from workers.tiers.scoring.extract import TABLE_NAMES, read_extract
from workers.tiers.scoring.program import load_default_program

pytestmark = pytest.mark.unit


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    a = generate_extract(tmp_path / "a", members=2_000, seed=3, period="2026-05")
    b = generate_extract(tmp_path / "b", members=2_000, seed=3, period="2026-05")
    c = generate_extract(tmp_path / "c", members=2_000, seed=4, period="2026-05")
    for name in TABLE_NAMES:
        assert (a / f"{name}.parquet").read_bytes() == (b / f"{name}.parquet").read_bytes()
    assert (a / "accounts.parquet").read_bytes() != (c / "accounts.parquet").read_bytes()


def test_csv_is_deterministic_too(tmp_path: Path) -> None:
    a = generate_extract(tmp_path / "a", members=500, seed=9, period="2026-05", file_format="csv")
    b = generate_extract(tmp_path / "b", members=500, seed=9, period="2026-05", file_format="csv")
    assert a == tmp_path / "a"
    for name in TABLE_NAMES:
        assert (a / f"{name}.csv").read_bytes() == (b / f"{name}.csv").read_bytes()


def test_generated_extract_passes_validation(tmp_path: Path) -> None:
    folder = generate_extract(tmp_path / "2026-05", members=3_000, seed=1, period="2026-05")
    assert read_extract(folder).members.height == 3_000


def test_shapes_are_realistic() -> None:
    data = generate_frames("2026-05", 20_000, 2)
    n = data.members.height
    per_member = data.accounts.group_by("member_id").len()["len"]
    assert per_member.min() >= 1 and 4.5 <= per_member.mean() <= 5.5  # type: ignore[operator]
    in_band = (per_member >= 3) & (per_member <= 7)
    assert in_band.sum() > 0.75 * n
    households = data.members.filter(pl.col("household_id").is_not_null())
    assert 0.15 <= households.height / n <= 0.25
    sizes = households.group_by("household_id").len()["len"]
    assert sizes.max() <= 4 and (sizes >= 2).mean() > 0.95  # type: ignore[operator]
    scored = data.credit_scores["member_id"].n_unique()
    assert 0.80 <= scored / n <= 0.90
    ties = data.credit_scores.group_by("member_id", "scored_on").len().filter(pl.col("len") > 1)
    assert ties.height > 0
    assert 0.85 <= data.activity.height / n < 1.0
    accounts = data.accounts
    assert accounts.filter((pl.col("file") == "MEMBER2") & (pl.col("balance") < 0)).height > 0
    assert accounts.filter(pl.col("delinquent_months") > 0).height > 0
    assert accounts.filter(pl.col("ira") & pl.col("ira_plan").is_not_null()).height > 0
    assert accounts.filter(pl.col("file") == "MEMBER3").height > 0
    assert accounts.filter(pl.col("closed_on").is_not_null()).height > 0
    assert data.otb.height > 0
    permanent = data.members.filter(pl.col("atm_service_charge_code").is_between(90, 99)).height
    assert 0 < permanent / n < 0.03


def test_default_program_spreads_members_over_levels() -> None:
    data = generate_frames("2026-05", 20_000, 2)
    frame = score_extract(load_default_program(), "2026-05", data)
    shares = frame["level_code"].value_counts(normalize=True)
    assert set(shares["level_code"]) == {"BAS", "BRZ", "SLV", "GLD"}
    assert shares["proportion"].max() < 0.6  # type: ignore[operator]
