"""The monthly Temporal Schedule of Tracker retention: off unless the setting enables it.

``MEMBERFLOW_TRACKER_RETENTION_SCHEDULE=true`` makes the worker create (or update) the Schedule
``tracker-retention-monthly``: 03:00 on the 1st of each month in the credit union's time zone,
starting ``TrackerRetentionWorkflow``. Left off (the default), the worker removes a Schedule an
earlier start created, so turning the setting off takes effect at the next worker start.
"""

from __future__ import annotations

from temporalio.client import Client, Schedule, ScheduleActionStartWorkflow
from temporalio.service import RPCError, RPCStatusCode

from contracts.ids import TRACKER_RETENTION_SCHEDULE_ID, TRACKER_RETENTION_WORKFLOW_ID
from contracts.trackers.purge import RetentionPurgeInput
from workers.platform.monthly_schedules import create_or_update, first_of_month_schedule
from workflows.trackers.retention import TrackerRetentionWorkflow


def retention_schedule(task_queue: str, time_zone: str) -> Schedule:
    """The Schedule: 03:00 on the 1st of each month in ``time_zone`` (after the tier run)."""
    # After the tier run (02:00). Retention only moves forward, so a skipped firing's
    # deletions are covered by the next one.
    return first_of_month_schedule(
        ScheduleActionStartWorkflow(
            TrackerRetentionWorkflow.run,
            RetentionPurgeInput(),
            id=TRACKER_RETENTION_WORKFLOW_ID,
            task_queue=task_queue,
        ),
        hour=3,
        time_zone=time_zone,
        note="monthly purge of Tracker conversations past their retention",
    )


async def ensure_retention_schedule(
    client: Client,
    task_queue: str,
    time_zone: str,
    *,
    enabled: bool,
    schedule_id: str = TRACKER_RETENTION_SCHEDULE_ID,
) -> bool:
    """Create or update the Schedule when ``enabled``; otherwise remove it if it exists.

    Args:
        client: A Temporal client.
        task_queue: The worker's task queue.
        time_zone: The credit union's IANA time zone (``OpsConfig.time_zone``).
        enabled: The ``tracker_retention_schedule`` setting.
        schedule_id: The Schedule's id (tests use their own).

    Returns:
        Whether the Schedule now exists.
    """
    handle = client.get_schedule_handle(schedule_id)
    if not enabled:
        try:
            await handle.delete()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        return False
    await create_or_update(client, schedule_id, retention_schedule(task_queue, time_zone))
    return True
