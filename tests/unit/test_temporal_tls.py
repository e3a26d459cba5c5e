"""Temporal TLS settings: an API key never travels in clear, certificates never ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import TLSConfig

from workers.platform.settings import TemporalSettings
from workers.platform.temporal_client import TemporalConfigError, tls_config


def settings(**values: object) -> TemporalSettings:
    base: dict[str, object] = {
        "tls": None,
        "api_key": None,
        "tls_client_cert": None,
        "tls_client_key": None,
        "tls_server_root_ca": None,
    }
    return TemporalSettings(**(base | values))  # type: ignore[arg-type]


def test_plain_without_key_or_certificates() -> None:
    assert tls_config(settings()) is False


def test_an_api_key_turns_tls_on() -> None:
    assert tls_config(settings(api_key=SecretStr("k"))) is True


def test_an_api_key_with_tls_false_is_refused() -> None:
    with pytest.raises(TemporalConfigError, match="only sent over TLS"):
        tls_config(settings(api_key=SecretStr("secret-key"), tls=False))


@pytest.mark.parametrize(
    ("field", "variable"),
    [
        ("tls_server_root_ca", "MEMBERFLOW_TEMPORAL_TLS_SERVER_ROOT_CA"),
        ("tls_client_cert", "MEMBERFLOW_TEMPORAL_TLS_CLIENT_CERT"),
    ],
)
@pytest.mark.parametrize("tls", [None, False])
def test_certificates_without_tls_true_are_refused(
    field: str, variable: str, tls: bool | None, tmp_path: Path
) -> None:
    pem = tmp_path / "x.pem"
    pem.write_text("pem")
    with pytest.raises(TemporalConfigError, match=f"{variable}.*without MEMBERFLOW_TEMPORAL_TLS"):
        tls_config(settings(tls=tls, **{field: pem}))


def test_client_cert_needs_its_key(tmp_path: Path) -> None:
    pem = tmp_path / "cert.pem"
    pem.write_text("pem")
    with pytest.raises(TemporalConfigError, match="go together"):
        tls_config(settings(tls=True, tls_client_cert=pem))


def test_certificates_with_tls_are_read(tmp_path: Path) -> None:
    files = {}
    for name in ("cert", "key", "ca"):
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_bytes(name.encode())
    config = tls_config(
        settings(
            tls=True,
            tls_client_cert=files["cert"],
            tls_client_key=files["key"],
            tls_server_root_ca=files["ca"],
        )
    )
    assert config == TLSConfig(
        client_cert=b"cert", client_private_key=b"key", server_root_ca_cert=b"ca"
    )


def test_an_unreadable_certificate_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(
        TemporalConfigError, match="MEMBERFLOW_TEMPORAL_TLS_SERVER_ROOT_CA: cannot read"
    ):
        tls_config(settings(tls=True, tls_server_root_ca=tmp_path / "missing.pem"))
