"""The payload codec: round trip, rotation, unknown keys, tampering, plaintext pass-through."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure

from deploy.secrets import append_payload_key, ensure_payload_keys, ensure_search_hash_key
from workers.platform.member_search import SearchKeyError, member_search_key
from workers.platform.payload_codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadDecryptError,
    PayloadKey,
    PayloadKeyError,
    data_converter,
    load_keys,
    parse_keys,
)
from workers.platform.settings import TemporalSettings

SECRET_TEXT = b'{"message":"Please call me about my mortgage at 555-0100"}'


def key(key_id: str) -> PayloadKey:
    return PayloadKey(key_id, os.urandom(32))


def plain(data: bytes = SECRET_TEXT) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def settings(**values: object) -> TemporalSettings:
    base: dict[str, object] = {"payload_keys_file": None, "payload_keys": None}
    return TemporalSettings(**(base | values))  # type: ignore[arg-type]


@pytest.mark.asyncio(loop_scope="session")
async def test_round_trip_hides_the_bytes_and_restores_the_payload() -> None:
    codec = EncryptionCodec([key("a")])
    [sealed] = await codec.encode([plain()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"a"
    assert b"mortgage" not in sealed.SerializeToString()
    assert b"json/plain" not in sealed.SerializeToString()  # metadata sealed too
    assert await codec.decode([sealed]) == [plain()]


@pytest.mark.asyncio(loop_scope="session")
async def test_each_payload_gets_its_own_nonce() -> None:
    codec = EncryptionCodec([key("a")])
    first, second = await codec.encode([plain(), plain()])
    assert first.data != second.data


@pytest.mark.asyncio(loop_scope="session")
async def test_newest_key_encrypts_and_every_key_decrypts() -> None:
    old, new = key("old"), key("new")
    [sealed_before] = await EncryptionCodec([old]).encode([plain()])
    rotated = EncryptionCodec([old, new])
    [sealed_after] = await rotated.encode([plain()])
    assert sealed_after.metadata[KEY_ID_METADATA] == b"new"
    assert await rotated.decode([sealed_before, sealed_after]) == [plain(), plain()]


@pytest.mark.asyncio(loop_scope="session")
async def test_unknown_key_id_is_a_clear_error_without_content() -> None:
    [sealed] = await EncryptionCodec([key("gone")]).encode([plain()])
    with pytest.raises(PayloadDecryptError, match="key id 'gone'") as raised:
        await EncryptionCodec([key("other")]).decode([sealed])
    assert "mortgage" not in str(raised.value)


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("where", ["data", "key id"])
async def test_tampering_fails_authentication(where: str) -> None:
    one, two = key("one"), PayloadKey("two", os.urandom(32))
    codec = EncryptionCodec([one, two])
    [sealed] = await codec.encode([plain()])
    if where == "data":
        sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    else:
        # Relabelled with another held key's id: the id is authenticated data.
        sealed.metadata[KEY_ID_METADATA] = b"one"
    with pytest.raises(PayloadDecryptError, match="failed authentication"):
        await codec.decode([sealed])


@pytest.mark.asyncio(loop_scope="session")
async def test_plaintext_payloads_pass_through_decode() -> None:
    codec = EncryptionCodec([key("a")])
    recorded = [plain(), Payload(metadata={"encoding": b"binary/null"})]
    assert await codec.decode(recorded) == recorded


@pytest.mark.asyncio(loop_scope="session")
async def test_converter_encrypts_values_and_failure_messages() -> None:
    converter = data_converter(
        settings(payload_keys=SecretStr(f"k1:{base64.b64encode(os.urandom(32)).decode()}"))
    )
    [payload] = await converter.encode(["555-0100"])
    assert b"555-0100" not in payload.SerializeToString()
    assert await converter.decode([payload], [str]) == ["555-0100"]
    failure = Failure()
    await converter.encode_failure(ValueError("member 555-0100"), failure)
    assert b"555-0100" not in failure.SerializeToString()
    assert "555-0100" in str(await converter.decode_failure(failure))


def test_key_file_parsing_reports_bad_entries_without_key_material() -> None:
    good = base64.b64encode(os.urandom(32)).decode()
    assert [k.key_id for k in parse_keys(f"# note\na:{good}\n\nb:{good}\n", source="f")] == [
        "a",
        "b",
    ]
    for text, message in [
        ("nocolon", "not key_id:base64key"),
        ("a:!!!", "not valid base64"),
        (f"a:{base64.b64encode(b'short').decode()}", "5 bytes, not 32"),
        (f"a:{good}\na:{good}", "appears twice"),
    ]:
        with pytest.raises(PayloadKeyError, match=message) as raised:
            parse_keys(text, source="f")
        assert good not in str(raised.value)


def test_no_key_is_a_start_up_error() -> None:
    with pytest.raises(PayloadKeyError, match="no payload encryption key configured"):
        load_keys(settings())
    with pytest.raises(PayloadKeyError, match="set one of"):
        load_keys(settings(payload_keys_file=Path("/x"), payload_keys=SecretStr("a:b")))
    with pytest.raises(PayloadKeyError, match="cannot read payload key file"):
        load_keys(settings(payload_keys_file=Path("/nonexistent/keys")))


def test_generated_files_are_private_written_once_and_rotate(tmp_path: Path) -> None:
    path = ensure_payload_keys(tmp_path / "payload-keys")
    first = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_payload_keys(path).read_text() == first  # a second ``stack up`` keeps it
    new_id = append_payload_key(path, "k-next")
    keys = load_keys(settings(payload_keys_file=path))
    assert [k.key_id for k in keys][-1] == new_id == "k-next"
    assert len(keys) == 2
    with pytest.raises(ValueError, match="already in"):
        append_payload_key(path, "k-next")


def test_search_hash_is_keyed_and_stable(tmp_path: Path) -> None:
    one = ensure_search_hash_key(tmp_path / "one")
    two = ensure_search_hash_key(tmp_path / "two")
    assert stat.S_IMODE(one.stat().st_mode) == 0o600
    key_one = member_search_key(TemporalSettings(search_hash_key_file=one))
    key_two = member_search_key(TemporalSettings(search_hash_key_file=two))
    assert key_one.of("424242") == key_one.of("424242")
    assert key_one.of("424242") != key_two.of("424242")
    assert "424242" not in key_one.of("424242")
    assert key_one.query("424242") == f"MemberKey = '{key_one.of('424242')}'"
    with pytest.raises(SearchKeyError, match="no search hash key configured"):
        member_search_key(TemporalSettings(search_hash_key_file=None, search_hash_key=None))
