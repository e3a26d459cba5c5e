"""Sales leads: the outcome vocabulary of a lead (docs/http-api.md, "Sales leads").

A sales lead is an outstanding follow-up on a conversation whose Tracker type is flagged
``sales_display`` in the operations file. The Tracker is the reminder; working the lead records
one outcome, which completes the follow-up and is counted by the cross-sales report. The values
here are the ones the API accepts, the ``follow_ups.outcome`` column holds (migration 0006) and
the report's columns are named after. Pydantic-free constants only: workflows import them.
"""

from __future__ import annotations

from enum import StrEnum


class SalesOutcome(StrEnum):
    """What came of working a sales lead."""

    CONTACTED = "contacted"
    """The member was reached and the product offered; no decision yet."""
    PROCESSED = "processed"
    """The member took the product: the application or order was processed."""
    NOT_INTERESTED = "not_interested"
    """The member declined."""

    @property
    def words(self) -> str:
        """The outcome as a closing note says it ("not interested")."""
        return self.value.replace("_", " ")


def outcome_line(outcome: SalesOutcome) -> str:
    """The line a lead's closing note names its outcome with (codes only, no member data)."""
    return f"Sales lead outcome: {outcome.words}."
