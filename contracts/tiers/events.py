"""Kafka message data (INTERFACES.md §1): inbound requests and outbound notifications."""

from __future__ import annotations

TIER_LEVEL_CHANGED = "cu.tier.level-changed.v1"
