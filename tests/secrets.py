"""Keys for tests that run without the local stack: random per test process, never stored.

The local stack (and ``throwaway_stack``) writes its own key files into its state folder; these
are for the time-skipping server, the replayer and unit tests, which have no stack.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from workers.platform.settings import TemporalSettings

PAYLOAD_KEYS = SecretStr(f"test-1:{base64.b64encode(os.urandom(32)).decode()}")
"""One payload key, in the ``MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS`` format."""
SEARCH_HASH_KEY = SecretStr(base64.b64encode(os.urandom(32)).decode())
"""A ``MEMBERFLOW_TEMPORAL_SEARCH_HASH_KEY`` value."""


def keyed_temporal_settings(**values: Any) -> TemporalSettings:
    """``TemporalSettings`` with the test keys, plus ``values``; no ``MEMBERFLOW_*`` key file."""
    return TemporalSettings(
        **{
            "payload_keys": PAYLOAD_KEYS,
            "payload_keys_file": None,
            "search_hash_key": SEARCH_HASH_KEY,
            "search_hash_key_file": None,
            **values,
        }
    )


def temporal_settings(server_env: dict[str, str], **values: Any) -> TemporalSettings:
    """The session's Temporal, with the stack's key files (the test process's keys otherwise)."""
    address = server_env["MEMBERFLOW_TEMPORAL_ADDRESS"]
    payload_keys = server_env.get("MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS_FILE")
    hash_key = server_env.get("MEMBERFLOW_TEMPORAL_SEARCH_HASH_KEY_FILE")
    if payload_keys is None or hash_key is None:
        return keyed_temporal_settings(address=address, **values)
    return TemporalSettings(
        address=address,
        payload_keys_file=Path(payload_keys),
        search_hash_key_file=Path(hash_key),
        **values,
    )
