"""The item registry of the Tiered Service program: the 32 scoring items, their goals and kinds.

Plain data, no I/O: the program file (``contracts.tiers.program``) checks each configured item
against ``ITEMS``; the engine and the reference scorer look up an item's goal and kind here.
The order of ``ITEMS`` is the documented order (docs/tier-program.md), the order results use.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ItemKind(StrEnum):
    """How an item turns member data into points (which settings it takes)."""

    SELECT = "select"
    """``points`` times a count over values in ``select``."""
    YEARS = "years"
    """``points_per_year`` times years past ``after_years``."""
    RANGE = "range"
    """The points of the range containing a value."""
    COUNT = "count"
    """``points`` times a count of accounts, account types or plans."""
    ONCE = "once"
    """``points`` once when a condition holds."""


GOALS: dict[int, str] = {
    1: "Primary financial institution",
    2: "Savings relationships",
    3: "Loan relationships",
    4: "Self-service",
    5: "Automated relationships",
    6: "Other",
}


@dataclass(frozen=True)
class ItemSpec:
    """One scoring item: its goal, kind and the settings it accepts."""

    item_id: str
    goal: int
    kind: ItemKind
    optional: frozenset[str] = frozenset()

    @property
    def required(self) -> frozenset[str]:
        """Settings the item cannot do without."""
        return {
            ItemKind.SELECT: frozenset({"points", "select"}),
            ItemKind.YEARS: frozenset({"points_per_year"}),
            ItemKind.RANGE: frozenset({"ranges"}),
            ItemKind.COUNT: frozenset({"points"}),
            ItemKind.ONCE: frozenset({"points"}),
        }[self.kind]

    @property
    def allowed(self) -> frozenset[str]:
        """Every setting the item accepts."""
        return self.required | self.optional


def _spec(item_id: str, goal: int, kind: ItemKind, *optional: str) -> ItemSpec:
    return ItemSpec(item_id, goal, kind, frozenset(optional))


_S, _Y, _R, _C, _O = ItemKind.SELECT, ItemKind.YEARS, ItemKind.RANGE, ItemKind.COUNT, ItemKind.ONCE

ITEMS: dict[str, ItemSpec] = {
    spec.item_id: spec
    for spec in (
        _spec("g1_dividend_applications", 1, _S),
        _spec("g1_loan_categories", 1, _S),
        _spec("g1_membership_years", 1, _Y, "after_years"),
        _spec("g1_credit_score", 1, _R),
        _spec("g2_additional_savings", 2, _C),
        _spec("g2_certificates", 2, _O),
        _spec("g2_ira_plans", 2, _C),
        _spec("g2_money_market", 2, _S),
        _spec("g2_negative_checking", 2, _C),
        _spec("g2_negative_savings", 2, _C),
        _spec("g2_aggregate_balance", 2, _R),
        _spec("g2_otb_savings", 2, _O),
        _spec("g3_loan_categories", 3, _S),
        _spec("g3_other_loans", 3, _C, "exclude"),
        _spec("g3_aggregate_loan_balance", 3, _R),
        _spec("g3_delinquent_loans", 3, _C, "min_months"),
        _spec("g3_otb_loans", 3, _O),
        _spec("g4_atm_active", 4, _O),
        _spec("g4_debit_count", 4, _R),
        _spec("g4_debit_amount", 4, _R),
        _spec("g4_audio_response", 4, _O),
        _spec("g4_online_banking", 4, _O),
        _spec("g4_estatements", 4, _O),
        _spec("g4_bill_pay", 4, _O),
        _spec("g4_valid_email", 4, _O),
        _spec("g4_enotices", 4, _O),
        _spec("g4_text_banking", 4, _O),
        _spec("g5_payroll_deposit", 5, _O, "min_amount"),
        _spec("g5_ach_deposit", 5, _O, "min_amount"),
        _spec("g5_aft_loan_payment", 5, _O),
        _spec("g5_ach_loan_payment", 5, _O),
        _spec("other_wrong_address", 6, _O),
    )
}
"""The 32 items in their documented order (docs/tier-program.md)."""

ITEM_IDS: tuple[str, ...] = tuple(ITEMS)
