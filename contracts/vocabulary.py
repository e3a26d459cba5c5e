"""Kafka message data (INTERFACES.md §1): inbound requests and outbound notifications."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

BusinessKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


MemberId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}$")]


EmployeeId = Annotated[str, StringConstraints(min_length=1, max_length=16, strip_whitespace=True)]


Code2 = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")]
