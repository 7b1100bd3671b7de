"""Typed models of the OpenAI Videos API wire format (what the provider sends and takes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ProviderStatus = Literal["queued", "in_progress", "completed", "failed"]
ContentVariant = Literal["video", "thumbnail", "spritesheet"]

_STATUS_TO_JOB_STATE: dict[str, str] = {
    "queued": "pending",
    "in_progress": "processing",
    "completed": "completed",
    "failed": "failed",
}


def job_state_for(provider_status: str) -> str:
    """Map a provider status to reelflow's vocabulary (pending/processing/completed/failed).

    An unknown status counts as ``processing``, so a new upstream state never ends a job."""
    return _STATUS_TO_JOB_STATE.get(provider_status, "processing")


class ProviderErrorBody(BaseModel):
    """The ``error`` object of the error envelope, also used for a failed video's ``error``."""

    model_config = ConfigDict(extra="ignore")

    message: str = ""
    type: str | None = None
    param: str | None = None
    code: str | None = None


class ErrorEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    error: ProviderErrorBody


class Video(BaseModel):
    """The Video object. Unknown fields (e.g. ``quality``) are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str
    object: str = "video"
    model: str
    status: str
    progress: int = 0
    created_at: int
    completed_at: int | None = None
    expires_at: int | None = None
    size: str
    seconds: str
    prompt: str | None = None
    remixed_from_video_id: str | None = None
    error: ProviderErrorBody | None = None

    @property
    def job_state(self) -> str:
        return job_state_for(self.status)


class VideoList(BaseModel):
    model_config = ConfigDict(extra="ignore")

    object: str = "list"
    data: list[Video]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class VideoDeleted(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    object: str = "video.deleted"
    deleted: bool


class CreateVideoRequest(BaseModel):
    """The body of ``POST /videos``. ``extra`` holds provider-specific fields passed through."""

    prompt: str
    model: str = "sora-2"
    size: str = "1280x720"
    seconds: str = "4"
    input_reference: Path | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def form_fields(self) -> dict[str, str]:
        fields = {"prompt": self.prompt, "model": self.model, "size": self.size}
        fields["seconds"] = self.seconds
        for key, value in self.extra.items():
            fields[key] = value if isinstance(value, str) else str(value)
        return fields

    def json_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": self.prompt,
            "model": self.model,
            "size": self.size,
            "seconds": self.seconds,
        }
        body.update(self.extra)
        return body


class DownloadedFile(BaseModel):
    """A file the client stored: where, how big, and its sha256."""

    path: Path
    bytes: int
    sha256: str
    content_type: str | None = None
