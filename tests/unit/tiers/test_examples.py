"""Hand-worked examples on the edges of the scoring rules (engine and reference both checked)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from tests.unit.tiers.frames import both, extract, program

pytestmark = pytest.mark.unit

SCORE_RANGES = {
    "ranges": [
        {"from": 300, "to": 619, "points": 0},
        {"from": 620, "to": 719, "points": 3},
        {"from": 720, "to": 850, "points": 6},
    ]
}


@pytest.mark.parametrize(
    ("score", "points"), [(619, 0), (620, 3), (719, 3), (720, 6), (850, 6), (851, 0), (299, 0)]
)
def test_range_bounds_are_inclusive(score: int, points: int) -> None:
    data = extract(members=[{"member_id": "1"}], credit_scores=[{"member_id": "1", "score": score}])
    result = both(program({"g1_credit_score": SCORE_RANGES}), data)["1"]
    assert result.points_by_item["g1_credit_score"] == points


def test_money_ranges_to_the_cent() -> None:
    prog = program(
        {
            "g2_aggregate_balance": {
                "ranges": [
                    {"from": 0, "to": 999.99, "points": 1},
                    {"from": 1000, "to": None, "points": 4},
                ]
            }
        }
    )
    data = extract(
        members=[{"member_id": "1"}, {"member_id": "2"}, {"member_id": "3"}],
        accounts=[
            {"member_id": "1", "balance": Decimal("999.99")},
            {"member_id": "2", "balance": Decimal("999.99")},
            {"member_id": "2", "suffix": "001", "file": "MEMBER3", "balance": Decimal("0.01")},
            {"member_id": "3", "balance": Decimal("-0.01")},
        ],
    )
    results = both(prog, data)
    assert [results[m].points_by_item["g2_aggregate_balance"] for m in "123"] == [1, 4, 0]


def test_negative_balances_count_per_account_type() -> None:
    prog = program({"g2_negative_checking": {"points": -5}, "g2_negative_savings": {"points": -3}})
    checking = {"file": "MEMBER2", "application_type": "SD", "balance": Decimal("-10.00")}
    data = extract(
        members=[{"member_id": "1"}],
        accounts=[
            {"member_id": "1", "suffix": "001", "account_type": "100", **checking},
            {"member_id": "1", "suffix": "002", "account_type": "100", **checking},  # same type
            {"member_id": "1", "suffix": "003", "account_type": "101", **checking},
            {
                "member_id": "1",
                "suffix": "004",
                "account_type": "102",
                **checking,
                "balance": Decimal("0"),
            },
            {"member_id": "1", "suffix": "005", "account_type": "002", "balance": Decimal("-1.00")},
            {
                "member_id": "1",
                "suffix": "006",
                "account_type": "400",
                "file": "MEMBER4",
                "application_type": "TX",
                "balance": Decimal("-2.00"),
            },
            {
                "member_id": "1",
                "suffix": "007",
                "account_type": "003",
                "application_type": "SD",
                "balance": Decimal("-2.00"),
            },
        ],
    )
    result = both(prog, data)["1"]
    assert result.points_by_item == {"g2_negative_checking": -10, "g2_negative_savings": -6}
    assert result.points_by_goal[2] == -16
    assert result.possible_by_goal[2] == 0  # negative items never add possible points


def test_five_certificates_score_once_and_ira_plans_per_plan() -> None:
    prog = program({"g2_certificates": {"points": 5}, "g2_ira_plans": {"points": 3}})
    certificates: list[dict[str, Any]] = [
        {
            "member_id": "1",
            "suffix": f"{n:03d}",
            "file": "MEMBER3",
            "account_type": "300",
            "application_type": None,
        }
        for n in range(1, 6)
    ]
    iras: list[dict[str, Any]] = [
        {
            "member_id": "1",
            "suffix": "010",
            "file": "MEMBER1",
            "account_type": "020",
            "application_type": "IR",
            "ira": True,
            "ira_plan": "TRAD",
        },
        {
            "member_id": "1",
            "suffix": "011",
            "file": "MEMBER3",
            "account_type": "320",
            "application_type": None,
            "ira": True,
            "ira_plan": "TRAD",
        },
        {
            "member_id": "1",
            "suffix": "012",
            "file": "MEMBER3",
            "account_type": "320",
            "application_type": None,
            "ira": True,
            "ira_plan": None,
        },
        {
            "member_id": "1",
            "suffix": "013",
            "file": "MEMBER1",
            "account_type": "020",
            "application_type": "IR",
            "ira": True,
            "ira_plan": None,
        },
    ]
    result = both(prog, extract(members=[{"member_id": "1"}], accounts=certificates + iras))["1"]
    # TRAD once, plus each plan-less IRA account as a plan of its own.
    assert result.points_by_item == {"g2_certificates": 5, "g2_ira_plans": 9}


def test_only_ira_certificates_do_not_score_certificates() -> None:
    prog = program({"g2_certificates": {"points": 5}})
    account = {"member_id": "1", "file": "MEMBER3", "application_type": None, "ira": True}
    result = both(prog, extract(members=[{"member_id": "1"}], accounts=[account]))["1"]
    assert result.points_by_item["g2_certificates"] == 0


@pytest.mark.parametrize(
    ("joined", "points"),
    [
        (date(2016, 5, 31), 2 * (10 - 3)),  # exactly 10 years on the period's last day
        (date(2016, 6, 1), 2 * (9 - 3)),  # one day short of 10 years
        (date(2024, 1, 1), 0),  # 2 years, not past after_years
        (date(2026, 6, 1), 0),  # joined after the period
    ],
)
def test_years_after_n(joined: date, points: int) -> None:
    prog = program({"g1_membership_years": {"points_per_year": 2, "after_years": 3}})
    data = extract(members=[{"member_id": "1", "joined_on": joined}])
    assert both(prog, data)["1"].points_by_item["g1_membership_years"] == points


def test_leap_day_membership_counts_on_feb_28_only_at_the_29th() -> None:
    prog = program({"g1_membership_years": {"points_per_year": 1}})
    data = extract(members=[{"member_id": "1", "joined_on": date(2024, 2, 29)}])
    assert both(prog, data, period="2025-02")["1"].points_by_item["g1_membership_years"] == 0
    assert both(prog, data, period="2025-03")["1"].points_by_item["g1_membership_years"] == 1


def test_member_without_credit_score_scores_zero_even_with_a_zero_lower_bound() -> None:
    prog = program({"g1_credit_score": {"ranges": [{"from": 0, "to": 850, "points": 4}]}})
    data = extract(
        members=[{"member_id": "1"}, {"member_id": "2"}],
        credit_scores=[{"member_id": "2", "score": 0}],
    )
    results = both(prog, data)
    assert results["1"].points_by_item["g1_credit_score"] == 0
    assert results["2"].points_by_item["g1_credit_score"] == 4


def test_credit_score_latest_date_then_highest_score() -> None:
    prog = program({"g1_credit_score": SCORE_RANGES})
    scores = [
        {"member_id": "1", "score": 800, "scored_on": date(2025, 1, 1)},  # older, best
        {"member_id": "1", "score": 610, "scored_on": date(2026, 3, 1)},
        {"member_id": "1", "score": 650, "scored_on": date(2026, 3, 1)},  # tie on the latest day
        {"member_id": "2", "score": 800, "scored_on": date(2025, 1, 1)},
        {"member_id": "2", "score": 500, "scored_on": date(2026, 4, 1)},  # latest, even if low
    ]
    results = both(
        prog, extract(members=[{"member_id": "1"}, {"member_id": "2"}], credit_scores=scores)
    )
    assert results["1"].points_by_item["g1_credit_score"] == 3
    assert results["2"].points_by_item["g1_credit_score"] == 0


def test_household_total_decides_the_level_and_each_keeps_their_total() -> None:
    prog = program({"g4_online_banking": {"points": 20}}, household_scoring=True)
    data = extract(
        members=[
            {"member_id": "1", "household_id": "H1"},
            {"member_id": "2", "household_id": "H1"},
            {"member_id": "3", "household_id": "H1"},
            {"member_id": "4"},
            {"member_id": "5", "household_id": "H2"},
        ],
        activity=[
            {"member_id": "1", "online_banking_used": True},
            {"member_id": "2", "online_banking_used": True},
            {"member_id": "4", "online_banking_used": True},
            {"member_id": "5", "online_banking_used": True},
        ],
    )
    results = both(prog, data)
    assert [results[m].total for m in "12345"] == [20, 20, 0, 20, 20]
    assert [results[m].household_total for m in "12345"] == [40, 40, 40, 20, 20]
    assert [results[m].level_code for m in "12345"] == ["SLV", "SLV", "SLV", "BRZ", "BRZ"]
    off = both(program({"g4_online_banking": {"points": 20}}), data)
    assert off["3"].household_total is None and off["3"].level_code == "BAS"


def test_scheduled_level_change_takes_effect_from_its_month() -> None:
    later = {
        "basic": {"name": "Basic", "code": "BAS"},
        "A": {"name": "Bronze", "code": "BRZ", "from": 20, "to": 39},
        "B": {"name": "Silver", "code": "SLV", "from": 40, "to": 79},
        "C": {"name": "Gold", "code": "GLD", "from": 80, "to": None},
    }
    prog = program(
        {"g4_online_banking": {"points": 30}},
        level_changes=[{"effective": "2026-06", "levels": later}],
    )
    data = extract(
        members=[{"member_id": "1"}], activity=[{"member_id": "1", "online_banking_used": True}]
    )
    assert both(prog, data, period="2026-05")["1"].level_code == "SLV"
    after = both(prog, data, period="2026-06")["1"]
    assert after.level_code == "BRZ"
    assert after.atm_service_charge_code is None  # the new set has no ATM codes


def test_permanent_atm_codes_are_kept() -> None:
    prog = program({})
    data = extract(
        members=[
            {"member_id": "1", "atm_service_charge_code": 90},
            {"member_id": "2", "atm_service_charge_code": 99},
            {"member_id": "3", "atm_service_charge_code": 89},
            {"member_id": "4", "atm_service_charge_code": None},
            {"member_id": "5", "atm_service_charge_code": 100},
        ]
    )
    results = both(prog, data)
    assert [results[m].atm_service_charge_code for m in "12345"] == [90, 99, 10, 10, 10]


def test_member_without_activity_row_has_zero_everywhere() -> None:
    prog = program(
        {
            "g4_atm_active": {"points": 1},
            "g4_debit_count": {
                "ranges": [{"from": 0, "to": 0, "points": -1}, {"from": 1, "to": None, "points": 2}]
            },
            "g5_payroll_deposit": {"points": 8, "min_amount": 0},
        }
    )
    data = extract(
        members=[{"member_id": "1"}, {"member_id": "2"}],
        activity=[{"member_id": "2", "atm_transactions": 3, "debit_pin_count": 1}],
    )
    results = both(prog, data)
    assert results["1"].points_by_item == {
        "g4_atm_active": 0,
        "g4_debit_count": -1,
        "g5_payroll_deposit": 0,
    }
    assert results["2"].points_by_item == {
        "g4_atm_active": 1,
        "g4_debit_count": 2,
        "g5_payroll_deposit": 0,
    }


def test_debit_pin_counted_only_when_included() -> None:
    items = {"g4_debit_amount": {"ranges": [{"from": 100, "to": None, "points": 2}]}}
    activity = [
        {
            "member_id": "1",
            "debit_signature_amount": Decimal("60.00"),
            "debit_pin_amount": Decimal("40.00"),
        }
    ]
    data = extract(members=[{"member_id": "1"}], activity=activity)
    assert both(program(items), data)["1"].total == 2
    assert both(program(items, debit_include_pin=False), data)["1"].total == 0


def test_closed_accounts_are_ignored() -> None:
    prog = program({"g3_other_loans": {"points": 2}, "g2_additional_savings": {"points": 1}})
    data = extract(
        members=[{"member_id": "1"}],
        accounts=[
            {
                "member_id": "1",
                "suffix": "001",
                "file": "MEMBER5",
                "application_type": None,
                "loan_category": "AUT",
            },
            {
                "member_id": "1",
                "suffix": "002",
                "file": "MEMBER5",
                "application_type": None,
                "loan_category": "AUT",
                "closed_on": date(2026, 4, 2),
            },
            {
                "member_id": "1",
                "suffix": "003",
                "account_type": "001",
                "closed_on": date(2026, 4, 2),
            },
        ],
    )
    assert both(prog, data)["1"].points_by_item == {"g2_additional_savings": 0, "g3_other_loans": 2}


def test_loans_selected_excluded_and_others() -> None:
    prog = program(
        {
            "g1_loan_categories": {"points": 4, "select": ["MTG"]},
            "g3_loan_categories": {"points": 3, "select": ["AUT", "MTG"]},
            "g3_other_loans": {"points": 2, "exclude": ["CRD"]},
            "g3_delinquent_loans": {"points": -6, "min_months": 2},
        }
    )
    loan = {"member_id": "1", "file": "MEMBER5", "application_type": None}
    data = extract(
        members=[{"member_id": "1"}],
        accounts=[
            {**loan, "suffix": "001", "loan_category": "MTG"},
            {**loan, "suffix": "002", "loan_category": "MTG", "delinquent_months": 2},
            {**loan, "suffix": "003", "loan_category": "AUT", "delinquent_months": 1},
            {**loan, "suffix": "004", "loan_category": "CRD", "file": "MEMBER6"},
            {**loan, "suffix": "005", "loan_category": "PER"},
            {**loan, "suffix": "006", "loan_category": None},
        ],
    )
    result = both(prog, data)["1"]
    assert result.points_by_item == {
        "g1_loan_categories": 4,  # per distinct category
        "g3_loan_categories": 9,  # per account
        "g3_other_loans": 4,  # PER and the one without a category
        "g3_delinquent_loans": -6,
    }


def test_basic_below_a_and_above_c_to_is_c() -> None:
    levels = {
        "basic": {"name": "Basic", "code": "BAS"},
        "A": {"name": "Bronze", "code": "BRZ", "from": 10, "to": 29},
        "B": {"name": "Silver", "code": "SLV", "from": 30, "to": 59},
        "C": {"name": "Gold", "code": "GLD", "from": 60, "to": 70},
    }
    prog = program(
        {"g4_online_banking": {"points": 100}, "other_wrong_address": {"points": -1}}, levels=levels
    )
    data = extract(
        members=[{"member_id": "1"}, {"member_id": "2", "wrong_address": True}],
        activity=[{"member_id": "1", "online_banking_used": True}],
    )
    results = both(prog, data)
    assert (results["1"].total, results["1"].level_code) == (100, "GLD")
    assert (results["2"].total, results["2"].level_code, results["2"].level_name) == (
        -1,
        "BAS",
        "Basic",
    )


def test_first_scoring_has_no_previous_level_and_later_ones_do() -> None:
    prog = program({})
    data = extract(members=[{"member_id": "1"}, {"member_id": "2"}])
    assert both(prog, data)["1"].previous_level_code is None
    previous = pl.DataFrame({"member_id": ["1"], "level_code": ["GLD"]})
    results = both(prog, data, previous)
    assert results["1"].previous_level_code == "GLD"
    assert results["2"].previous_level_code is None


def test_member_ids_with_leading_zeros_stay_apart() -> None:
    prog = program({"g4_online_banking": {"points": 12}})
    data = extract(
        members=[{"member_id": "7"}, {"member_id": "007"}],
        activity=[{"member_id": "007", "online_banking_used": True}],
    )
    results = both(prog, data)
    assert (results["7"].total, results["007"].total) == (0, 12)


def test_stored_frame_json_matches_the_results() -> None:
    import json

    from workers.tiers.runs.persist import RESULT_COLUMNS
    from workers.tiers.scoring.engine import score_extract
    from workers.tiers.scoring.results import stored_frame, to_results

    prog = program({"g4_online_banking": {"points": 12}, "other_wrong_address": {"points": -5}})
    data = extract(
        members=[{"member_id": "1", "wrong_address": True}],
        activity=[{"member_id": "1", "online_banking_used": True}],
    )
    frame = score_extract(prog, "2026-05", data)
    shaped = stored_frame(prog, frame)
    # The stored shape (from the result model) is exactly what the results table takes.
    assert tuple(shaped.columns) == RESULT_COLUMNS
    stored = shaped.row(0, named=True)
    (result,) = to_results(prog, frame)
    assert json.loads(stored["points_by_item"]) == result.points_by_item
    assert json.loads(stored["points_by_goal"]) == {
        str(k): v for k, v in result.points_by_goal.items()
    }
    assert json.loads(stored["possible_by_goal"])["4"] == 12
    assert (stored["total"], stored["level_code"]) == (7, "BAS")
