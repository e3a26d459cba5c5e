"""Retention bounds per Tracker type, purge criteria and which types a purge may touch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from contracts.platform.operations import OpsConfig, TrackerType
from contracts.trackers.purge import PurgeCriteria, months_before, retention_last_day
from workers.platform.errors import ConflictError, InvalidInputError
from workers.platform.operations import DEFAULT_OPS_CONFIG, ConfigError, load_ops_config
from workers.trackers.purge_selection import purge_types, selection_parameters
from workers.trackers.retention_activities import retention_criteria, retention_rules

pytestmark = pytest.mark.unit

INDEX = {"XX": 0, "AT": 1, "NT": 2, "ST": 3, "MS": 4, "PC": 5}
"""Where each type sits in the shipped operations file."""


def default_data() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_OPS_CONFIG.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def load_with(tmp_path: Path, code: str, retention: object) -> OpsConfig:
    data = default_data()
    data["tracker_types"][INDEX[code]]["retention"] = retention
    path = tmp_path / "ops.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_ops_config(path)


@pytest.mark.parametrize(
    ("code", "retention", "fits"),
    [
        ("XX", 119, False),
        ("XX", 120, True),
        ("XX", "permanent", True),
        ("AT", 59, False),
        ("AT", 60, True),
        ("AT", 84, True),
        ("AT", 85, False),
        ("AT", "permanent", False),
        ("NT", 60, True),
        ("NT", 120, True),
        ("NT", 121, False),
        ("NT", "permanent", False),
        ("ST", 5, False),
        ("ST", 6, True),
        ("ST", 36, True),
        ("ST", 37, False),
        ("MS", 5, False),
        ("MS", 6, True),
        ("MS", 1200, True),
        ("MS", "permanent", True),
    ],
)
def test_retention_within_the_types_bounds(
    tmp_path: Path, code: str, retention: object, fits: bool
) -> None:
    if fits:
        found = load_with(tmp_path, code, retention).tracker_type(code)
        assert found is not None
        assert found.retention_months == (None if retention == "permanent" else retention)
        return
    with pytest.raises(ConfigError) as refused:
        load_with(tmp_path, code, retention)
    message = str(refused.value)
    assert f"tracker_types[{INDEX[code]}] ({code}): retention" in message
    assert f"outside the bounds of Tracker type {code}" in message


def test_the_message_gives_the_bounds(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_with(tmp_path, "NT", 200)
    assert (
        "tracker_types[2] (NT): retention 200 months is outside the bounds of Tracker type NT: "
        "at least 60 months, at most 120 months"
    ) in str(refused.value)


def test_unset_retention_means_the_maximum() -> None:
    def tracker_type(code: str) -> TrackerType:
        return TrackerType(code=code, description="d", short_description="s")

    assert tracker_type("AT").retention_months == 84
    assert tracker_type("NT").retention_months == 120
    assert tracker_type("ST").retention_months == 36
    assert tracker_type("XX").retention_months is None  # permanent
    assert tracker_type("ZZ").retention_months is None


def test_the_shipped_file_and_the_built_in_defaults_fit() -> None:
    for ops in (load_ops_config(None), OpsConfig()):
        months = {t.code: t.retention_months for t in ops.tracker_types}
        assert months == {"XX": None, "AT": 84, "NT": 120, "ST": 36, "MS": None, "PC": None}


# --- criteria ----------------------------------------------------------------------------------


def test_a_purge_needs_a_criterion() -> None:
    with pytest.raises(ValidationError, match="at least one criterion"):
        PurgeCriteria()
    with pytest.raises(ValidationError, match="created_to must not be before"):
        PurgeCriteria(created_from=date(2020, 2, 1), created_to=date(2020, 1, 1))
    assert PurgeCriteria(memo_types=["MS"]).memo_types == ["MS"]


def test_which_types_a_purge_may_touch() -> None:
    ops = OpsConfig()
    assert purge_types(ops, PurgeCriteria(created_to=date(2019, 12, 31))) == ["MS"]
    assert purge_types(ops, PurgeCriteria(memo_types=["FU"])) == ["MS"]
    with pytest.raises(ConflictError, match="Tracker type NT does not allow purging"):
        purge_types(ops, PurgeCriteria(tracker_types=["MS", "NT"]))
    with pytest.raises(ConflictError, match="memo type NT belongs only to Tracker types"):
        purge_types(ops, PurgeCriteria(memo_types=["NT"]))
    with pytest.raises(InvalidInputError, match="Tracker type QQ is not configured"):
        purge_types(ops, PurgeCriteria(tracker_types=["QQ"]))
    with pytest.raises(InvalidInputError, match="memo type QQ is not configured"):
        purge_types(ops, PurgeCriteria(memo_types=["QQ"]))
    with pytest.raises(InvalidInputError, match="not a memo type of the Tracker types named"):
        purge_types(ops, PurgeCriteria(tracker_types=["MS"], memo_types=["PC"]))


def test_days_are_the_credit_unions() -> None:
    ops = OpsConfig()  # America/Detroit
    criteria = PurgeCriteria(created_from=date(2020, 1, 1), created_to=date(2020, 1, 31))
    params = selection_parameters(ops, criteria, ["MS"])
    assert params["from_ts"].astimezone(UTC) == datetime(2020, 1, 1, 5, tzinfo=UTC)
    assert params["to_ts"].astimezone(UTC) == datetime(2020, 2, 1, 5, tzinfo=UTC)  # day included
    assert params["memos"] is None


# --- retention ---------------------------------------------------------------------------------


def test_months_before() -> None:
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 12, 3), 120) == date(2016, 12, 3)
    assert months_before(date(2026, 1, 15), 13) == date(2024, 12, 15)
    assert retention_last_day(date(2026, 12, 1), 36) == date(2023, 11, 30)


def test_the_retention_run_purges_only_types_that_allow_it_with_a_finite_retention() -> None:
    assert retention_rules(OpsConfig()) == []  # MS allows purging but is kept permanently
    types = [
        t.model_copy(update={"retention": 24}) if t.code == "MS" else t
        for t in OpsConfig().tracker_types
    ]
    ops = OpsConfig(tracker_types=types)
    (rule,) = retention_rules(ops)
    assert (rule.tracker_type, rule.retention_months) == ("MS", 24)
    # 03:00 in Detroit on 1 Dec 2026 is 08:00 UTC; the run keeps notes from 1 Dec 2024.
    criteria = retention_criteria(ops, rule, datetime(2026, 12, 1, 8, tzinfo=UTC))
    assert criteria == PurgeCriteria(tracker_types=["MS"], created_to=date(2024, 11, 30))
