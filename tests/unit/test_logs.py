"""Logging set-up: DEBUG for everything but the loggers that print member data."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from workers.platform.logs import MEMBER_DATA_LOGGERS, configure_logging


@pytest.fixture
def restored() -> Iterator[None]:
    """Put the root and the held-back loggers' levels back afterwards."""
    names = ["", *MEMBER_DATA_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restored")
def test_debug_leaves_record_and_statement_loggers_at_warning() -> None:
    configure_logging("DEBUG")
    assert logging.getLogger("memberflow").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("temporalio.worker").isEnabledFor(logging.DEBUG)
    # aiokafka logs each record's key and value at DEBUG; SQLAlchemy's engine, every statement
    # at INFO and result rows at DEBUG.
    assert not logging.getLogger("aiokafka.producer.producer").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
    assert logging.getLogger("aiokafka.producer.producer").isEnabledFor(logging.WARNING)


@pytest.mark.usefixtures("restored")
def test_a_higher_level_set_elsewhere_is_kept() -> None:
    logging.getLogger("aiokafka.producer").setLevel(logging.ERROR)
    configure_logging("DEBUG")
    assert logging.getLogger("aiokafka.producer").level == logging.ERROR
