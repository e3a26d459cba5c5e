"""Starting workflows from Kafka records: idempotent, retried while Temporal is unreachable."""

from __future__ import annotations


def contact_workflow_id(request_id: str) -> str:
    """The business-key workflow id of a Contact Us request."""
    return f"contact-request-{request_id}"
