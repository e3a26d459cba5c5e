"""Where a run's shard files live, and their removal: they hold member balances.

Layout: ``<extract root>/.work/<period>/<workflow run id>/shard-NNN/``. A run's folder goes

- when the run completes (``finish``), or stops without completing: failed or cancelled (the
  workflow's ``remove_shards`` activity);
- when a later run of the same period prepares: a terminated run runs no code of its own, and
  neither does one whose worker died for good. A period's runs share one workflow id
  (``tier-scoring-YYYY-MM``) and Temporal never has two of them open at once, so every other
  run folder of the period belongs to a closed run;
- when a worker starts: :func:`remove_closed_runs` asks Temporal about each run folder left and
  removes those of closed (or forgotten) runs, whatever their period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from contracts.ids import tier_scoring_workflow_id
from contracts.tiers.runs import PERIOD_PATTERN

log = logging.getLogger(__name__)

WORK_FOLDER = ".work"
"""The work root's name under the extract root."""
_REMOVE_TRIES = 3


def work_root(extract_root: Path) -> Path:
    """``<extract root>/.work``: every run's shard folders, by period and run."""
    return extract_root / WORK_FOLDER


def run_folder(root: Path, period: str, run_id: str) -> Path:
    """The shard folder of one workflow run of ``period`` under the work root ``root``."""
    return root / period / run_id


def remove_run(folder: Path) -> None:
    """Remove a run's folder, and its period folder when nothing else is left in it.

    Missing files are fine (removed already, or by a concurrent sweep); any other error is
    raised, so the activity doing this is retried rather than leaving member data behind.
    """
    for _ in range(_REMOVE_TRIES):
        # The folder, or something under it, may go meanwhile (a concurrent sweep): look again.
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(folder)
        if not folder.exists():
            break
    else:
        raise OSError(f"shard folder still there after {_REMOVE_TRIES} removals: {folder}")
    # Not empty (another run of the period) or gone already: either is fine.
    with contextlib.suppress(OSError):
        folder.parent.rmdir()


def run_folders(root: Path) -> list[tuple[str, str, Path]]:
    """``(period, run id, folder)`` of every run folder under the work root ``root``."""
    if not root.is_dir():
        return []
    found: list[tuple[str, str, Path]] = []
    for period in sorted(root.iterdir()):
        if not (period.is_dir() and PERIOD_PATTERN.match(period.name)):
            continue
        found.extend((period.name, run.name, run) for run in sorted(period.iterdir()))
    return found


def remove_other_runs(root: Path, period: str, run_id: str) -> list[Path]:
    """Remove the folders of every other run of ``period`` (all closed: see the module).

    A folder that cannot be removed is logged and left for the next worker start: an old run's
    leftovers are no reason to keep this period from being scored.

    Returns:
        The folders removed.
    """
    removed: list[Path] = []
    for found, run, folder in run_folders(root):
        if found != period or run == run_id:
            continue
        try:
            remove_run(folder)
        except OSError as err:
            log.warning("tier run %s %s: shard files not removed (%s)", period, run, err)
            continue
        removed.append(folder)
    return removed


async def remove_closed_runs(client: Client, root: Path) -> list[Path]:
    """Remove the run folders whose workflow run Temporal reports closed or does not know.

    Run at worker start-up, for runs that ended without removing their files (terminated, or
    their cleanup failed) and whose period is not run again. A run Temporal reports running
    keeps its folder, as does one that cannot be looked up or removed now (logged; the next
    start tries again).

    Returns:
        The folders removed.
    """
    removed: list[Path] = []
    for period, run_id, folder in run_folders(root):
        handle = client.get_workflow_handle(tier_scoring_workflow_id(period), run_id=run_id)
        try:
            status = (await handle.describe()).status
        except RPCError as err:
            if err.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                log.warning("tier run %s %s: kept, not looked up (%s)", period, run_id, err)
                continue
            status = None  # past retention, or a folder name that is no run id
        if status == WorkflowExecutionStatus.RUNNING:
            continue
        try:
            await asyncio.to_thread(remove_run, folder)
        except OSError as err:  # never a reason for the worker not to start
            log.warning("tier run %s %s: shard files not removed (%s)", period, run_id, err)
            continue
        removed.append(folder)
    return removed
