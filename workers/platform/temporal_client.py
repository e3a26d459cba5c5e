"""Connecting to Temporal with the project's data converter, TLS and API key options."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from workers.platform.payload_codec import data_converter
from workers.platform.settings import TemporalSettings


class TemporalConfigError(ValueError):
    """The Temporal connection settings contradict each other (raised before connecting)."""


def tls_config(settings: TemporalSettings) -> TLSConfig | bool:
    """The ``tls`` argument of ``Client.connect`` for these settings.

    TLS is on whenever an API key is set (the key is a bearer credential: it never travels in
    clear), and certificate files are only ever used with TLS: both contradictions are errors
    naming the variables, rather than a silently plain connection.
    """
    files = {
        "MEMBERFLOW_TEMPORAL_TLS_CLIENT_CERT": settings.tls_client_cert,
        "MEMBERFLOW_TEMPORAL_TLS_CLIENT_KEY": settings.tls_client_key,
        "MEMBERFLOW_TEMPORAL_TLS_SERVER_ROOT_CA": settings.tls_server_root_ca,
    }
    given = [name for name, path in files.items() if path is not None]
    tls = settings.tls if settings.tls is not None else settings.api_key is not None
    if settings.api_key is not None and not tls:
        raise TemporalConfigError(
            "MEMBERFLOW_TEMPORAL_API_KEY is set but MEMBERFLOW_TEMPORAL_TLS is false: "
            "an API key is only sent over TLS (unset MEMBERFLOW_TEMPORAL_TLS or set it true)"
        )
    if given and not tls:
        raise TemporalConfigError(
            f"{', '.join(given)} set without MEMBERFLOW_TEMPORAL_TLS=true: certificates are "
            "only used over TLS; set it true or remove them"
        )
    if (settings.tls_client_cert is None) != (settings.tls_client_key is None):
        raise TemporalConfigError(
            "MEMBERFLOW_TEMPORAL_TLS_CLIENT_CERT and MEMBERFLOW_TEMPORAL_TLS_CLIENT_KEY go "
            "together: set both or neither"
        )
    if not given:
        return tls
    return TLSConfig(
        client_cert=_read(settings.tls_client_cert, "MEMBERFLOW_TEMPORAL_TLS_CLIENT_CERT"),
        client_private_key=_read(settings.tls_client_key, "MEMBERFLOW_TEMPORAL_TLS_CLIENT_KEY"),
        server_root_ca_cert=_read(
            settings.tls_server_root_ca, "MEMBERFLOW_TEMPORAL_TLS_SERVER_ROOT_CA"
        ),
    )


def _read(path: Path | None, variable: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TemporalConfigError(f"{variable}: cannot read {path}: {exc.strerror}") from None


async def connect(settings: TemporalSettings) -> Client:
    """A client for the configured namespace: pydantic models on the wire, payloads encrypted.

    Raises:
        TemporalConfigError: Contradictory TLS settings.
        PayloadKeyError: No payload encryption key configured.
    """
    tls = tls_config(settings)
    return await Client.connect(
        settings.address,
        runtime=_runtime(settings.metrics_bind),
        namespace=settings.namespace,
        data_converter=data_converter(settings),
        tls=tls,
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
    )


_runtimes: dict[str, Runtime] = {}


def _runtime(metrics_bind: str | None) -> Runtime | None:
    """The SDK runtime exporting Prometheus metrics on ``metrics_bind`` (one per process)."""
    if metrics_bind is None:
        return None
    if metrics_bind not in _runtimes:
        telemetry = TelemetryConfig(metrics=PrometheusConfig(bind_address=metrics_bind))
        _runtimes[metrics_bind] = Runtime(telemetry=telemetry)
    return _runtimes[metrics_bind]
