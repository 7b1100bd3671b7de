"""Inputs and outputs of reelflow's activities (pydantic, carried by Temporal's converter)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from workflows.contract import VideoJobError, VideoRequest


class CreateVideoJobInput(BaseModel):
    job_id: str
    idempotency_key: str
    request: VideoRequest


class ProviderJobSnapshot(BaseModel):
    """What one provider call said about the job, in reelflow's words (plus the raw status)."""

    provider_job_id: str
    provider_status: str
    state: str
    progress: int
    error: VideoJobError | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None


class PollVideoStatusInput(BaseModel):
    job_id: str
    provider_job_id: str


class DownloadVideoInput(BaseModel):
    job_id: str
    provider_job_id: str
    request: VideoRequest
    expires_at: datetime | None = None


class DeleteVideoJobInput(BaseModel):
    job_id: str
    provider_job_id: str
