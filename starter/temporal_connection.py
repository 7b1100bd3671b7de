"""Connect to Temporal the same way everywhere: pydantic payloads, TLS / API key from settings."""

from __future__ import annotations

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from starter.config import ReelflowSettings


async def connect_temporal(settings: ReelflowSettings, *, runtime: Runtime | None = None) -> Client:
    """A Temporal client for ``settings`` (raises ``RuntimeError`` with the address on failure)."""
    tls: TLSConfig | bool = settings.temporal_tls or settings.temporal_api_key is not None
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
            tls=tls,
            api_key=api_key,
            runtime=runtime,
        )
    except RuntimeError as exc:
        raise RuntimeError(
            f"cannot reach Temporal at {settings.temporal_address} "
            f"(namespace {settings.temporal_namespace}): {exc}. Start one with `reelflow dev` "
            "or set TEMPORAL_ADDRESS."
        ) from None
