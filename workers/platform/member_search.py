"""The ``MemberKey`` search attribute: a member's workflows findable without storing their id.

Search attributes are stored and shown in clear (the payload codec does not cover them), so the
member number is replaced by HMAC-SHA256 under a key of its own (not a payload key: rotating
those must not change what a search finds). Anyone holding the key finds a member's workflows
(``memberflow ops --member-id``); the Temporal server and its operators see a meaningless hex.
The starters (bridge) compute it and put it in the workflow input; workflows never hold the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from workers.platform.settings import TemporalSettings


class SearchKeyError(ValueError):
    """The search hash key is missing or unreadable (raised at start-up)."""


class MemberSearchKey:
    """Turns a member id into its ``MemberKey`` value."""

    def __init__(self, secret: bytes) -> None:
        """Hold the HMAC key (at least 16 bytes)."""
        if len(secret) < 16:
            raise SearchKeyError("the search hash key must be at least 16 bytes")
        self._secret = secret

    def __repr__(self) -> str:
        return "MemberSearchKey(<hidden>)"

    def of(self, member_id: str) -> str:
        """The ``MemberKey`` of ``member_id``: 64 hex digits."""
        return hmac.new(self._secret, member_id.encode(), hashlib.sha256).hexdigest()

    def query(self, member_id: str) -> str:
        """A visibility query for every workflow of ``member_id``."""
        return f"MemberKey = '{self.of(member_id)}'"


def member_search_key(settings: TemporalSettings) -> MemberSearchKey:
    """The configured key (file or environment); a readable error when there is none."""
    if settings.search_hash_key_file is not None:
        try:
            text = settings.search_hash_key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SearchKeyError(
                f"cannot read search hash key file {settings.search_hash_key_file}: {exc.strerror}"
            ) from None
        source = str(settings.search_hash_key_file)
    elif settings.search_hash_key is not None:
        text, source = settings.search_hash_key.get_secret_value(), "the environment"
    else:
        raise SearchKeyError(
            "no search hash key configured: set MEMBERFLOW_TEMPORAL_SEARCH_HASH_KEY_FILE "
            "(memberflow stack up writes .state/search-hash-key) or "
            "MEMBERFLOW_TEMPORAL_SEARCH_HASH_KEY"
        )
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise SearchKeyError(f"the search hash key from {source} is not base64") from None
    return MemberSearchKey(secret)
