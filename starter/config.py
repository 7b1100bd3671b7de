"""reelflow's one configuration object, read from the environment at process start.

Standard names are used where an ecosystem already has them (``TEMPORAL_ADDRESS``,
``OPENAI_BASE_URL``, ``OPENAI_API_KEY``); everything else is ``REELFLOW_*``.
Nothing else in reelflow reads ``os.environ``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SIMULATOR_PORT = 8000


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("reelflow", appauthor=False))


class ReelflowSettings(BaseSettings):
    """Every setting of the worker, the CLI and the HTTP app (see the README's table)."""

    model_config = SettingsConfigDict(env_prefix="REELFLOW_", extra="ignore", populate_by_name=True)

    temporal_address: str = Field(
        default="localhost:7233",
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "REELFLOW_TEMPORAL_ADDRESS"),
        description="Temporal frontend host:port.",
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "REELFLOW_TEMPORAL_NAMESPACE"),
    )
    temporal_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_API_KEY", "REELFLOW_TEMPORAL_API_KEY"),
        description="Temporal Cloud API key (turns TLS on).",
    )
    temporal_tls: bool = Field(
        default=False,
        validation_alias=AliasChoices("TEMPORAL_TLS", "REELFLOW_TEMPORAL_TLS"),
    )
    temporal_tls_cert: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TEMPORAL_TLS_CLIENT_CERT_PATH", "REELFLOW_TEMPORAL_TLS_CERT"
        ),
    )
    temporal_tls_key: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_TLS_CLIENT_KEY_PATH", "REELFLOW_TEMPORAL_TLS_KEY"),
    )
    temporal_ui_url: str = Field(
        default="http://localhost:8233", description="Base URL of the Temporal Web UI."
    )
    task_queue: str = Field(default="reelflow-video", description="Task queue of the worker.")

    openai_base_url: str = Field(
        default=f"http://127.0.0.1:{DEFAULT_SIMULATOR_PORT}/v1",
        validation_alias=AliasChoices("OPENAI_BASE_URL", "REELFLOW_OPENAI_BASE_URL"),
        description="Videos API base URL; the default is the local simulator.",
    )
    openai_api_key: SecretStr = Field(
        default=SecretStr("sk-reelflow-simulator"),
        validation_alias=AliasChoices("OPENAI_API_KEY", "REELFLOW_OPENAI_API_KEY"),
    )
    provider_timeout: float = Field(default=30.0, gt=0, description="Seconds per provider call.")

    data_dir: Path = Field(default_factory=_default_data_dir, description="Videos, dev server DB.")
    max_concurrent_activities: int = Field(default=100, gt=0)
    metrics_port: int | None = Field(default=None, description="Prometheus port of the worker.")

    @cached_property
    def videos_dir(self) -> Path:
        return self.data_dir / "videos"

    def workflow_ui_url(self, job_id: str, run_id: str | None = None) -> str:
        """The Temporal UI page of one job."""
        base = f"{self.temporal_ui_url.rstrip('/')}/namespaces/{self.temporal_namespace}"
        if run_id:
            return f"{base}/workflows/{job_id}/{run_id}/history"
        return f"{base}/workflows/{job_id}"

    # -- HTTP API (`reelflow serve`) ---------------------------------------------------------

    api_token: SecretStr | None = Field(
        default=None, description="Bearer token the HTTP API requires (unset: no auth)."
    )
    cors_origins: str = Field(
        default="", description="Comma-separated origins the HTTP API allows ('*': any)."
    )
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="HTTP request body limit.")
    public_base_url: str | None = Field(
        default=None, description="Base URL of result links (default: the request's own)."
    )

    # -- observability (worker logs and traces) ----------------------------------------------

    log_format: Literal["text", "json"] = Field(
        default="text", description="Worker log lines: human text or JSON lines."
    )
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "REELFLOW_OTLP_ENDPOINT"),
        description="OTLP/gRPC collector for traces, e.g. http://localhost:4317 (unset: none).",
    )
