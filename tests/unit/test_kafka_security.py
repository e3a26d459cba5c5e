"""Kafka security without a broker: the stack's files, the settings' rules, what clients get."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import re
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store
from faststream.kafka.security import parse_security
from pydantic import SecretStr, ValidationError

from deploy.kafka import SCRAM_MARKER, check_security_switch
from deploy.kafka_security import SCRAM_ITERATIONS, SCRAM_USER, prepare_sasl_ssl
from deploy.processes import StackError
from deploy.stack import (
    ServerState,
    StackState,
    _save_state,
    kafka_security_files,
    load_state,
    stack_env,
)
from workers.app.bridge import _security
from workers.platform.kafka_client import connection_options
from workers.platform.settings import KafkaSettings

pytestmark = pytest.mark.unit


def client_settings(folder: Path) -> KafkaSettings:
    """What ``stack_env`` gives a client of a SASL_SSL stack, as settings."""
    env = prepare_sasl_ssl(folder).client_env()
    return KafkaSettings.model_validate(
        {key.removeprefix("MEMBERFLOW_KAFKA_").lower(): value for key, value in env.items()}
    )


def test_secrets_are_owner_only_and_the_password_survives_a_second_prepare(
    tmp_path: Path,
) -> None:
    first = prepare_sasl_ssl(tmp_path / "security")
    password, keystore = first.password(), first.keystore_file.read_bytes()
    assert first.password_file.stat().st_mode & 0o777 == 0o600
    assert first.keystore_file.stat().st_mode & 0o777 == 0o600
    assert len(password) >= 40
    again = prepare_sasl_ssl(tmp_path / "security")
    assert again.password() == password
    assert again.keystore_file.read_bytes() == keystore  # still valid: not issued again


def test_a_broker_certificate_close_to_expiry_is_issued_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("deploy.kafka_security.CERT_DAYS", 10)  # inside the renewal window
    expiring = prepare_sasl_ssl(tmp_path).keystore_file.read_bytes()
    monkeypatch.undo()
    renewed = prepare_sasl_ssl(tmp_path).keystore_file.read_bytes()
    assert renewed != expiring
    assert prepare_sasl_ssl(tmp_path).keystore_file.read_bytes() == renewed


@pytest.mark.parametrize(
    "name", [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
)
def test_the_broker_certificate_verifies_against_the_stack_ca(
    tmp_path: Path, name: x509.IPAddress | x509.DNSName
) -> None:
    security = prepare_sasl_ssl(tmp_path)
    ca = x509.load_pem_x509_certificate(security.ca_file.read_bytes())
    leaf, *chain = x509.load_pem_x509_certificates(security.keystore_file.read_bytes())
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(name)
    verified = verifier.verify(leaf, chain)
    assert verified[-1] == ca
    assert b"PRIVATE KEY" in security.keystore_file.read_bytes()
    assert b"PRIVATE KEY" not in security.ca_file.read_bytes()


def test_the_scram_user_is_formatted_from_a_salted_password_never_the_password(
    tmp_path: Path,
) -> None:
    security = prepare_sasl_ssl(tmp_path)
    flag, credential = security.format_arguments()
    assert flag == "--add-scram"
    assert security.password() not in credential
    found = re.fullmatch(
        r'SCRAM-SHA-512=\[name=(\w+),iterations=(\d+),salt="([^"]+)",saltedpassword="([^"]+)"\]',
        credential,
    )
    assert found is not None
    name, iterations, salt, salted = found.groups()
    assert (name, int(iterations)) == (SCRAM_USER, SCRAM_ITERATIONS)
    expected = hashlib.pbkdf2_hmac(
        "sha512", security.password().encode(), base64.b64decode(salt), SCRAM_ITERATIONS
    )
    assert base64.b64decode(salted) == expected


def test_clients_get_tls_with_the_stack_ca_and_the_password_from_its_file(
    tmp_path: Path,
) -> None:
    settings = client_settings(tmp_path)
    options = connection_options(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == SCRAM_USER
    assert options["sasl_plain_password"] == prepare_sasl_ssl(tmp_path).password()
    context: ssl.SSLContext = options["ssl_context"]
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "memberflow local Kafka CA"),),)
    ]
    explicit = settings.model_copy(update={"sasl_password": SecretStr("from-env")})
    assert connection_options(explicit)["sasl_plain_password"] == "from-env"


def test_the_bridge_hands_faststream_the_same_sasl_ssl_connection(tmp_path: Path) -> None:
    options = connection_options(client_settings(tmp_path))
    parsed = parse_security(_security(options))
    assert parsed["security_protocol"] == "SASL_SSL"
    assert parsed["sasl_mechanism"] == "SCRAM-SHA-512"
    assert parsed["sasl_plain_username"] == SCRAM_USER
    assert parsed["sasl_plain_password"] == options["sasl_plain_password"]
    assert parsed["ssl_context"] is options["ssl_context"]


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"security_protocol": "SASL_SSL"}, "needs MEMBERFLOW_KAFKA_SASL_MECHANISM"),
        (
            {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512"},
            "needs MEMBERFLOW_KAFKA_SASL_USERNAME",
        ),
        (
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "PLAIN",
                "sasl_username": "u",
            },
            "needs MEMBERFLOW_KAFKA_SASL_PASSWORD",
        ),
        ({"sasl_mechanism": "SCRAM-SHA-256"}, "PLAINTEXT does not use SASL"),
        ({"ssl_cafile": "/ca.pem"}, "PLAINTEXT does not use TLS"),
        ({"security_protocol": "SASL_PLAINTEXT", "ssl_cafile": "/ca.pem"}, "does not use TLS"),
    ],
)
def test_a_half_set_kafka_security_is_refused(fields: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        KafkaSettings.model_validate(fields)


def test_complete_kafka_security_settings_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMBERFLOW_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("MEMBERFLOW_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("MEMBERFLOW_KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("MEMBERFLOW_KAFKA_SASL_PASSWORD", "secret")
    settings = KafkaSettings()
    assert settings.sasl_password is not None
    assert settings.sasl_password.get_secret_value() == "secret"
    assert "secret" not in repr(settings)


def test_switching_plaintext_data_to_sasl_ssl_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "meta.properties").write_text("formatted")
    security = prepare_sasl_ssl(tmp_path / "security")
    check_security_switch(tmp_path, None)  # plaintext on any data is fine
    with pytest.raises(StackError, match="made for plaintext"):
        check_security_switch(tmp_path, security)
    (tmp_path / SCRAM_MARKER).touch()
    check_security_switch(tmp_path, security)


def test_certificates_are_valid_now_and_for_the_configured_days(tmp_path: Path) -> None:
    security = prepare_sasl_ssl(tmp_path)
    leaf = x509.load_pem_x509_certificates(security.keystore_file.read_bytes())[0]
    now = dt.datetime.now(dt.UTC)
    assert leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc
    assert leaf.not_valid_after_utc - now > dt.timedelta(days=800)


def test_the_stack_records_its_kafka_security_and_hands_clients_the_files(tmp_path: Path) -> None:
    kafka = ServerState("kafka", "127.0.0.1", 19092, 1, 1.0, "kafka.log")
    state = StackState(str(tmp_path), servers={"kafka": kafka}, kafka_security="sasl_ssl")
    _save_state(state)
    loaded = load_state(tmp_path)
    assert loaded is not None and loaded.kafka_security == "sasl_ssl"
    env = stack_env(tmp_path)
    files = kafka_security_files(tmp_path)
    assert env["MEMBERFLOW_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["MEMBERFLOW_KAFKA_SASL_PASSWORD_FILE"] == str(files.password_file)
    assert env["MEMBERFLOW_KAFKA_SSL_CAFILE"] == str(files.ca_file)
    assert "MEMBERFLOW_KAFKA_SASL_PASSWORD" not in env


def test_a_stack_recorded_before_kafka_security_existed_reads_as_plaintext(tmp_path: Path) -> None:
    kafka = {"name": "kafka", "host": "127.0.0.1", "port": 1, "pid": 1, "start_seconds": 1.0}
    recorded = {"state_dir": str(tmp_path), "servers": {"kafka": kafka | {"log": "k.log"}}}
    (tmp_path / "stack.json").write_text(json.dumps(recorded))
    loaded = load_state(tmp_path)
    assert loaded is not None and loaded.kafka_security == "plaintext"
    assert not any("SASL" in key or "SSL" in key for key in stack_env(tmp_path))
