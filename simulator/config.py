"""Configuration of the video API simulator: one pydantic model, sensible defaults.

The same object is built from CLI options at start and changed at run time through
`PATCH /_sim/config` (only the fields of `RuntimeConfigPatch`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from simulator.faults import FaultConfig

MODERATION_MESSAGE = "Your request was blocked by our moderation system."
INTERNAL_ERROR_MESSAGE = "The video could not be generated because of an internal error."

DEFAULT_ERROR_MESSAGES = {
    "moderation_blocked": MODERATION_MESSAGE,
    "internal_error": INTERNAL_ERROR_MESSAGE,
}


class OutcomeRule(BaseModel):
    """A prompt containing `contains` makes the job fail with error code `outcome`.

    The job fails once it reaches `at_progress` percent of its run.
    """

    model_config = ConfigDict(extra="forbid")

    contains: str = Field(min_length=1)
    outcome: str = "internal_error"
    message: str | None = None
    at_progress: int = Field(default=0, ge=0, le=99)

    def error_message(self) -> str:
        if self.message is not None:
            return self.message
        return DEFAULT_ERROR_MESSAGES.get(
            self.outcome, f"Video generation failed ({self.outcome})."
        )


def default_outcome_rules() -> list[OutcomeRule]:
    return [
        OutcomeRule(contains="#moderation", outcome="moderation_blocked", at_progress=0),
        OutcomeRule(contains="#fail", outcome="internal_error", at_progress=50),
    ]


class RuntimeSettings(BaseModel):
    """Settings that may change while the simulator runs (see `PATCH /_sim/config`)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    api_key: str | None = Field(
        default=None, description="Accepted bearer key; None accepts any non-empty key."
    )
    speed: float = Field(default=1.0, gt=0, description="Time multiplier for every job.")
    seconds_per_video_second: float = Field(
        default=2.0, ge=0, description="Run time per second of video at speed 1."
    )
    queue_delay: float = Field(default=0.5, ge=0, description="Seconds queued at speed 1.")
    concurrency: int = Field(default=0, ge=0, description="Jobs running at once; 0 = no cap.")
    expires_after: float = Field(default=3600.0, gt=0, description="Asset lifetime in seconds.")
    poll_after_ms: int | None = Field(
        default=None, ge=0, description="Sent as `openai-poll-after-ms` on retrieve when set."
    )
    idempotency_ttl: float = Field(default=86400.0, gt=0)
    outcome_rules: list[OutcomeRule] = Field(default_factory=default_outcome_rules)
    unavailable_models: list[str] = Field(
        default_factory=list, description="Models answered with 404 model_not_found."
    )
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, description="`whsec_<base64>` secret.")
    webhook_duplicate_probability: float = Field(default=0.0, ge=0, le=1)
    webhook_max_attempts: int = Field(default=4, ge=1)
    webhook_backoff: float = Field(default=0.5, ge=0, description="First retry delay, doubled.")
    webhook_timeout: float = Field(default=5.0, gt=0)

    def webhooks_enabled(self) -> bool:
        return bool(self.webhook_url and self.webhook_secret)


class SimulatorConfig(RuntimeSettings):
    """Everything the simulator needs at start."""

    db_path: Path | None = Field(
        default=None, description="SQLite file; None keeps state in memory."
    )
    media_dir: Path | None = Field(
        default=None, description="Rendered media; default next to the db, or a temp dir."
    )
    render_workers: int = Field(default=2, ge=1)
    render_mode: Literal["process", "thread"] = "process"
    fps: int = Field(default=24, ge=1)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    webhook_check_interval: float = Field(default=0.1, gt=0)
    faults: FaultConfig = Field(default_factory=FaultConfig)

    def runtime_view(self) -> dict[str, object]:
        """The run-time settings as JSON-ready data (what `GET /_sim/config` shows)."""
        data = self.model_dump(mode="json", exclude={"faults"})
        return data


class RuntimeConfigPatch(RuntimeSettings):
    """Body of `PATCH /_sim/config`: only the fields present are applied."""

    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.model_fields_set}
