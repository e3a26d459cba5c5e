"""The credit union's local calendar: what "today" and "overdue" mean for its staff."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from contracts.platform.operations import DEFAULT_TIME_ZONE, OpsConfig


def local_today(ops: OpsConfig | None = None, now: datetime | None = None) -> date:
    """Today's date in the credit union's time zone."""
    zone = ZoneInfo(ops.time_zone if ops is not None else DEFAULT_TIME_ZONE)
    return (now or datetime.now(zone)).astimezone(zone).date()


def today_utc(today: date | None) -> date:
    """``today`` or the current UTC date."""
    return today if today is not None else datetime.now(UTC).date()
