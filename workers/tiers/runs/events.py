"""The ``cu.tier.level-changed.v1`` CloudEvents of a run, built columnar for Kafka.

A million first-scoring events are encoded without a Python object per member; the JSON
equals what ``contracts.platform.events.new_event`` with ``TierLevelChanged`` data serialises
to (a test holds the two together). Message format: docs/messages.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from contracts.tiers.events import TIER_LEVEL_CHANGED

SOURCE = "/memberflow/tiers"
"""The CloudEvents ``source`` of tier events."""


def event_id_prefix(period: str) -> str:
    """A member's level-change event id is this prefix + the member id.

    Deterministic, so consumers recognise an event sent again after a retry.
    """
    return f"tier-level-{period}-"


def level_change_values(period: str, frame: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """``key, value`` per changed member: the structured-mode CloudEvent JSON, built columnar.

    Args:
        period: The scored period.
        frame: ``member_id, total, level_code, level_name, previous_level_code``.
        now: The event time (UTC).

    Returns:
        Frame of ``key`` (member id) and ``value`` (JSON text).
    """
    stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    data = pl.struct(
        pl.col("member_id"),
        pl.lit(period).alias("period"),
        pl.col("total").alias("points"),
        pl.col("level_code"),
        pl.col("level_name"),
        pl.col("previous_level_code"),
    ).struct.json_encode()
    # member ids are 1-12 digits: safe inside JSON strings as they are.
    value = pl.concat_str(
        pl.lit(f'{{"specversion":"1.0","id":"{event_id_prefix(period)}'),
        pl.col("member_id"),
        pl.lit(
            f'","source":"{SOURCE}","type":"{TIER_LEVEL_CHANGED}","time":"{stamp}",'
            '"datacontenttype":"application/json","subject":"'
        ),
        pl.col("member_id"),
        pl.lit('","data":'),
        data,
        pl.lit("}"),
    )
    return frame.select(pl.col("member_id").alias("key"), value.alias("value"))
