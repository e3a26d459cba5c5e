"""The reference tier scorer: the scoring rules written out one member at a time, in plain Python.

Slow on purpose and easy to check against the spec line by line; the production
engine (``workers.tiers.scoring.engine``) must agree with it on every item, goal, total, level and
ATM code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from contracts.tiers.items import GOALS, ITEMS
from contracts.tiers.period import Period
from contracts.tiers.program import ItemSettings, Range, TierProgram
from contracts.tiers.results import MemberTierResult
from workers.tiers.scoring.extract import Extract

Row = dict[str, Any]

SAVINGS_FILES = {"MEMBER1", "MEMBER2", "MEMBER3", "MEMBER4"}
LOAN_FILES = {"MEMBER5", "MEMBER6"}


@dataclass
class MemberData:
    """Everything the extract holds about one member (rows as plain dicts).

    ``household`` holds the *other* members of the member's household (their own data), so the
    household total can be worked out from this object alone.
    """

    member: Row
    accounts: list[Row] = field(default_factory=list)
    credit_scores: list[Row] = field(default_factory=list)
    otb: list[Row] = field(default_factory=list)
    activity: Row | None = None
    previous_level_code: str | None = None
    household: list[MemberData] = field(default_factory=list)

    @property
    def open_accounts(self) -> list[Row]:
        """Accounts without ``closed_on`` (closed ones are ignored)."""
        return [a for a in self.accounts if a["closed_on"] is None]


def _in_range(value: Decimal | int | None, ranges: list[Range]) -> int:
    """Points of the range containing ``value`` (bounds inclusive); 0 if none or no value."""
    if value is None:
        return 0
    for r in ranges:
        if r.from_ <= value and (r.to is None or value <= r.to):
            return r.points
    return 0


def _activity(data: MemberData, name: str) -> Any:
    """An activity value; a member without an activity row has zero / false everywhere."""
    if data.activity is None:
        return False if name.endswith(("_used", "_enrolled")) else 0
    return data.activity[name]


def _credit_score(data: MemberData) -> int | None:
    """The score with the latest ``scored_on``; on a tie, the highest score."""
    if not data.credit_scores:
        return None
    best = max(data.credit_scores, key=lambda s: (s["scored_on"], s["score"]))
    return int(best["score"])


def _full_years(joined: date, last_day: date) -> int:
    years = last_day.year - joined.year
    if (joined.month, joined.day) > (last_day.month, last_day.day):
        years -= 1
    return years


def _ira_plans(accounts: list[Row]) -> int:
    plans: set[str] = set()
    without_plan = 0
    for a in accounts:
        if a["file"] in ("MEMBER1", "MEMBER3") and a["ira"]:
            if a["ira_plan"] is None:
                without_plan += 1  # an IRA account with no plan is one plan of its own
            else:
                plans.add(a["ira_plan"])
    return len(plans) + without_plan


def item_points(
    program: TierProgram, period: Period, item_id: str, s: ItemSettings, data: MemberData
) -> int:
    """The points ``data`` earns on one configured item."""
    P = s.p
    accounts = data.open_accounts
    loans = [a for a in accounts if a["file"] in LOAN_FILES]
    member = data.member
    g3 = program.item("g3_loan_categories")
    g3_select = g3.select_set if g3 is not None else frozenset()

    if item_id == "g1_dividend_applications":
        found = {
            a["dividend_application"]
            for a in accounts
            if a["file"] in ("MEMBER1", "MEMBER2", "MEMBER4")
            and a["dividend_application"] in s.select_set
        }
        return P * len(found)
    if item_id == "g1_loan_categories":
        return P * len({a["loan_category"] for a in loans if a["loan_category"] in s.select_set})
    if item_id == "g1_membership_years":
        years = _full_years(member["joined_on"], period.last_day())
        return (s.points_per_year or 0) * max(0, years - s.after_years_or_default)
    if item_id == "g1_credit_score":
        assert s.ranges is not None
        return _in_range(_credit_score(data), s.ranges)
    if item_id == "g2_additional_savings":
        types = {
            a["account_type"]
            for a in accounts
            if a["file"] == "MEMBER1"
            and a["account_type"] != "000"
            and a["application_type"] != "IR"
        }
        return P * len(types)
    if item_id == "g2_certificates":
        return P if any(a["file"] == "MEMBER3" and not a["ira"] for a in accounts) else 0
    if item_id == "g2_ira_plans":
        return P * _ira_plans(accounts)
    if item_id == "g2_money_market":
        types = {
            a["account_type"]
            for a in accounts
            if a["file"] in ("MEMBER1", "MEMBER2") and a["dividend_application"] in s.select_set
        }
        return P * len(types)
    if item_id == "g2_negative_checking":
        types = {
            a["account_type"]
            for a in accounts
            if a["file"] == "MEMBER2" and a["application_type"] == "SD" and a["balance"] < 0
        }
        return P * len(types)
    if item_id == "g2_negative_savings":
        types = {
            a["account_type"]
            for a in accounts
            if a["file"] in ("MEMBER1", "MEMBER4")
            and a["application_type"] in ("SH", "TX", "IR")
            and a["balance"] < 0
        }
        return P * len(types)
    if item_id == "g2_aggregate_balance":
        assert s.ranges is not None
        total = sum((a["balance"] for a in accounts if a["file"] in SAVINGS_FILES), Decimal(0))
        return _in_range(total, s.ranges)
    if item_id == "g2_otb_savings":
        return P if any(o["otb_type"] == "SAVE" for o in data.otb) else 0
    if item_id == "g3_loan_categories":
        return P * sum(1 for a in loans if a["loan_category"] in g3_select)
    if item_id == "g3_other_loans":
        skip = g3_select | s.exclude_set
        return P * sum(1 for a in loans if a["loan_category"] not in skip)
    if item_id == "g3_aggregate_loan_balance":
        assert s.ranges is not None
        return _in_range(sum((a["balance"] for a in loans), Decimal(0)), s.ranges)
    if item_id == "g3_delinquent_loans":
        return P * sum(1 for a in loans if a["delinquent_months"] >= s.min_months_or_default)
    if item_id == "g3_otb_loans":
        return P if any(o["otb_type"] in ("LOAN", "CARD") for o in data.otb) else 0
    if item_id == "g4_atm_active":
        return P if _activity(data, "atm_transactions") > 0 else 0
    if item_id == "g4_debit_count":
        assert s.ranges is not None
        count = _activity(data, "debit_signature_count")
        if program.debit_include_pin:
            count += _activity(data, "debit_pin_count")
        return _in_range(count, s.ranges)
    if item_id == "g4_debit_amount":
        assert s.ranges is not None
        amount = Decimal(_activity(data, "debit_signature_amount"))
        if program.debit_include_pin:
            amount += _activity(data, "debit_pin_amount")
        return _in_range(amount, s.ranges)
    if item_id in _ACTIVITY_FLAGS:
        return P if _activity(data, _ACTIVITY_FLAGS[item_id]) else 0
    if item_id == "g4_valid_email":
        return P if member["email_valid"] else 0
    if item_id in ("g5_payroll_deposit", "g5_ach_deposit"):
        name = "payroll_deposit_amount" if item_id == "g5_payroll_deposit" else "ach_deposit_amount"
        amount = _activity(data, name)
        return P if amount >= s.min_amount_or_default and amount > 0 else 0
    if item_id == "g5_aft_loan_payment":
        return P if _activity(data, "aft_loan_payments") > 0 else 0
    if item_id == "g5_ach_loan_payment":
        return P if _activity(data, "ach_loan_payments") > 0 else 0
    if item_id == "other_wrong_address":
        return P if member["wrong_address"] else 0
    raise ValueError(f"item {item_id}: no rule")


_ACTIVITY_FLAGS = {
    "g4_audio_response": "audio_response_used",
    "g4_online_banking": "online_banking_used",
    "g4_estatements": "estatements_enrolled",
    "g4_bill_pay": "bill_pay_enrolled",
    "g4_enotices": "enotices_enrolled",
    "g4_text_banking": "text_banking_enrolled",
}


def points_by_item(program: TierProgram, period: str, data: MemberData) -> dict[str, int]:
    """Points per configured item (registry order)."""
    month = Period(period)
    return {
        item_id: item_points(program, month, item_id, program.items[item_id], data)
        for item_id in program.configured_items()
    }


def member_total(program: TierProgram, period: str, data: MemberData) -> int:
    """The member's own total: the sum of all item points."""
    return sum(points_by_item(program, period, data).values())


def score_member_reference(
    program: TierProgram, period: str, member_data: MemberData
) -> MemberTierResult:
    """Score one member by the scoring rules (docs/tier-program.md).

    Args:
        program: The validated program.
        period: The scored month ``YYYY-MM``.
        member_data: The member's rows, previous level and the other household members.

    Returns:
        The member's result.
    """
    month = Period(period)
    items = points_by_item(program, month, member_data)
    total = sum(items.values())
    by_goal = dict.fromkeys(GOALS, 0)
    for item_id, points in items.items():
        by_goal[ITEMS[item_id].goal] += points

    household_total: int | None = None
    deciding = total
    if program.household_scoring:
        others = sum(member_total(program, month, other) for other in member_data.household)
        household_total = total + others
        deciding = household_total

    level = program.levels_for(month).level_for(deciding)
    current_code = member_data.member["atm_service_charge_code"]
    atm = current_code if current_code is not None and 90 <= current_code <= 99 else None
    if atm is None:
        atm = level.atm_service_charge_code

    return MemberTierResult(
        member_id=member_data.member["member_id"],
        period=month,
        total=total,
        household_total=household_total,
        level_code=level.code,
        level_name=level.name,
        previous_level_code=member_data.previous_level_code,
        atm_service_charge_code=atm,
        points_by_goal=by_goal,
        points_by_item=items,
        possible_by_goal=program.possible_by_goal(),
    )


def _group(frame: pl.DataFrame) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in frame.iter_rows(named=True):
        grouped[row["member_id"]].append(row)
    return grouped


def member_data(
    extract: Extract | Mapping[str, pl.DataFrame],
    previous_levels: pl.DataFrame | None = None,
    limit: int | None = None,
) -> list[MemberData]:
    """Build :class:`MemberData` for the members of an extract (the first ``limit`` of them).

    Household mates of those members are loaded too, so household totals stay whole.
    """
    data = Extract.of(extract)
    members = data.members
    if limit is not None:
        chosen = members.head(limit)
        households = chosen.get_column("household_id").drop_nulls().unique()
        mates = members.filter(pl.col("household_id").is_in(households.implode()))
        ids = pl.concat([chosen.get_column("member_id"), mates.get_column("member_id")]).unique()
        keep: Callable[[pl.DataFrame], pl.DataFrame] = lambda f: f.filter(  # noqa: E731
            pl.col("member_id").is_in(ids.implode())
        )
        data = Extract.of({name: keep(frame) for name, frame in data})
    accounts, scores, otb = _group(data.accounts), _group(data.credit_scores), _group(data.otb)
    activity = {row["member_id"]: row for row in data.activity.iter_rows(named=True)}
    previous: dict[str, str | None] = {}
    if previous_levels is not None:
        for member_id, code in previous_levels.select("member_id", "level_code").iter_rows():
            previous[str(member_id)] = code
    everyone: dict[str, MemberData] = {}
    for row in data.members.iter_rows(named=True):
        member_id = row["member_id"]
        everyone[member_id] = MemberData(
            member=row,
            accounts=accounts.get(member_id, []),
            credit_scores=scores.get(member_id, []),
            otb=otb.get(member_id, []),
            activity=activity.get(member_id),
            previous_level_code=previous.get(member_id),
        )
    by_household: dict[str, list[MemberData]] = defaultdict(list)
    for one in everyone.values():
        if one.member["household_id"] is not None:
            by_household[one.member["household_id"]].append(one)
    for one in everyone.values():
        household_id = one.member["household_id"]
        if household_id is not None:
            one.household = [m for m in by_household[household_id] if m is not one]
    order = members.get_column("member_id").to_list()
    if limit is not None:
        order = order[:limit]
    return [everyone[member_id] for member_id in order]


def score_extract_reference(
    program: TierProgram,
    period: str,
    extract: Extract | Mapping[str, pl.DataFrame],
    previous_levels: pl.DataFrame | None = None,
    limit: int | None = None,
) -> list[MemberTierResult]:
    """Score the members of an extract one by one (the first ``limit`` members if given).

    Args:
        program: The validated program.
        period: The scored month ``YYYY-MM``.
        extract: The typed tables.
        previous_levels: ``member_id, level_code`` of the period before (None: first scoring).
        limit: Score only the first ``limit`` members (their households still count whole).

    Returns:
        One result per member, in ``members`` order.
    """
    return [
        score_member_reference(program, period, one)
        for one in member_data(extract, previous_levels, limit)
    ]
