"""Key files: the local stack's generated secrets and the ``memberflow keys rotate`` append.

Two files, both ``0600`` and written once (a restart must not lose the key old histories were
sealed with): ``payload-keys`` (``key_id:base64key`` lines, newest last; read by
``workers.platform.payload_codec``) and ``search-hash-key`` (one base64 line: the HMAC key of the
``MemberKey`` search attribute, ``workers.platform.member_search``). Never in the repository:
they live in the stack's state folder, or wherever an operator's settings name.
"""

from __future__ import annotations

import base64
import os
import re
import time
from pathlib import Path

PAYLOAD_KEYS_FILE = "payload-keys"
SEARCH_HASH_KEY_FILE = "search-hash-key"
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _random_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only (never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)


def new_key_id() -> str:
    """A key id from the current UTC time, e.g. ``k20261203T161700``: sortable, no secret."""
    return time.strftime("k%Y%m%dT%H%M%S", time.gmtime())


def ensure_payload_keys(path: Path) -> Path:
    """Write a key file with one fresh key unless ``path`` exists already."""
    if not path.exists():
        _write_private(path, f"{new_key_id()}:{_random_key()}\n")
    return path


def ensure_search_hash_key(path: Path) -> Path:
    """Write a fresh HMAC key unless ``path`` exists already."""
    if not path.exists():
        _write_private(path, _random_key() + "\n")
    return path


def append_payload_key(path: Path, key_id: str | None = None) -> str:
    """Append a fresh key to an existing key file (it becomes the encrypting one).

    Returns:
        The new key's id.

    Raises:
        ValueError: The id is malformed or already in the file.
        FileNotFoundError: There is no key file to rotate.
    """
    new_id = key_id or new_key_id()
    if not _KEY_ID.match(new_id):
        raise ValueError(f"key id {new_id!r} must match {_KEY_ID.pattern}")
    existing = path.read_text(encoding="utf-8")
    held = {line.split(":", 1)[0].strip() for line in existing.splitlines()}
    if new_id in held:
        raise ValueError(f"key id {new_id} is already in {path}")
    prefix = "" if existing.endswith("\n") or not existing else "\n"
    with path.open("a", encoding="utf-8") as out:
        out.write(f"{prefix}{new_id}:{_random_key()}\n")
    return new_id
