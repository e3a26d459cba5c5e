"""Recorded workflow histories: where they live, their file format, and the replayer.

A history file is the JSON of ``WorkflowHistory.to_json()`` (the same shape the Temporal CLI
and UI download) with a few extra top-level keys, which ``WorkflowHistory.from_json`` ignores::

    {"workflowId": "...", "workflowType": "...", "release": "0.1.0", "scenario": "...",
     "description": "...", "events": [...]}

``workflowId`` is kept because the test server leaves it out of the start event and the
replayer hands it to the workflow as ``workflow.info().workflow_id``. Files sit in
``histories/<release>/<scenario>.json``: one folder per release whose runs may still be open.

The replayer is configured from the real worker (``workers.app.runtime.build_worker``): its
workflow list, its sandbox (``contracts`` passed through) and the data converter of a client
made by ``workers.platform.temporal_client.connect``, so a workflow added to the worker, or a
change to how it decodes payloads, is replayed exactly as production would run it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

HISTORIES = Path(__file__).parent / "histories"
"""``tests/workflow/histories``: one folder per release, one file per scenario."""


@dataclass(frozen=True)
class RecordedHistory:
    """One history file, parsed."""

    path: Path
    workflow_type: str
    history: WorkflowHistory

    @property
    def name(self) -> str:
        """``<release>/<scenario>.json``, as tests and messages name it."""
        return self.path.relative_to(HISTORIES).as_posix()


def history_files(root: Path = HISTORIES) -> list[Path]:
    """Every recorded history under ``root``, in a stable order."""
    return sorted(root.rglob("*.json"))


def load_history(path: Path) -> RecordedHistory:
    """Read a history file written by ``record_histories`` (or a CLI/UI download with the
    ``workflowId`` and ``workflowType`` keys added)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    history = WorkflowHistory.from_json(data["workflowId"], data)
    return RecordedHistory(path=path, workflow_type=data["workflowType"], history=history)


def history_document(
    history: WorkflowHistory, *, workflow_type: str, release: str, scenario: str, description: str
) -> str:
    """The text of a history file (indented one space: diffable, still small)."""
    document: dict[str, Any] = {
        "workflowId": history.workflow_id,
        "workflowType": workflow_type,
        "release": release,
        "scenario": scenario,
        "description": description,
        **history.to_json_dict(),
    }
    return json.dumps(document, indent=1) + "\n"


async def worker_replayer(address: str, namespace: str) -> Replayer:
    """A replayer with the production worker's workflows, sandbox and data converter.

    Args:
        address: A reachable Temporal front end (the test server): ``build_worker`` needs a
            connected client, though the worker is never started.
        namespace: Its namespace.

    Returns:
        The replayer.
    """
    # Imported here: the worker's module pulls in every activity and its dependencies.
    from tests.secrets import keyed_temporal_settings
    from workers.app.runtime import Services, build_worker
    from workers.platform.database import Sessions
    from workers.platform.kafka_client import EventPublisher
    from workers.platform.operations import load_ops_config
    from workers.platform.settings import Settings
    from workers.platform.temporal_client import connect

    # Explicit values, so MEMBERFLOW_* variables in the environment cannot point the client
    # elsewhere or open a metrics port.
    # The test key: recorded histories are plain and pass through the codec's decode, as
    # histories recorded before encryption do in production.
    temporal = keyed_temporal_settings(
        address=address, namespace=namespace, tls=False, api_key=None, metrics_bind=None
    )
    client: Client = await connect(temporal)
    # build_worker only hands the publisher and the session factory to the activities'
    # constructors; nothing runs here, so placeholders stand in for Kafka and PostgreSQL.
    worker = build_worker(
        Services(
            settings=Settings(temporal=temporal),
            ops=load_ops_config(None),
            temporal=client,
            publisher=cast(EventPublisher, None),
            session_factory=cast(Sessions, None),
        )
    )
    config = worker.config()
    return Replayer(
        workflows=config["workflows"],
        workflow_runner=config["workflow_runner"],
        data_converter=client.data_converter,
    )


def workflow_names(replayer: Replayer) -> set[str]:
    """The workflow type names a replayer (so the worker) knows."""
    from temporalio.workflow import _Definition

    return {
        name
        for cls in replayer.config()["workflows"]
        if (name := _Definition.must_from_class(cls).name) is not None
    }
