"""Events of the Tiered Service on Kafka: type names and payloads (docs/messages.md; no I/O)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from contracts.tiers.period import Period
from contracts.vocabulary import Code3, MemberId

TIER_LEVEL_CHANGED = "cu.tier.level-changed.v1"


class TierLevelChanged(BaseModel):
    """``cu.tier.level-changed.v1`` data (docs/messages.md, topic ``tier-levels.v1``)."""

    model_config = ConfigDict(extra="ignore")

    member_id: MemberId
    period: Period
    points: int
    level_code: Code3
    level_name: str
    previous_level_code: Code3 | None
