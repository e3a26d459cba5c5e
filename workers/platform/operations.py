"""Loading the operations configuration file (YAML) into :class:`contracts.config.OpsConfig`."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from contracts.platform.operations import OpsConfig
from workers.platform.yaml_files import load_yaml

DEFAULT_OPS_CONFIG = Path(__file__).resolve().parents[1] / "defaults" / "operations.yaml"


class ConfigError(Exception):
    """The operations configuration file cannot be used; the message names the file and entry."""


def _location(loc: tuple[int | str, ...]) -> str:
    """``("memo_types", 3, "code")`` -> ``memo_types[3].code``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        where = _location(tuple(error["loc"]))
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def load_ops_config(path: Path | None) -> OpsConfig:
    """Read and validate the operations configuration.

    Args:
        path: The YAML file, or None for the shipped default (``workers/defaults/operations.yaml``).

    Returns:
        The validated configuration.

    Raises:
        ConfigError: The file is missing, not YAML, or an entry breaks a rule; the message names
            the file and every bad entry (e.g. ``memo_types[3] (RE): tracker_type ZZ is not a
            configured Tracker type``).
    """
    source = path if path is not None else DEFAULT_OPS_CONFIG
    try:
        raw = load_yaml(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc})") from exc
    except RecursionError:
        raise ConfigError(f"{source}: not valid YAML (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4300 digits)
        raise ConfigError(f"{source}: not valid YAML ({exc})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, not {type(raw).__name__}")
    try:
        return OpsConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from exc
