"""Cross-sales configuration: Need Groups and Tasks load, are cross-checked, gate sales notes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.platform.operations import OpsConfig
from workers.platform.errors import CrossSalesRequiredError
from workers.platform.operations import DEFAULT_OPS_CONFIG, ConfigError, load_ops_config
from workers.trackers.tracker_store import check_conversation

pytestmark = pytest.mark.unit


def default_data() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_OPS_CONFIG.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def refused(tmp_path: Path, data: object) -> str:
    path = tmp_path / "ops.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_ops_config(path)
    return str(caught.value)


def test_shipped_file_holds_the_built_in_need_groups_and_tasks() -> None:
    from_file = load_ops_config(None)
    assert {g.code for g in from_file.need_groups} >= {"BORROW", "SAVE"}
    cc = next(t for t in from_file.tasks if t.code == "CCAPP")
    assert cc.need_group == "BORROW" and cc.next_suggested_product
    assert from_file.need_groups == OpsConfig().need_groups
    assert from_file.tasks == OpsConfig().tasks


def test_task_of_an_unknown_need_group_is_refused_by_name(tmp_path: Path) -> None:
    data = default_data()
    data["tasks"][2]["need_group"] = "NOPE"
    code = data["tasks"][2]["code"]
    message = refused(tmp_path, data)
    assert f"tasks[2] ({code}): need_group NOPE is not a configured Need Group" in message


@pytest.mark.parametrize("section", ["need_groups", "tasks"])
def test_duplicate_codes_are_refused(tmp_path: Path, section: str) -> None:
    data = default_data()
    data[section].append(dict(data[section][0]))
    index = len(data[section]) - 1
    assert f"{section}[{index}] ({data[section][0]['code']}): duplicate code" in refused(
        tmp_path, data
    )


@pytest.mark.parametrize("bad", ["N" * 17, "borrow", "", "A B"])
def test_codes_fit_the_sixteen_character_columns(tmp_path: Path, bad: str) -> None:
    data = default_data()
    data["need_groups"][0]["code"] = bad
    assert "need_groups[0].code" in refused(tmp_path, data)


def test_sixteen_characters_is_accepted(tmp_path: Path) -> None:
    data = default_data()
    data["need_groups"].append({"code": "N" * 16, "description": "Long"})
    data["tasks"].append({"code": "T" * 16, "description": "Long", "need_group": "N" * 16})
    path = tmp_path / "ops.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_ops_config(path).cross_sales_refusal("N" * 16, "T" * 16) is None


@pytest.mark.parametrize(
    ("need_group", "task", "reason"),
    [
        (None, "CCAPP", "needs a Need Group and a Task"),
        ("BORROW", None, "needs a Need Group and a Task"),
        ("LOANS", "CCAPP", "need group LOANS is not a configured Need Group"),
        ("BORROW", "PIZZA", "task PIZZA is not a configured Task"),
        ("BORROW", "CERT", "task CERT belongs to Need Group SAVE, not BORROW"),
    ],
)
def test_a_sales_note_must_name_a_configured_group_and_its_task(
    need_group: str | None, task: str | None, reason: str
) -> None:
    with pytest.raises(CrossSalesRequiredError, match=reason):
        check_conversation(OpsConfig(), "ST", "SL", need_group, task, "Offered a card.")


def test_configured_pair_passes_and_other_types_need_none() -> None:
    check_conversation(OpsConfig(), "ST", "SL", "BORROW", "CCAPP", "Offered a card.")
    check_conversation(OpsConfig(), "MS", "MS", None, None, "Called the member.")
