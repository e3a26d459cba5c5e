"""The CloudEvents 1.0 envelope (structured mode, JSON) used on every Kafka topic."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
JSON_CONTENT_TYPE = "application/json"


class CloudEvent(BaseModel):
    """A CloudEvent whose ``data`` is still an untyped JSON object.

    Unknown extra attributes are ignored, not rejected (docs/messages.md, 'Envelope').
    """

    model_config = ConfigDict(extra="ignore")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: AwareDatetime
    datacontenttype: Literal["application/json"]
    subject: str | None = None
    data: dict[str, Any]


def new_event(
    *,
    event_id: str,
    source: str,
    event_type: str,
    time: datetime,
    data: BaseModel,
    subject: str | None = None,
) -> CloudEvent:
    """Wrap a data model in an envelope (the caller supplies id and time for determinism)."""
    return CloudEvent(
        specversion=SPEC_VERSION,
        id=event_id,
        source=source,
        type=event_type,
        time=time,
        datacontenttype=JSON_CONTENT_TYPE,
        subject=subject,
        data=data.model_dump(mode="json"),
    )
