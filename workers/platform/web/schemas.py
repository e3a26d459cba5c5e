"""Request and response bodies of the employee desk API (docs/http-api.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Items(BaseModel):
    """A list answer."""

    items: list[dict[str, Any]]
