"""Kafka message data (docs/messages.md): inbound requests and outbound notifications."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.vocabulary import (
    BusinessKey,
    EventTime,
    MemberId,
    MessageText,
    ShortCode16,
    SubjectLine,
)

CONTACT_SUBMITTED = "cu.contact.submitted.v1"


MEMBER_MESSAGE = "cu.member.message.v1"


_NANP = re.compile(r"^[2-9][0-9]{2}[2-9][0-9]{6}$")


_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


def _valid_phone(value: str) -> str:
    if _NANP.match(value) or _E164.match(value):
        return value
    raise ValueError(
        "callback_phone must be a 10-digit NANP number or E.164 (+ and up to 15 digits)"
    )


class ContactSubmitted(BaseModel):
    """``cu.contact.submitted.v1``: a member pressed Contact Us.

    The Kafka contract of a new request, versioned with its topic; the workflow carries it as
    its start input. Every field fits its ``contact_requests`` column (lengths, no NUL, a
    sensible date), so a record the bridge accepts is one the store can hold. ``message`` and
    ``callback_phone`` are personal data: excluded from reprs so they never reach a log line by
    accident.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    request_id: BusinessKey
    member_id: MemberId
    channel: Literal["online", "mobile"]
    subject: SubjectLine
    message: MessageText = Field(repr=False)
    department: ShortCode16 | None = None
    callback_phone: str | None = Field(default=None, repr=False)
    callback_method: Literal["call", "text"] | None = None
    in_reply_to: BusinessKey | None = None
    submitted_at: EventTime

    @model_validator(mode="after")
    def _phone_rules(self) -> ContactSubmitted:
        if self.callback_phone is not None:
            _valid_phone(self.callback_phone)
            if self.callback_method is None:
                self.callback_method = "call"
        return self


class MemberMessage(BaseModel):
    """``cu.member.message.v1``: a reply for the member's secure message centre.

    The reply text is personal data: excluded from reprs.
    """

    message_id: str
    member_id: str
    request_id: str
    subject: str
    body: str = Field(repr=False)
    sent_by_employee_id: str
    sent_at: datetime
