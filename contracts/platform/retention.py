"""Retention of Tracker conversations per Tracker type: the bounds an operations file must keep.

Tool #277: Collections (``XX``) at least 10 years, up to permanent; ``AT`` 5 to 7 years; ``NT``
5 to 10 years; ``ST`` 6 months to 3 years; every other type 6 months to permanent. A type whose
retention is not configured keeps its conversations for the maximum. Pure, no I/O.
"""

from __future__ import annotations

from typing import Literal

Retention = int | Literal["permanent"]
"""Months, or ``"permanent"``."""

RETENTION_BOUNDS: dict[str, tuple[int, Retention]] = {
    "XX": (120, "permanent"),
    "AT": (60, 84),
    "NT": (60, 120),
    "ST": (6, 36),
}
"""Minimum and maximum retention in months of the system Tracker types (Tool #277)."""

OTHER_RETENTION_BOUNDS: tuple[int, Retention] = (6, "permanent")
"""Minimum and maximum retention of every other Tracker type."""


def retention_bounds(code: str) -> tuple[int, Retention]:
    """The (minimum, maximum) retention a Tracker type may be configured with."""
    return RETENTION_BOUNDS.get(code, OTHER_RETENTION_BOUNDS)


def _months(value: Retention) -> str:
    return "permanent" if value == "permanent" else f"{value} months"


def retention_problem(code: str, retention: Retention | None) -> str | None:
    """Why ``retention`` is outside the bounds of type ``code``, or None when it fits."""
    if retention is None:
        return None
    low, high = retention_bounds(code)
    too_short = retention != "permanent" and retention < low
    too_long = high != "permanent" and (retention == "permanent" or retention > high)
    if too_short or too_long:
        return (
            f"retention {_months(retention)} is outside the bounds of Tracker type {code}: "
            f"at least {_months(low)}, at most {_months(high)}"
        )
    return None
