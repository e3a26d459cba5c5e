"""The codec server's HTTP contract: Temporal's remote-codec JSON, bearer tokens, CORS."""

from __future__ import annotations

import base64
import os

import pytest
from fastapi.testclient import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from contracts.vocabulary import Role
from workers.app.codec_server import CodecAccess, create_codec_app
from workers.platform.audit import AuditAction
from workers.platform.employees import EmployeeRecord
from workers.platform.payload_codec import EncryptionCodec, PayloadKey
from workers.platform.web.throttle import FailureThrottle

TOKEN = "good-token"
DESK_TOKEN = "desk-token"
UI = "http://127.0.0.1:18233"
TEXT = b'"call me on 555-0100"'

STAFF = {
    TOKEN: EmployeeRecord(id="OP", name="Olga", role=Role.OPERATOR),
    DESK_TOKEN: EmployeeRecord(id="SR", name="Sarah", role=Role.EMPLOYEE),
}

Trail = list[tuple[str, AuditAction, int]]


async def authenticate(token: str) -> EmployeeRecord | None:
    return STAFF.get(token)


def access(trail: Trail | None = None, throttle: FailureThrottle | None = None) -> CodecAccess:
    """Lookups from ``STAFF``; rows go to ``trail``."""

    async def record(
        employee: EmployeeRecord, action: AuditAction, status: int, source: str | None
    ) -> None:
        if trail is not None:
            trail.append((employee.id, action, status))

    return CodecAccess(authenticate, record, throttle or FailureThrottle())


@pytest.fixture
def codec() -> EncryptionCodec:
    return EncryptionCodec([PayloadKey("k1", os.urandom(32))])


@pytest.fixture
def client(codec: EncryptionCodec) -> TestClient:
    return TestClient(create_codec_app(codec, access(), [UI]))


def body(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def encrypted(client: TestClient) -> str:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=TEXT)
    answer = client.post(
        "/encode", content=body(plain), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200
    assert base64.b64encode(TEXT).decode() not in answer.text
    return str(answer.text)


def test_decode_restores_plaintext_for_a_valid_token(client: TestClient) -> None:
    sealed = encrypted(client)
    answer = client.post("/decode", content=sealed, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    [payload] = json_format.Parse(answer.text, Payloads()).payloads
    assert payload.data == TEXT
    assert payload.metadata["encoding"] == b"json/plain"


def test_the_token_may_be_in_the_path_for_the_web_ui(client: TestClient) -> None:
    answer = client.post(f"/{TOKEN}/decode", content=encrypted(client))
    assert answer.status_code == 200
    assert json_format.Parse(answer.text, Payloads()).payloads[0].data == TEXT


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/decode", {}),
        ("/decode", {"Authorization": "Bearer wrong"}),
        ("/decode", {"Authorization": f"Basic {TOKEN}"}),
        ("/wrong/decode", {}),
        ("/encode", {}),
    ],
)
def test_others_are_refused(client: TestClient, path: str, headers: dict[str, str]) -> None:
    answer = client.post(path, content=encrypted(client), headers=headers)
    assert answer.status_code == 401
    assert "555-0100" not in answer.text


def test_a_malformed_body_or_foreign_key_is_400(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/decode", content="not json", headers=auth).status_code == 400
    other = TestClient(
        create_codec_app(EncryptionCodec([PayloadKey("k9", os.urandom(32))]), access(), [UI])
    )
    answer = other.post("/decode", content=encrypted(client), headers=auth)
    assert answer.status_code == 400
    assert "k1" in answer.json()["detail"]


def test_cors_preflight_admits_the_ui_origin_only(client: TestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
    }
    allowed = client.options("/decode", headers={"Origin": UI, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI
    assert "x-namespace" in allowed.headers["access-control-allow-headers"].lower()
    refused = client.options("/decode", headers={"Origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers


def test_only_operators_decode_and_every_use_is_in_the_trail(codec: EncryptionCodec) -> None:
    trail: Trail = []
    client = TestClient(create_codec_app(codec, access(trail), [UI]))
    sealed = encrypted(client)
    opened = client.post("/decode", content=sealed, headers={"Authorization": f"Bearer {TOKEN}"})
    refused = client.post(f"/{DESK_TOKEN}/decode", content=sealed)
    assert opened.status_code == 200
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("SR (employee) may not decode workflow payloads")
    assert "555-0100" not in refused.text
    assert trail == [
        ("OP", AuditAction.PAYLOADS_ENCODE, 200),
        ("OP", AuditAction.PAYLOADS_DECODE, 200),
        ("SR", AuditAction.PAYLOADS_DECODE, 403),
    ]


def test_failed_tokens_are_throttled_per_address(codec: EncryptionCodec) -> None:
    now = [0.0]
    throttle = FailureThrottle(2, 60.0, clock=lambda: now[0])
    client = TestClient(create_codec_app(codec, access(throttle=throttle), [UI]))
    sealed = encrypted(client)
    guesses = [client.post("/decode", content=sealed, headers={"Authorization": "Bearer x"})]
    guesses.append(client.post("/x/decode", content=sealed))
    blocked = client.post("/decode", content=sealed, headers={"Authorization": f"Bearer {TOKEN}"})
    assert [g.status_code for g in guesses] == [401, 401]
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) == 60
    now[0] = 61.0
    again = client.post("/decode", content=sealed, headers={"Authorization": f"Bearer {TOKEN}"})
    assert again.status_code == 200
