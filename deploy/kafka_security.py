"""SASL/SCRAM over TLS for the local Kafka broker: a CA, a broker certificate and a SCRAM user.

``memberflow stack up --kafka-security sasl_ssl`` keeps these in ``<state>/kafka/security/``:

| file | content | mode |
|---|---|---|
| ``ca.pem`` | the stack's own CA certificate: what clients trust (``MEMBERFLOW_KAFKA_SSL_CAFILE``) | 0644 |
| ``broker.pem`` | the broker's private key, its certificate (127.0.0.1, localhost) and the CA's | 0600 |
| ``sasl-password`` | the SCRAM user's random password (``MEMBERFLOW_KAFKA_SASL_PASSWORD_FILE``) | 0600 |

The CA's private key signs the broker certificate and is then dropped: nothing else is ever
signed with it. The SCRAM user is written into the cluster metadata when the broker's storage
is formatted, as a salted password (never the password on a command line).
"""  # noqa: E501

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KafkaSecurityMode = Literal["plaintext", "sasl_ssl"]
KAFKA_SECURITY_MODES: tuple[KafkaSecurityMode, ...] = ("plaintext", "sasl_ssl")
SCRAM_MECHANISM = "SCRAM-SHA-512"
SCRAM_USER = "memberflow"
SCRAM_ITERATIONS = 8192
"""Kafka's minimum is 4096; every client connection pays this PBKDF2 once."""
LISTENER = "SASL_SSL"
CERT_DAYS = 825
RENEW_DAYS = 30
"""A broker certificate with fewer days left is issued again (with a new CA) at the next start."""


def _write_private(path: Path, data: bytes) -> None:
    """Write ``path`` readable by its owner only, never briefly readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


def write_private_text(path: Path, text: str) -> None:
    """Write a text file readable by its owner only (the broker's config holds a password)."""
    _write_private(path, text.encode())


@dataclass(frozen=True)
class KafkaSecurity:
    """The files of a SASL_SSL broker and what its broker config and clients need from them."""

    folder: Path

    @property
    def ca_file(self) -> Path:
        """The CA certificate clients verify the broker with."""
        return self.folder / "ca.pem"

    @property
    def keystore_file(self) -> Path:
        """The broker's key and certificate chain (Kafka's PEM key store)."""
        return self.folder / "broker.pem"

    @property
    def password_file(self) -> Path:
        """The SCRAM user's password."""
        return self.folder / "sasl-password"

    def password(self) -> str:
        """The SCRAM user's password."""
        return self.password_file.read_text().strip()

    def broker_properties(self) -> dict[str, str]:
        """``server.properties`` entries for a SASL_SSL client listener named ``SASL_SSL``."""
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{SCRAM_USER}" password="{self.password()}";'
        )
        return {
            "sasl.enabled.mechanisms": SCRAM_MECHANISM,
            # One node: its own inter-broker client side logs in as the same user.
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            f"listener.name.{LISTENER.lower()}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore_file),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "ssl.client.auth": "none",
        }

    def format_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments that add the SCRAM user to the new cluster.

        Salt and salted password rather than the password, so it never shows in a process list.
        """
        salt = os.urandom(24)
        salted = hashlib.pbkdf2_hmac("sha512", self.password().encode(), salt, SCRAM_ITERATIONS)
        b64 = base64.b64encode
        credential = (
            f"{SCRAM_MECHANISM}=[name={SCRAM_USER},iterations={SCRAM_ITERATIONS},"
            f'salt="{b64(salt).decode()}",saltedpassword="{b64(salted).decode()}"]'
        )
        return ["--add-scram", credential]

    def client_env(self) -> dict[str, str]:
        """``MEMBERFLOW_KAFKA_*`` variables of a client of this broker (the password by path)."""
        return {
            "MEMBERFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "MEMBERFLOW_KAFKA_SASL_MECHANISM": SCRAM_MECHANISM,
            "MEMBERFLOW_KAFKA_SASL_USERNAME": SCRAM_USER,
            "MEMBERFLOW_KAFKA_SASL_PASSWORD_FILE": str(self.password_file),
            "MEMBERFLOW_KAFKA_SSL_CAFILE": str(self.ca_file),
        }


def prepare_sasl_ssl(folder: Path, host: str = "127.0.0.1") -> KafkaSecurity:
    """Create what is missing in ``folder``: the password once, certificates when due.

    The password is kept across restarts (the cluster metadata holds its salted form); the
    certificates are issued again when missing or within ``RENEW_DAYS`` of expiry.
    """
    security = KafkaSecurity(folder.resolve())
    folder.mkdir(parents=True, exist_ok=True)
    if not security.password_file.exists():
        _write_private(security.password_file, secrets.token_urlsafe(32).encode() + b"\n")
    if _needs_certificates(security):
        ca_pem, broker_pem = issue_certificates(host)
        _write_private(security.keystore_file, broker_pem)
        security.ca_file.write_bytes(ca_pem)
    return security


def _needs_certificates(security: KafkaSecurity) -> bool:
    if not (security.ca_file.exists() and security.keystore_file.exists()):
        return True
    broker = x509.load_pem_x509_certificates(security.keystore_file.read_bytes())[0]
    left = broker.not_valid_after_utc - dt.datetime.now(dt.UTC)
    return left < dt.timedelta(days=RENEW_DAYS)


def issue_certificates(host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """A new CA and a broker certificate for ``host`` and ``localhost`` signed by it.

    Returns:
        The CA certificate (PEM), and the broker's PKCS#8 key, certificate and CA certificate
        (one PEM file, the layout Kafka's ``ssl.keystore.type=PEM`` reads).
    """
    now = dt.datetime.now(dt.UTC)
    until = now + dt.timedelta(days=CERT_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "memberflow local Kafka CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca_cert.public_bytes(pem)
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca_pem, key_pem + cert.public_bytes(pem) + ca_pem


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
