"""Kafka topic names (docs/messages.md); each is a default that configuration can override."""

from __future__ import annotations

from pydantic import BaseModel

DLQ_SUFFIX = ".dlq"


class Topics(BaseModel):
    """Topic names; overridden by ``MEMBERFLOW_TOPICS__<NAME>`` environment variables."""

    contact_requests: str = "contact-requests.v1"
    followup_assignments: str = "followup-assignments.v1"
    member_messages: str = "member-messages.v1"
    employee_notifications: str = "employee-notifications.v1"
    tier_levels: str = "tier-levels.v1"

    def dlq(self, topic: str) -> str:
        """The dead-letter topic of an inbound topic."""
        return f"{topic}{DLQ_SUFFIX}"

    def inbound(self) -> list[str]:
        """Topics the bridge consumes."""
        return [self.contact_requests, self.followup_assignments]

    def all_topics(self) -> list[str]:
        """Every topic memberflow reads or writes, dead-letter topics included."""
        outbound = [self.member_messages, self.employee_notifications, self.tier_levels]
        return self.inbound() + [self.dlq(t) for t in self.inbound()] + outbound
