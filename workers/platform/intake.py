"""Turning raw Kafka record values into validated commands, or a reason to dead-letter them.

Pure functions: everything the bridge decides about a record's validity is here and unit-tested.
Whatever parsing raises is a property of the bytes, so it becomes ``Rejected`` (a dead letter):
reading the record again could never help."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from contracts.platform.events import CloudEvent

DataT = TypeVar("DataT", bound=BaseModel)


class Rejected(Exception):
    """A record that can never be processed; ``reason`` goes to the ``x-error`` header."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Accepted(Generic[DataT]):
    """A record that parsed: its envelope and typed data."""

    event: CloudEvent
    data: DataT


def _describe(error: ValidationError, prefix: str) -> str:
    # Field locations and messages only: the offending values may be personal data.
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{prefix}{where}: {item['msg']}")
    return "; ".join(parts)


@contextmanager
def _parser_errors_rejected() -> Iterator[None]:
    """Turn anything the JSON or pydantic parsers raise into ``Rejected``.

    The reason names the error's type only: its message may quote the value.
    """
    try:
        yield
    except Rejected:
        raise
    except RecursionError:
        raise Rejected("value is nested too deeply to parse") from None
    except Exception as exc:
        raise Rejected(f"value could not be parsed ({type(exc).__name__})") from None


def _load_json(value: bytes) -> object:
    try:
        return json.loads(value.decode("utf-8"))
    except UnicodeDecodeError:
        raise Rejected("value is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise Rejected(
            f"value is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError:
        # Not a syntax error: Python refuses integer strings over its conversion limit.
        limit = sys.get_int_max_str_digits()
        raise Rejected(f"value is not usable JSON: a number has more digits than {limit}") from None


def parse_envelope(value: bytes | None) -> CloudEvent:
    """Decode a structured-mode CloudEvent.

    Raises:
        Rejected: not UTF-8 JSON, not an object, not a valid CloudEvent, or anything else the
            parsers raise on (nesting too deep, a number too long).
    """
    if value is None:
        raise Rejected("empty record value (tombstone)")
    with _parser_errors_rejected():
        raw = _load_json(value)
        if not isinstance(raw, dict):
            raise Rejected("value is JSON but not an object (a CloudEvent is a JSON object)")
        try:
            return CloudEvent.model_validate(raw)
        except ValidationError as exc:
            raise Rejected(f"not a CloudEvent 1.0: {_describe(exc, '')}") from None


def parse_typed(value: bytes | None, event_type: str, model: type[DataT]) -> Accepted[DataT]:
    """Decode an envelope of an expected type and validate its data.

    Raises:
        Rejected: on any parse, type or validation failure.
    """
    event = parse_envelope(value)
    if event.type != event_type:
        raise Rejected(f"unknown event type {event.type!r} on this topic (expected {event_type!r})")
    with _parser_errors_rejected():
        try:
            data = model.model_validate(event.data)
        except ValidationError as exc:
            raise Rejected(f"invalid {event_type} data: {_describe(exc, 'data.')}") from None
    return Accepted(event=event, data=data)
