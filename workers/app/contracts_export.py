"""``memberflow contracts export``: JSON Schema of every message and configuration contract."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from contracts.assignments.messages import FollowUpAssigned
from contracts.contacts.messages import ContactSubmitted, MemberMessage
from contracts.platform.events import CloudEvent
from contracts.platform.operations import OpsConfig
from contracts.tiers.events import TierLevelChanged
from contracts.tiers.program import TierProgram
from contracts.trackers.messages import EmployeeNotification

CONTRACTS: dict[str, type[BaseModel]] = {
    "cloudevent": CloudEvent,
    "cu.contact.submitted.v1": ContactSubmitted,
    "cu.followup.assigned.v1": FollowUpAssigned,
    "cu.member.message.v1": MemberMessage,
    "cu.employee.followup.v1": EmployeeNotification,
    "cu.tier.level-changed.v1": TierLevelChanged,
    "operations-config": OpsConfig,
    "tier-program": TierProgram,
}


def export_schemas(folder: Path) -> list[Path]:
    """Write one ``<name>.schema.json`` per contract into ``folder``; return the files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in CONTRACTS.items():
        path = folder / f"{name}.schema.json"
        schema = model.model_json_schema(mode="validation")
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
