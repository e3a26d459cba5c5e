"""Connecting to Temporal with the project's data converter, TLS and API key options."""

from __future__ import annotations

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from workers.platform.settings import TemporalSettings


async def connect(settings: TemporalSettings) -> Client:
    """A client for the configured namespace, speaking pydantic models on the wire."""
    tls: TLSConfig | bool = settings.tls
    if settings.tls and (settings.tls_client_cert or settings.tls_server_root_ca):
        tls = TLSConfig(
            client_cert=settings.tls_client_cert.read_bytes() if settings.tls_client_cert else None,
            client_private_key=(
                settings.tls_client_key.read_bytes() if settings.tls_client_key else None
            ),
            server_root_ca_cert=(
                settings.tls_server_root_ca.read_bytes() if settings.tls_server_root_ca else None
            ),
        )
    return await Client.connect(
        settings.address,
        runtime=_runtime(settings.metrics_bind),
        namespace=settings.namespace,
        data_converter=pydantic_data_converter,
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
