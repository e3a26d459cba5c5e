"""The credit union's local calendar: what "today" and "overdue" mean for its staff.

This is the one definition: a follow-up is overdue when it is outstanding and its due date is
before today's date in the credit union's time zone (``OpsConfig.time_zone``), never the UTC
date. Store functions take that ``today`` as a required argument, so every caller has to say
which day it means.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from contracts.platform.operations import OpsConfig

Clock = Callable[[], datetime]
"""Where "now" comes from: the system clock in production, a fixed moment in tests."""


def system_clock() -> datetime:
    """The current time (aware, UTC)."""
    return datetime.now(UTC)


def local_today(ops: OpsConfig, now: datetime | None = None) -> date:
    """The date in the credit union's time zone at ``now`` (default: the current time)."""
    return (now or system_clock()).astimezone(ZoneInfo(ops.time_zone)).date()
