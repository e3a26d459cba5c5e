"""Monthly Temporal Schedules: the one shape both monthly jobs (tier scoring, Tracker retention)
share, and the idempotent create-or-update the worker runs at each start."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

CATCHUP_WINDOW = timedelta(days=1)
"""A month missed during an outage runs once when back, never a burst of stale months (the
server's default window would be a year)."""


def first_of_month_schedule(
    action: ScheduleActionStartWorkflow, *, hour: int, time_zone: str, note: str
) -> Schedule:
    """Start ``action`` at ``hour``:00 on the 1st of each month in ``time_zone``.

    Args:
        action: The workflow start the Schedule fires.
        hour: Local hour of the firing (0-23).
        time_zone: The credit union's IANA time zone (the month starts there).
        note: What the Schedule is for, as the Temporal UI shows it.

    Returns:
        The schedule definition.
    """
    return Schedule(
        action=action,
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_month=[ScheduleRange(1)],
                    hour=[ScheduleRange(hour)],
                    minute=[ScheduleRange(0)],
                    second=[ScheduleRange(0)],
                )
            ],
            time_zone_name=time_zone,
        ),
        # SKIP: a month still running is never run twice at once.
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            catchup_window=CATCHUP_WINDOW,
            pause_on_failure=False,
        ),
        state=ScheduleState(note=note),
    )


async def create_or_update(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Create the Schedule, or bring an existing one of that id up to date (idempotent)."""
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        async def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(update)
