"""``memberflow ops`` counts every workflow type the worker runs, by its registered name."""

from __future__ import annotations

import pytest
from temporalio.workflow import _Definition

from workers.app.ops import workflow_types
from workers.app.runtime import worker_workflows

pytestmark = pytest.mark.unit


def test_ops_counts_each_workflow_under_the_name_temporal_knows_it_by() -> None:
    registered = [_Definition.must_from_class(cls).name for cls in worker_workflows()]
    assert workflow_types() == registered
    assert "MassTrackerWorkflow" in registered and "TrackerRetentionWorkflow" in registered
