"""Event types of the Tiered Service on Kafka (docs/messages.md)."""

from __future__ import annotations

TIER_LEVEL_CHANGED = "cu.tier.level-changed.v1"
