"""The exported JSON Schemas describe the contract as written in docs/messages.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.app.contracts_export import export_schemas

pytestmark = pytest.mark.unit


def test_every_contract_is_exported_with_its_fields(tmp_path: Path) -> None:
    files = {p.name: json.loads(p.read_text()) for p in export_schemas(tmp_path)}
    contact = files["cu.contact.submitted.v1.schema.json"]
    assert set(contact["required"]) == {
        "request_id",
        "member_id",
        "channel",
        "subject",
        "message",
        "submitted_at",
    }
    assert contact["properties"]["member_id"]["pattern"] == "^[0-9]{1,12}$"
    envelope = files["cloudevent.schema.json"]
    assert {"specversion", "id", "source", "type", "time", "datacontenttype", "data"} <= set(
        envelope["required"]
    )
    assert "tier-program.schema.json" in files
    assert "operations-config.schema.json" in files
