"""The operations configuration file: the default loads, each broken rule is refused by name."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.platform.operations import MemoType, OpsConfig
from workers.platform.operations import DEFAULT_OPS_CONFIG, ConfigError, load_ops_config

pytestmark = pytest.mark.unit


def default_data() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_OPS_CONFIG.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "ops.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def refused(tmp_path: Path, data: object) -> str:
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_ops_config(path)
    message = str(caught.value)
    assert str(path) in message, "the message names the file"
    return message


def test_shipped_default_loads() -> None:
    ops = load_ops_config(None)
    assert [d.code for d in ops.departments] == ["LOANS", "DEPOSITS", "CARDS", "GENERAL"]
    assert {t.code for t in ops.tracker_types} == {"XX", "AT", "NT", "ST", "MS", "PC"}
    assert {t.code for t in ops.tracker_types if t.single_per_member} >= {"XX", "AT", "NT", "ST"}
    assert ops.memo_type("PC", "PC") is not None and ops.memo_type("PC", "RE") is not None
    assert ops.memo_type("AT", "CW") is not None and ops.memo_type("XX", "PP") is not None
    assert ops.memo_type("MS", "PC") is None
    assert ops.private_contacts.claim_timeout == timedelta(minutes=30)
    assert ops.private_contacts.tracker_type == "PC"
    sarah, john, maria = ops.employee("SR"), ops.employee("JD"), ops.employee("MG")
    assert sarah is not None and sarah.supervisor_id == "MG" and sarah.role == "employee"
    assert john is not None and john.supervisor_id == "MG"
    assert maria is not None and maria.role == "supervisor"
    tracker_type = ops.tracker_type("ST")
    assert tracker_type is not None and tracker_type.cross_sales_required
    assert ops.is_single_per_member("PC") and not ops.is_single_per_member("MS")


def test_shipped_file_matches_code_defaults_where_they_overlap() -> None:
    # The model's own defaults (used for an empty file) agree with the shipped file.
    from_file = load_ops_config(None)
    built_in = OpsConfig()
    assert built_in.tracker_types == from_file.tracker_types
    assert built_in.memo_types == from_file.memo_types
    assert built_in.private_contacts == from_file.private_contacts


def test_empty_file_gives_built_in_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_ops_config(path) == OpsConfig()


def test_memo_type_of_unknown_tracker_type(tmp_path: Path) -> None:
    data = default_data()
    data["memo_types"][3]["tracker_type"] = "ZZ"
    code = data["memo_types"][3]["code"]
    message = refused(tmp_path, data)
    assert f"memo_types[3] ({code}): tracker_type ZZ is not a configured Tracker type" in message


def test_unknown_supervisor(tmp_path: Path) -> None:
    data = default_data()
    data["employees"][2]["supervisor_id"] = "XX"
    message = refused(tmp_path, data)
    assert "employees[2] (JD): supervisor XX unknown" in message


def test_self_supervision(tmp_path: Path) -> None:
    data = default_data()
    data["employees"][1]["supervisor_id"] = "SR"
    assert "employees[1] (SR): cannot supervise themself" in refused(tmp_path, data)


@pytest.mark.parametrize("section", ["departments", "tracker_types", "employees", "memo_types"])
def test_duplicate_codes(tmp_path: Path, section: str) -> None:
    data = default_data()
    data[section].append(dict(data[section][0]))
    index = len(data[section]) - 1
    code = data[section][0].get("code") or data[section][0]["id"]
    assert f"{section}[{index}] ({code}): duplicate code" in refused(tmp_path, data)


def test_same_memo_code_under_two_types_is_allowed(tmp_path: Path) -> None:
    data = default_data()
    data["memo_types"].append({"code": "PC", "description": "Another", "tracker_type": "MS"})
    ops = load_ops_config(write(tmp_path, data))
    # Each lookup finds the memo type under its own Tracker type, not the other one.
    another = MemoType(code="PC", description="Another", tracker_type="MS")
    assert ops.memo_type("MS", "PC") == another
    assert ops.memo_type("PC", "PC") == MemoType(
        code="PC", description="Private Contact request and reply", tracker_type="PC"
    )


def test_private_contacts_tracker_type_must_exist(tmp_path: Path) -> None:
    data = default_data()
    data["private_contacts"]["tracker_type"] = "QQ"
    message = refused(tmp_path, data)
    assert "private_contacts: tracker_type QQ is not a configured Tracker type" in message


def test_private_contacts_memo_type_must_belong_to_its_tracker_type(tmp_path: Path) -> None:
    data = default_data()
    data["private_contacts"]["memo_type"] = "CW"  # exists, but under AT
    message = refused(tmp_path, data)
    assert "private_contacts: memo_type CW is not a memo type of Tracker type PC" in message


def test_department_default_assignee_must_be_an_employee(tmp_path: Path) -> None:
    data = default_data()
    data["departments"][1]["default_assignee"] = "ZZ"
    message = refused(tmp_path, data)
    assert "departments[1] (DEPOSITS): default_assignee ZZ is not a configured employee" in message


def test_field_errors_name_the_entry(tmp_path: Path) -> None:
    data = default_data()
    data["tracker_types"][4]["code"] = "TOO-LONG"
    assert "tracker_types[4].code" in refused(tmp_path, data)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    data = default_data()
    data["tracker_types"][0]["single_per_membr"] = True
    assert "tracker_types[0].single_per_membr" in refused(tmp_path, data)


@pytest.mark.parametrize("bad", [0, -5, "forever"])
def test_retention_months_or_permanent(tmp_path: Path, bad: object) -> None:
    data = default_data()
    data["tracker_types"][2]["retention"] = bad
    assert "tracker_types[2].retention" in refused(tmp_path, data)


def test_bad_role(tmp_path: Path) -> None:
    data = default_data()
    data["employees"][0]["role"] = "owner"
    assert "employees[0].role" in refused(tmp_path, data)


def test_unknown_department_of_an_employee(tmp_path: Path) -> None:
    data = default_data()
    data["employees"][1]["departments"] = ["LOANS", "MORTGAGE"]
    assert "employees[1] (SR): department MORTGAGE is not a configured department" in refused(
        tmp_path, data
    )


def test_employees_departments_are_read(tmp_path: Path) -> None:
    ops = load_ops_config(write(tmp_path, default_data()))
    sarah, operator = ops.employee("SR"), ops.employee("OP")
    assert sarah is not None and sarah.departments == ["LOANS", "GENERAL"]
    assert operator is not None and operator.role == "operator" and operator.departments == []


@pytest.mark.parametrize(
    ("written", "expected"),
    [("45m", timedelta(minutes=45)), ("2h", timedelta(hours=2)), (90, timedelta(seconds=90))],
)
def test_claim_timeout_forms(tmp_path: Path, written: object, expected: timedelta) -> None:
    data = default_data()
    data["private_contacts"]["claim_timeout"] = written
    assert load_ops_config(write(tmp_path, data)).private_contacts.claim_timeout == expected


def test_non_positive_claim_timeout(tmp_path: Path) -> None:
    data = default_data()
    data["private_contacts"]["claim_timeout"] = 0
    assert "claim_timeout must be positive" in refused(tmp_path, data)


def test_several_problems_reported_together(tmp_path: Path) -> None:
    data = default_data()
    data["memo_types"][0]["tracker_type"] = "ZZ"
    data["employees"][1]["supervisor_id"] = "NOPE"
    message = refused(tmp_path, data)
    assert "memo_types[0]" in message and "employees[1] (SR)" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match=r"absent\.yaml: cannot read"):
        load_ops_config(path)


def test_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("departments: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_ops_config(path)


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    assert "top level must be a mapping" in refused(tmp_path, ["a", "b"])
