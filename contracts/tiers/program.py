"""The Tiered Service program file (the YAML the credit union edits), as pydantic models.

Pydantic models only, no I/O: ``workers.tiers.scoring.program`` reads the YAML file, the
engine and the reference scorer read these models. Every rule of the program format
(docs/tier-program.md) is checked here, with a message that names the item or the level it is
about. The items a program may configure are in ``contracts.tiers.items``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts.tiers.items import GOALS, ITEM_IDS, ITEMS
from contracts.tiers.period import Period
from contracts.vocabulary import Code3

_FORBID = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)
_CENT = Decimal("0.01")


def _whole_cents(value: Decimal, what: str) -> Decimal:
    if not value.is_finite() or value != value.quantize(_CENT):
        raise ValueError(f"{what} must be a number with at most 2 decimals, got {value}")
    return value


class BasicLevel(BaseModel):
    """The level below A's ``from`` (``Basic Service``)."""

    model_config = _FORBID

    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    code: Code3
    atm_service_charge_code: StrictInt | None = None


class Level(BasicLevel):
    """Level A, B or C: a point range (``to`` null only on C = no upper bound)."""

    from_: StrictInt = Field(alias="from")
    to: StrictInt | None = None


class LevelSet(BaseModel):
    """The four levels in force for a period; ranges contiguous: A < B < C."""

    model_config = _FORBID

    basic: BasicLevel
    A: Level
    B: Level
    C: Level

    @model_validator(mode="after")
    def _contiguous(self) -> LevelSet:
        a, b, c = self.A, self.B, self.C
        if a.to is None:
            raise ValueError("level A: to is required")
        if a.from_ > a.to:
            raise ValueError(f"level A: from ({a.from_}) must be <= to ({a.to})")
        if b.to is None:
            raise ValueError("level B: to is required")
        if b.from_ != a.to + 1:
            raise ValueError(f"level B: from must be A.to + 1 ({a.to + 1}), got {b.from_}")
        if b.from_ > b.to:
            raise ValueError(f"level B: from ({b.from_}) must be <= to ({b.to})")
        if c.from_ != b.to + 1:
            raise ValueError(f"level C: from must be B.to + 1 ({b.to + 1}), got {c.from_}")
        if c.to is not None and c.to < c.from_:
            raise ValueError(f"level C: to ({c.to}) must be null or >= from ({c.from_})")
        codes = [self.basic.code, a.code, b.code, c.code]
        if len(set(codes)) != 4:
            raise ValueError(f"levels: codes must differ, got {codes}")
        return self

    def level_for(self, points: int) -> BasicLevel:
        """The level whose range contains ``points`` (above C.to is C; below A.from is basic)."""
        if points >= self.C.from_:
            return self.C
        if points >= self.B.from_:
            return self.B
        if points >= self.A.from_:
            return self.A
        return self.basic


class LevelChange(BaseModel):
    """A scheduled change of the level ranges, in force from ``effective`` on."""

    model_config = _FORBID

    effective: Period
    levels: LevelSet

    @field_validator("effective", mode="before")
    @classmethod
    def _yaml_text(cls, value: Any) -> Any:
        # YAML reads `2027-01` as text, but a quoted date or an int-like slip should say why.
        if isinstance(value, date):
            raise ValueError("effective must be YYYY-MM (a month, not a date)")
        return value


class Range(BaseModel):
    """One range of a range item; bounds inclusive, ``to`` null = no upper bound (last only)."""

    model_config = _FORBID

    from_: Decimal = Field(alias="from")
    to: Decimal | None
    points: StrictInt


class ItemSettings(BaseModel):
    """The settings of one item; which ones apply depends on the item (``ITEMS``)."""

    model_config = _FORBID

    points: StrictInt | None = None
    points_per_year: StrictInt | None = None
    after_years: StrictInt | None = None
    ranges: list[Range] | None = None
    select: list[str] | None = None
    exclude: list[str] | None = None
    min_months: StrictInt | None = None
    min_amount: Decimal | None = None

    def occurrence_max(self) -> int:
        """The most one occurrence can give (``P``, ``points_per_year`` or best range)."""
        if self.ranges is not None:
            return max(r.points for r in self.ranges)
        if self.points_per_year is not None:
            return self.points_per_year
        return self.points or 0

    @property
    def p(self) -> int:
        """``points`` (0 when not set)."""
        return self.points or 0

    @property
    def select_set(self) -> frozenset[str]:
        """``select`` as a set (empty when not set)."""
        return frozenset(self.select or ())

    @property
    def exclude_set(self) -> frozenset[str]:
        """``exclude`` as a set (empty when not set)."""
        return frozenset(self.exclude or ())

    @property
    def min_months_or_default(self) -> int:
        """``min_months`` (default 1: any delinquency)."""
        return 1 if self.min_months is None else self.min_months

    @property
    def min_amount_or_default(self) -> Decimal:
        """``min_amount`` (default 0: any amount above zero)."""
        return Decimal(0) if self.min_amount is None else self.min_amount

    @property
    def after_years_or_default(self) -> int:
        """``after_years`` (default 0)."""
        return 0 if self.after_years is None else self.after_years


def _check_item(item_id: str, settings: ItemSettings) -> None:
    """Refuse an unknown item or settings that do not fit it (message names the item)."""
    spec = ITEMS.get(item_id)
    if spec is None:
        raise ValueError(f"item {item_id}: unknown item id (known: {', '.join(ITEM_IDS)})")
    given = {name for name, value in settings if value is not None}
    missing = sorted(spec.required - given)
    if missing:
        raise ValueError(f"item {item_id}: {', '.join(missing)} required for a {spec.kind} item")
    extra = sorted(given - spec.allowed)
    if extra:
        raise ValueError(f"item {item_id}: {', '.join(extra)} does not apply to this item")
    if settings.select is not None and not settings.select:
        raise ValueError(f"item {item_id}: select must not be empty")
    for name in ("select", "exclude"):
        values = getattr(settings, name) or []
        if any(not v for v in values):
            raise ValueError(f"item {item_id}: {name} holds an empty value")
    if settings.after_years is not None and settings.after_years < 0:
        raise ValueError(f"item {item_id}: after_years must be >= 0")
    if settings.min_months is not None and settings.min_months < 1:
        raise ValueError(f"item {item_id}: min_months must be >= 1")
    if settings.min_amount is not None:
        _whole_cents(settings.min_amount, f"item {item_id}: min_amount")
        if settings.min_amount < 0:
            raise ValueError(f"item {item_id}: min_amount must be >= 0")
    if settings.ranges is not None:
        _check_ranges(item_id, settings.ranges)


def _check_ranges(item_id: str, ranges: list[Range]) -> None:
    if not 1 <= len(ranges) <= 5:
        raise ValueError(f"item {item_id}: 1 to 5 ranges allowed, got {len(ranges)}")
    for number, current in enumerate(ranges, start=1):
        where = f"item {item_id}: range {number}"
        _whole_cents(current.from_, f"{where} from")
        if current.to is not None:
            _whole_cents(current.to, f"{where} to")
            if current.from_ > current.to:
                raise ValueError(f"{where}: from ({current.from_}) must be <= to ({current.to})")
        elif number != len(ranges):
            raise ValueError(f"{where}: only the last range may leave to empty")
        if number > 1:
            before = ranges[number - 2]
            if current.from_ <= before.from_:
                raise ValueError(f"{where}: ranges must be ascending (from {current.from_})")
            assert before.to is not None  # only the last may be open, checked above
            if current.from_ <= before.to:
                raise ValueError(
                    f"{where}: ranges overlap ({before.from_}..{before.to} and "
                    f"{current.from_}..{current.to})"
                )


class TierProgram(BaseModel):
    """The credit union's Tiered Service program (the YAML program file)."""

    model_config = _FORBID

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    time_zone: str = "America/Detroit"
    household_scoring: bool = False
    debit_include_pin: bool = True
    levels: LevelSet
    level_changes: list[LevelChange] = Field(default_factory=list)
    items: dict[str, ItemSettings] = Field(default_factory=dict)

    @field_validator("time_zone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"time_zone: unknown IANA time zone {value!r}") from err
        return value

    @model_validator(mode="after")
    def _rules(self) -> TierProgram:
        for item_id, settings in self.items.items():
            _check_item(item_id, settings)
        seen: set[str] = set()
        for change in self.level_changes:
            if change.effective in seen:
                raise ValueError(f"level_changes: effective {change.effective} given twice")
            seen.add(change.effective)
        return self

    def item(self, item_id: str) -> ItemSettings | None:
        """The settings of ``item_id``, or None when the program leaves it out."""
        return self.items.get(item_id)

    def configured_items(self) -> list[str]:
        """Configured item ids in registry order (the order results list them)."""
        return [item_id for item_id in ITEM_IDS if item_id in self.items]

    def levels_for(self, period: str) -> LevelSet:
        """The level set in force for ``period``: the latest change with effective <= period."""
        chosen, effective = self.levels, ""
        for change in self.level_changes:
            # YYYY-MM strings order like the months they name.
            if effective < change.effective <= period:
                chosen, effective = change.levels, change.effective
        return chosen

    def possible_by_goal(self) -> dict[int, int]:
        """Possible points per goal (1-6): sum of max(0, best one occurrence) of its items."""
        possible = dict.fromkeys(GOALS, 0)
        for item_id, settings in self.items.items():
            possible[ITEMS[item_id].goal] += max(0, settings.occurrence_max())
        return possible
