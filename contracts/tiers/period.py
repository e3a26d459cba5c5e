"""The scoring month, ``YYYY-MM``, as a validated string type (no I/O).

``Period`` is used by the program file (``level_changes[].effective``), the scoring results
and the level-change event; the bare pattern it checks is ``runs.PERIOD_PATTERN``.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from contracts.tiers.runs import PERIOD_PATTERN


class Period(str):
    """A scoring month as ``YYYY-MM``; a ``str`` that knows its year, month and last day.

    Usable as a pydantic field type (validated, serialised as the plain string).
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Period:
        """Validate ``value`` (``YYYY-MM``, month 01-12).

        Raises:
            ValueError: When the value is not a valid period.
        """
        if not isinstance(value, str) or not PERIOD_PATTERN.match(value):
            raise ValueError(f"period must be YYYY-MM (month 01-12), got {value!r}")
        return super().__new__(cls, value)

    @property
    def year(self) -> int:
        """The year."""
        return int(self[:4])

    @property
    def month(self) -> int:
        """The month, 1-12."""
        return int(self[5:7])

    def last_day(self) -> date:
        """The last day of the month (the extract's end-of-month date)."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validate from a string (or a YAML ``2027-01`` that arrived as text), dump as text."""
        return core_schema.no_info_after_validator_function(
            cls._coerce,
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def _coerce(cls, value: str) -> Period:
        return cls(value)
