"""Payload encryption: every Temporal client and worker of memberflow encodes through here.

Workflow inputs, activity arguments, Update arguments and results carry member messages, replies,
phone numbers and notes; Temporal stores them in its history. ``EncryptionCodec`` seals each
payload with AES-256-GCM under the newest configured key (a fresh 12-byte nonce per payload) and
opens it with whichever key its ``encryption-key-id`` names, so keys rotate by appending a line to
the key file (``memberflow keys rotate``). Payloads without ``encoding=binary/encrypted`` pass
through decode untouched: histories recorded before encryption still replay and read.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from workers.platform.settings import TemporalSettings

ENCODING = b"binary/encrypted"
"""The ``encoding`` metadata of an encrypted payload."""
KEY_ID_METADATA = "encryption-key-id"
"""The metadata entry naming the key a payload was sealed with."""
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class PayloadKeyError(ValueError):
    """The key configuration is missing or unreadable (raised at start-up)."""


class PayloadDecryptError(ValueError):
    """A payload cannot be opened. The message names the key id, never the payload's content."""


@dataclasses.dataclass(frozen=True)
class PayloadKey:
    """One AES-256 key and its id; the bytes stay out of ``repr``."""

    key_id: str
    secret: bytes = dataclasses.field(repr=False)


def parse_keys(text: str, *, source: str) -> list[PayloadKey]:
    """Keys from ``key_id:base64key`` entries (lines or commas), oldest first.

    Blank entries and ``#`` comments are skipped. ``source`` names where the text came from in
    error messages (a path or a variable name); key material is never quoted.
    """
    keys: list[PayloadKey] = []
    entries = [e.strip() for line in text.splitlines() for e in line.split(",")]
    for number, entry in enumerate(entries, start=1):
        if not entry or entry.startswith("#"):
            continue
        key_id, sep, encoded = entry.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise PayloadKeyError(f"{source}: entry {number} is not key_id:base64key")
        try:
            secret = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise PayloadKeyError(f"{source}: key {key_id} is not valid base64") from None
        if len(secret) != KEY_BYTES:
            raise PayloadKeyError(f"{source}: key {key_id} is {len(secret)} bytes, not 32")
        if any(k.key_id == key_id for k in keys):
            raise PayloadKeyError(f"{source}: key id {key_id} appears twice")
        keys.append(PayloadKey(key_id, secret))
    return keys


def load_keys(settings: TemporalSettings) -> list[PayloadKey]:
    """The configured payload keys, oldest first; a readable error when there are none."""
    if settings.payload_keys_file is not None and settings.payload_keys is not None:
        raise PayloadKeyError(
            "set one of MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS_FILE and MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS"
        )
    if settings.payload_keys_file is not None:
        path = settings.payload_keys_file
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PayloadKeyError(f"cannot read payload key file {path}: {exc.strerror}") from None
        keys = parse_keys(text, source=str(path))
    elif settings.payload_keys is not None:
        keys = parse_keys(
            settings.payload_keys.get_secret_value(), source="MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS"
        )
    else:
        keys = []
    if not keys:
        raise PayloadKeyError(
            "no payload encryption key configured: set MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS_FILE "
            "(memberflow stack up writes .state/payload-keys) or MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS"
        )
    return keys


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole serialized payloads; encrypts with the newest key."""

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        """Hold ``keys`` (oldest first): the last one encrypts, every one decrypts."""
        if not keys:
            raise PayloadKeyError("EncryptionCodec needs at least one key")
        self._ciphers = {k.key_id: AESGCM(k.secret) for k in keys}
        self._newest = keys[-1].key_id

    @property
    def key_ids(self) -> list[str]:
        """The ids held, oldest first."""
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Seal each payload (metadata, encoding and data) into one encrypted payload."""
        cipher, key_id = self._ciphers[self._newest], self._newest.encode()
        sealed = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            # The key id is authenticated data: a payload relabelled with another id fails.
            data = nonce + cipher.encrypt(nonce, payload.SerializeToString(), key_id)
            sealed.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id},
                    data=data,
                )
            )
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Open encrypted payloads; pass others (recorded before encryption) through."""
        return [self._open(p) if p.metadata.get("encoding") == ENCODING else p for p in payloads]

    def _open(self, payload: Payload) -> Payload:
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("ascii", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            held = ", ".join(self._ciphers)
            raise PayloadDecryptError(
                f"payload encrypted with key id {key_id!r}, which this process does not hold "
                f"(held: {held}); add that key to the payload key file"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise PayloadDecryptError(
                f"payload under key id {key_id!r} failed authentication: altered or not ours"
            ) from None
        return Payload.FromString(plain)


def data_converter(settings: TemporalSettings) -> DataConverter:
    """The one data converter of every client, worker and replayer: pydantic + encryption.

    Failure messages and stack traces are moved into the failure's encoded attributes, so they
    are encrypted too: an activity error quoting member data never reaches the history in clear.
    """
    return with_codec(EncryptionCodec(load_keys(settings)))


def with_codec(payload_codec: PayloadCodec | None) -> DataConverter:
    """The pydantic converter with ``payload_codec`` (None: plain, for comparisons in benches)."""
    if payload_codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=payload_codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
