"""Temporal activities: everything a workflow does that touches the outside world."""
