"""The program file: every format rule refused with a message naming item or level."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.tiers.events import TierLevelChanged
from contracts.tiers.items import ITEMS
from contracts.tiers.period import Period
from contracts.tiers.runs import previous_period
from workers.tiers.scoring.program import (
    DEFAULT_PROGRAM_PATH,
    ProgramError,
    load_default_program,
    load_program,
    parse_program,
)

pytestmark = pytest.mark.unit

BASE: dict[str, Any] = {
    "name": "Test",
    "levels": {
        "basic": {"name": "Basic Service", "code": "BAS", "atm_service_charge_code": 10},
        "A": {"name": "Bronze", "code": "BRZ", "from": 10, "to": 29},
        "B": {"name": "Silver", "code": "SLV", "from": 30, "to": 59},
        "C": {"name": "Gold", "code": "GLD", "from": 60, "to": None},
    },
    "items": {"g4_online_banking": {"points": 3}},
}


def with_(path: str, value: Any) -> str:
    """YAML of BASE with ``path`` (dotted) set to ``value``."""
    raw = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return yaml.safe_dump(raw)


def refused(text: str) -> str:
    with pytest.raises(ProgramError) as caught:
        parse_program(text, source="prog.yaml")
    return str(caught.value)


def test_default_program_loads_and_uses_every_item() -> None:
    program = load_default_program()
    assert set(program.items) == set(ITEMS)
    assert len(ITEMS) == 32
    assert any(s.occurrence_max() < 0 for s in program.items.values())  # some take points away
    assert load_program(DEFAULT_PROGRAM_PATH) == program


def test_valid_minimal_program() -> None:
    program = parse_program(yaml.safe_dump(BASE))
    assert program.levels.C.to is None
    assert program.possible_by_goal() == {1: 0, 2: 0, 3: 0, 4: 3, 5: 0, 6: 0}


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("levels.A.from", 10.5, "level A: from"),
        ("levels.A.to", "29", "level A: to"),
        ("levels.A.to", 5, "level A: from (10) must be <= to (5)"),
        ("levels.A.to", None, "level A: to is required"),
        ("levels.B.from", 31, "level B: from must be A.to + 1 (30), got 31"),
        ("levels.B.to", 20, "level B: from (30) must be <= to (20)"),
        ("levels.C.from", 61, "level C: from must be B.to + 1 (60), got 61"),
        ("levels.C.to", 59, "level C: to (59) must be null or >= from (60)"),
        ("levels.B.code", "SILV", "level B: code"),
        ("levels.basic.code", "BS", "level basic: code"),
        ("levels.C.code", "SLV", "codes must differ"),
    ],
)
def test_level_rules(path: str, value: Any, expected: str) -> None:
    assert expected in refused(with_(path, value))


def test_message_names_the_file() -> None:
    assert refused(with_("levels.B.from", 31)).startswith("prog.yaml: ")


def r(*bounds: tuple[Any, Any, Any]) -> dict[str, Any]:
    return {"ranges": [{"from": f, "to": t, "points": p} for f, t, p in bounds]}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"ranges": []}, "item g1_credit_score: 1 to 5 ranges allowed, got 0"),
        (r(*[(n * 10, n * 10 + 5, 1) for n in range(6)]), "1 to 5 ranges allowed, got 6"),
        (r((700, 600, 1)), "item g1_credit_score: range 1: from (700) must be <= to (600)"),
        (
            r((600, 700, 1), (500, 550, 2)),
            "item g1_credit_score: range 2: ranges must be ascending",
        ),
        (r((600, 700, 1), (700, 750, 2)), "item g1_credit_score: range 2: ranges overlap"),
        (r((600, None, 1), (700, 750, 2)), "range 1: only the last range may leave to empty"),
        (r((600, 700, 1.5)), "item g1_credit_score: ranges.0.points"),
        (r((600.001, 700, 1)), "at most 2 decimals"),
        ({"points": 3}, "item g1_credit_score: ranges required"),
        ({**r((1, 2, 3)), "points": 3}, "item g1_credit_score: points does not apply"),
        ({**r((1, 2, 3)), "colour": "red"}, "item g1_credit_score: colour"),
    ],
)
def test_range_rules(settings: dict[str, Any], expected: str) -> None:
    assert expected in refused(with_("items.g1_credit_score", settings))


@pytest.mark.parametrize(
    ("item_id", "settings", "expected"),
    [
        (
            "g1_dividend_applications",
            {"points": 5, "select": []},
            "item g1_dividend_applications: select must not be empty",
        ),
        (
            "g1_dividend_applications",
            {"points": 5},
            "item g1_dividend_applications: select required",
        ),
        ("g2_money_market", {"select": ["MM1"]}, "item g2_money_market: points required"),
        ("g4_atm_active", {"points": "two"}, "item g4_atm_active: points"),
        ("g4_atm_active", {"points": 2.5}, "item g4_atm_active: points"),
        (
            "g4_atm_active",
            {"points": 2, "select": ["X"]},
            "item g4_atm_active: select does not apply",
        ),
        (
            "g1_membership_years",
            {"points": 1},
            "item g1_membership_years: points_per_year required",
        ),
        (
            "g1_membership_years",
            {"points_per_year": 1, "after_years": -1},
            "after_years must be >= 0",
        ),
        (
            "g3_delinquent_loans",
            {"points": -5, "min_months": 0},
            "item g3_delinquent_loans: min_months must be >= 1",
        ),
        (
            "g5_payroll_deposit",
            {"points": 5, "min_amount": -1},
            "item g5_payroll_deposit: min_amount must be >= 0",
        ),
        ("g9_lottery_winner", {"points": 5}, "item g9_lottery_winner: unknown item id"),
    ],
)
def test_item_rules(item_id: str, settings: dict[str, Any], expected: str) -> None:
    assert expected in refused(with_(f"items.{item_id}", settings))


def test_negative_points_are_allowed() -> None:
    program = parse_program(with_("items.g2_negative_checking", {"points": -5}))
    assert program.items["g2_negative_checking"].p == -5


def test_time_zone_must_be_iana() -> None:
    assert "unknown IANA time zone" in refused(with_("time_zone", "Mars/Olympus_Mons"))
    assert parse_program(with_("time_zone", "Europe/Paris")).time_zone == "Europe/Paris"


def test_not_yaml_and_not_a_mapping() -> None:
    assert "not valid YAML" in refused("levels: [unclosed")
    assert "must be a YAML mapping" in refused("- 1\n- 2\n")


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_program(tmp_path / "nope.yaml")


def test_load_program_names_the_path(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(with_("items.g4_atm_active", {"points": 2, "ranges": []}))
    with pytest.raises(ProgramError, match=r"bad\.yaml: item g4_atm_active"):
        load_program(file)


def test_level_changes_latest_effective_applies() -> None:
    later = copy.deepcopy(BASE["levels"])
    later["A"]["from"] = 5
    latest = copy.deepcopy(later)
    latest["A"]["from"] = 1
    changes = [
        {"effective": "2027-01", "levels": later},
        {"effective": "2027-06", "levels": latest},
    ]
    program = parse_program(with_("level_changes", changes))
    assert program.levels_for("2026-12").A.from_ == 10
    assert program.levels_for("2027-01").A.from_ == 5
    assert program.levels_for("2027-05").A.from_ == 5
    assert program.levels_for("2027-06").A.from_ == 1


def test_level_changes_are_validated_too() -> None:
    broken = copy.deepcopy(BASE["levels"])
    broken["B"]["from"] = 31
    text = with_("level_changes", [{"effective": "2027-01", "levels": broken}])
    assert "level B: from must be A.to + 1" in refused(text)
    assert "effective" in refused(
        with_("level_changes", [{"effective": "2027-13", "levels": BASE["levels"]}])
    )


def test_possible_points_take_the_best_occurrence_and_ignore_negatives() -> None:
    text = with_(
        "items",
        {
            "g1_credit_score": r((300, 600, -2), (601, 700, 4), (701, 850, 3)),
            "g1_membership_years": {"points_per_year": 2},
            "g2_negative_checking": {"points": -5},
            "g2_additional_savings": {"points": 2},
            "other_wrong_address": {"points": -5},
        },
    )
    assert parse_program(text).possible_by_goal() == {1: 6, 2: 2, 3: 0, 4: 0, 5: 0, 6: 0}


def test_period_helper() -> None:
    period = Period("2024-02")
    assert previous_period(period) == "2024-01"
    assert previous_period("2026-01") == "2025-12"
    assert period.last_day().day == 29
    with pytest.raises(ValueError, match="YYYY-MM"):
        Period("2024-13")


def test_level_changed_event_model() -> None:
    event = TierLevelChanged(
        member_id="123",
        period=Period("2026-05"),
        points=42,
        level_code="SLV",
        level_name="Silver",
        previous_level_code=None,
    )
    assert event.model_dump(mode="json") == {
        "member_id": "123",
        "period": "2026-05",
        "points": 42,
        "level_code": "SLV",
        "level_name": "Silver",
        "previous_level_code": None,
    }


def test_large_extracts_get_more_shards() -> None:
    from workers.tiers.scoring.sharding import MEMBERS_PER_SHARD, shard_count_for

    assert shard_count_for(2_000, 4) == 4
    assert shard_count_for(MEMBERS_PER_SHARD * 4, 4) == 4
    assert shard_count_for(MEMBERS_PER_SHARD * 4 + 1, 4) == 5
    assert shard_count_for(3_000_000, 4) == 12
