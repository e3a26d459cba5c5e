"""Load and validate the tier program file (YAML; format in docs/tier-program.md)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from contracts.tiers.program import TierProgram
from workers.platform.yaml_files import load_yaml

DEFAULT_PROGRAM_PATH = Path(__file__).resolve().parents[2] / "defaults" / "tier_program.yaml"
"""The program shipped with memberflow (used when ``MEMBERFLOW_TIER_PROGRAM`` is not set)."""


class ProgramError(ValueError):
    """The program file cannot be used; the message names the file and the item or level."""


def _where(loc: tuple[int | str, ...]) -> str:
    """``items.g1_credit_score.ranges.0.points`` -> ``item g1_credit_score: ranges.0.points``."""
    parts = [str(p) for p in loc]
    if len(parts) >= 2 and parts[0] == "items":
        rest = ".".join(parts[2:])
        return f"item {parts[1]}" + (f": {rest}" if rest else "")
    if len(parts) >= 2 and parts[0] == "levels":
        rest = ".".join(parts[2:])
        return f"level {parts[1]}" + (f": {rest}" if rest else "")
    return ".".join(parts)


def _message(err: ValidationError) -> str:
    lines = []
    for detail in err.errors(include_url=False, include_input=False):
        text = str(detail["msg"]).removeprefix("Value error, ")
        where = _where(tuple(detail["loc"]))
        # Our own checks already start with "item ..." / "level ..."; don't say it twice.
        lines.append(
            text if not where or text.startswith(("item ", "level ")) else f"{where}: {text}"
        )
    return "; ".join(lines)


def parse_program(text: str, source: str = "<program>") -> TierProgram:
    """Parse and validate a program from YAML text.

    Args:
        text: The YAML document.
        source: Name used in error messages (usually the file path).

    Returns:
        The validated program.

    Raises:
        ProgramError: Not YAML, not a mapping, or a rule of the program format broken.
    """
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as err:
        raise ProgramError(f"{source}: not valid YAML: {err}") from err
    except RecursionError:
        raise ProgramError(f"{source}: not valid YAML: nested too deeply") from None
    except ValueError as err:  # e.g. an integer longer than Python converts (4300 digits)
        raise ProgramError(f"{source}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ProgramError(f"{source}: the program must be a YAML mapping")
    try:
        return TierProgram.model_validate(raw)
    except ValidationError as err:
        raise ProgramError(f"{source}: {_message(err)}") from err


def load_program(path: str | Path) -> TierProgram:
    """Load and validate a program file.

    Args:
        path: The YAML file.

    Returns:
        The validated program.

    Raises:
        FileNotFoundError: The file does not exist.
        ProgramError: The file breaks a rule; the message names the file and item or level.
    """
    file = Path(path)
    return parse_program(file.read_text(encoding="utf-8"), source=str(file))


def load_default_program() -> TierProgram:
    """The program shipped with memberflow."""
    return load_program(DEFAULT_PROGRAM_PATH)
