"""The stored result of scoring one member for one period (pydantic, no I/O).

``workers.tiers.scoring.results`` derives the engine's result columns and the stored row from
the fields of ``MemberTierResult``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from contracts.tiers.period import Period


class MemberTierResult(BaseModel):
    """One member's scoring result for one period (what is stored).

    Its fields are the result columns: the engine's frame and the stored row are derived
    from them (``workers.tiers.scoring.results``).
    """

    model_config = ConfigDict(frozen=True)

    member_id: str
    period: Period
    total: int
    household_total: int | None
    level_code: str
    level_name: str
    previous_level_code: str | None
    atm_service_charge_code: int | None
    points_by_goal: dict[int, int]
    points_by_item: dict[str, int]
    possible_by_goal: dict[int, int]
