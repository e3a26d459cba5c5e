"""Process logging: one format, and no member data even at ``MEMBERFLOW_LOG_LEVEL=DEBUG``.

Some libraries print what they carry at DEBUG: aiokafka's producer logs every record it sends,
key and value (a member's message, a reply), and SQLAlchemy's engine logs every statement at
INFO and result rows at DEBUG. Those loggers are held at WARNING or above whatever the process
level, so turning DEBUG on to chase a problem never copies member data into log files
(docs/security.md), and INFO stays readable.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
MEMBER_DATA_LOGGERS = ("aiokafka.producer", "sqlalchemy.engine")
"""Loggers whose DEBUG lines carry record values or rows."""


def configure_logging(level: str) -> None:
    """The root logger at ``level`` in the memberflow format, member-data loggers held back."""
    logging.basicConfig(format=FORMAT)  # a handler unless the host installed its own
    logging.getLogger().setLevel(level)
    hold_back_member_data_loggers()


def hold_back_member_data_loggers() -> None:
    """Set each of ``MEMBER_DATA_LOGGERS`` to WARNING unless it is set higher already.

    Set on the logger itself (not judged by the effective level), so a root level lowered
    later still leaves them at WARNING.
    """
    for name in MEMBER_DATA_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
