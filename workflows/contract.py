"""The shared contract of a reelflow job: what callers send, what the workflow reports.

These pydantic models travel through Temporal (via ``pydantic_data_converter``), the Python API,
the CLI and the HTTP app. They are validated where they are built, so a bad request is rejected
before anything is started or paid for. Validators here must stay pure: the same models are
deserialized inside workflow code, which may not do I/O or read the clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workflows.provider_rules import (
    ALLOWED_SECONDS,
    MAX_PROMPT_LENGTH,
    PRO_MODELS,
    SIZES_BY_MODEL_FAMILY,
    known_models,
    model_family,
)

JobState = Literal["pending", "processing", "completed", "failed", "cancelled"]
"""reelflow's status vocabulary (TanStack's, plus ``cancelled``)."""

TERMINAL_STATES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})

JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
"""Job ids become workflow ids and storage folder names: no slashes, no leading dot."""

MIN_POLLING_INTERVAL = timedelta(milliseconds=100)
MAX_POLLING_INTERVAL = timedelta(minutes=10)
MAX_JOB_DURATION = timedelta(days=7)


def validate_job_id(job_id: str) -> str:
    """Return ``job_id`` if it is safe as a workflow id and a folder name, else raise ValueError."""
    if not JOB_ID_PATTERN.fullmatch(job_id):
        raise ValueError(
            f"invalid job id {job_id!r}: use 1-128 letters, digits, '.', '_', ':' or '-', "
            "starting with a letter or digit"
        )
    return job_id


def _parse_seconds(value: Any, field: str) -> int:
    allowed = ", ".join(str(s) for s in ALLOWED_SECONDS)
    try:
        seconds = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{field} must be one of {allowed}, got {value!r}") from None
    if seconds not in ALLOWED_SECONDS:
        raise ValueError(f"{field} must be one of {allowed}, got {value!r}")
    return seconds


class VideoRequest(BaseModel):
    """One text-to-video request, named after TanStack AI's ``generateVideo`` options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(description="What the video shows (1-32000 characters).")
    model: str = Field(default="sora-2", description="Provider model id.")
    size: str = Field(default="1280x720", description="WIDTHxHEIGHT, allowed per model.")
    seconds: int = Field(default=4, description="Duration: 4, 8 or 12 (int or string).")
    input_reference: str | None = Field(
        default=None, description="Path or URL of a reference image (jpeg/png/webp) of `size`."
    )
    model_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Provider-specific fields passed through; may carry `size`/`seconds`.",
    )
    polling_interval: timedelta = Field(
        default=timedelta(seconds=2), description="Wait between two status polls."
    )
    max_duration: timedelta = Field(
        default=timedelta(minutes=10), description="Deadline for the whole job (workflow time)."
    )
    job_id: str | None = Field(default=None, description="Job id to use (else one is generated).")

    @model_validator(mode="before")
    @classmethod
    def _merge_model_options(cls, data: Any) -> Any:
        """Accept ``model_options.size/seconds`` as alternatives; a conflict is an error."""
        if not isinstance(data, dict):
            return data
        options = data.get("model_options") or {}
        if not isinstance(options, dict):
            return data
        merged = dict(data)
        rest = dict(options)
        for name in ("size", "seconds"):
            if name not in rest:
                continue
            alternative = rest.pop(name)
            top = merged.get(name)
            if top is None:
                merged[name] = alternative
            elif str(top).strip() != str(alternative).strip():
                raise ValueError(
                    f"{name} is given twice with different values: {top!r} and "
                    f"model_options.{name}={alternative!r}"
                )
        for reserved in ("prompt", "model"):
            if reserved in rest:
                raise ValueError(f"model_options may not set {reserved!r}: use the field")
        merged["model_options"] = rest
        return merged

    @field_validator("prompt")
    @classmethod
    def _check_prompt(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("prompt must not be empty")
        if len(prompt) > MAX_PROMPT_LENGTH:
            raise ValueError(
                f"prompt is {len(prompt)} characters long; the maximum is {MAX_PROMPT_LENGTH}"
            )
        return prompt

    @field_validator("model")
    @classmethod
    def _check_model(cls, model: str) -> str:
        if model not in known_models():
            raise ValueError(f"model must be one of {', '.join(known_models())}, got {model!r}")
        return model

    @field_validator("seconds", mode="before")
    @classmethod
    def _check_seconds(cls, value: Any) -> int:
        return _parse_seconds(value, "seconds")

    @field_validator("polling_interval")
    @classmethod
    def _check_polling_interval(cls, value: timedelta) -> timedelta:
        if not MIN_POLLING_INTERVAL <= value <= MAX_POLLING_INTERVAL:
            raise ValueError("polling_interval must be between 0.1 s and 10 min")
        return value

    @field_validator("max_duration")
    @classmethod
    def _check_max_duration(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= MAX_JOB_DURATION:
            raise ValueError("max_duration must be between 1 s and 7 days")
        return value

    @field_validator("job_id")
    @classmethod
    def _check_job_id(cls, value: str | None) -> str | None:
        return None if value is None else validate_job_id(value)

    @model_validator(mode="after")
    def _check_size_for_model(self) -> VideoRequest:
        family = model_family(self.model)
        allowed = SIZES_BY_MODEL_FAMILY[family]
        if self.size not in allowed:
            hint = ""
            if family not in PRO_MODELS and self.size in SIZES_BY_MODEL_FAMILY["sora-2-pro"]:
                hint = " (that size needs sora-2-pro)"
            raise ValueError(
                f"size {self.size!r} is not allowed for model {self.model!r}{hint}; "
                f"allowed sizes: {', '.join(allowed)}"
            )
        return self

    @property
    def width(self) -> int:
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.size.split("x")[1])

    def summary(self) -> str:
        """A one-line description (≤ 200 bytes) for the Temporal UI and logs."""
        words = " ".join(self.prompt.split())
        head = f"{self.model} · {self.size} · {self.seconds}s · "
        budget = 200 - len(head.encode()) - 4
        quoted = words if len(words.encode()) <= budget else _truncate_utf8(words, budget - 3) + "…"
        return f'{head}"{quoted}"'


def _truncate_utf8(text: str, max_bytes: int) -> str:
    return text.encode()[: max(max_bytes, 0)].decode(errors="ignore")


class VideoJobError(BaseModel):
    """Why a job failed or was cancelled."""

    code: str
    message: str


class VideoResult(BaseModel):
    """A finished video: where it is stored and what it is. Never the bytes themselves."""

    job_id: str
    status: Literal["completed"] = "completed"
    provider_job_id: str
    url: str = Field(description="Where the stored file can be fetched (file:// by default).")
    path: str
    expires_at: datetime | None = Field(description="When the provider's copy expires.")
    bytes: int
    sha256: str
    width: int
    height: int
    duration_seconds: float
    has_audio: bool
    thumbnail_path: str | None = None
    model: str
    prompt: str


class VideoJobStatus(BaseModel):
    """The live state of one job, answered by the workflow's ``status`` query."""

    job_id: str
    provider_job_id: str | None = None
    status: JobState = "pending"
    provider_status: str | None = Field(default=None, description="The provider's raw status.")
    progress: int = Field(default=0, ge=0, le=100)
    error: VideoJobError | None = None
    model: str
    size: str
    seconds: int
    prompt: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    deadline: datetime
    polls: int = 0
    poll_errors: int = 0
    result: VideoResult | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATES


class VideoJobInput(BaseModel):
    """The workflow's input: the request, plus the state carried over a continue-as-new."""

    request: VideoRequest
    carried_status: VideoJobStatus | None = None
