"""The ``workflow.patched`` ids of ``FollowUpWorkflow``: each gates one change of its commands.

Kept apart so the workflow module stays about the follow-up's life; the table of patches in
force, and when each may be deprecated and removed, is docs/workflow-versioning.md.
"""

from __future__ import annotations

OVERDUE_STATUS_PATCH = "follow-up-overdue-status"
"""The ``FollowUpStatus`` search attribute reads ``overdue`` from the day after the due date (as
the desk counts it) until completion.

Asked first thing in ``run``: runs started before this change have no marker and keep their old
command sequence to the end.
"""

DIRECTORY_CHECK_PATCH = "follow-up-directory-check"
"""Complete, reassign and add-note re-check the acting employee against the employee directory
(the ``look_up_directory`` activity) before they change anything.

Asked in the handler, not first thing in ``run``: a follow-up started before the change takes
the check from its first Update handled by new code on (the point of it); one whose earlier
Updates ran unchecked replays them without it.
"""
