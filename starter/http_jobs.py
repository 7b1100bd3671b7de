"""Fetcher mode and job control: ``/api/video/generate`` and ``/api/video/jobs/{jobId}``.

``useGenerateVideo({ fetcher })`` posts TanStack's ``VideoGenerateInput`` and gets
``{jobId, status: "completed", url, expiresAt}`` once the video is stored (or ``202`` with a
status URL, ``?wait=false``). Status comes from the workflow's query, cancel is its signal.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from starter.client import new_job_id
from starter.errors import JobNotFoundError, VideoJobError
from starter.http_input import VideoInput, job_id_for_run, video_request
from starter.http_state import HttpState, JobId, State, require_token
from workflows.contract import VideoJobStatus

logger = logging.getLogger("reelflow.http")

router = APIRouter(tags=["Fetcher mode and jobs"], dependencies=[Depends(require_token)])


class CancelBody(BaseModel):
    reason: str | None = Field(default=None, max_length=1000, description="Why (shown in status).")


@router.post(
    "/api/video/generate",
    summary="Generate a video and answer with its URL (TanStack fetcher mode)",
    responses={
        202: {"description": "`?wait=false`: `{jobId, statusUrl}`."},
        409: {"description": "The job was cancelled."},
        422: {"description": "Invalid input (nothing started), or the job failed."},
        504: {"description": "The job timed out."},
    },
)
async def generate(
    request: Request,
    body: VideoInput,
    state: State,
    wait: Annotated[bool, Query(description="Wait for the video (default) or return 202.")] = True,
    x_run_id: Annotated[
        str | None, Header(alias="X-Run-Id", description="Optional: makes the call idempotent.")
    ] = None,
) -> JSONResponse:
    """With `X-Run-Id` (or `runId` in an AG-UI body) the same id attaches to the same job."""
    extra = body.model_extra or {}
    run_id = x_run_id or (extra["runId"] if isinstance(extra.get("runId"), str) else None)
    job_id = job_id_for_run(run_id) if run_id else new_job_id()
    video = video_request(body.generation_input())
    client = state.reelflow()
    job = await client.generate_video(request=video, job_id=job_id, require_worker=True)
    if job.created:
        logger.info("started job %s (%s)", job_id, video.summary())
    if not wait:
        status_url = str(request.url_for("job_status", job_id=job_id))
        return JSONResponse(
            {"jobId": job_id, "statusUrl": status_url},
            status_code=202,
            headers={"Location": status_url},
        )
    try:
        result = await job.result()
    except VideoJobError as exc:  # answered by the error handlers, with the status' own code
        status = await job.status()
        code = status.error.code if status.error else exc.code
        raise type(exc)(exc.job_id, code, exc.message) from None
    return JSONResponse(result_json(request, state, job_id, result.thumbnail_path is not None))


@router.get(
    "/api/video/jobs/{job_id}",
    name="job_status",
    summary="The job's status",
    responses={404: {"description": "No such job."}},
)
async def job_status(request: Request, job_id: JobId, state: State) -> JSONResponse:
    status = await state.reelflow().get_video_job_status(job_id)
    return JSONResponse(status_json(request, state, status))


@router.post(
    "/api/video/jobs/{job_id}/cancel",
    summary="Cancel the job (its workflow's `cancel` signal)",
    status_code=202,
    responses={404: {"description": "No such job."}, 409: {"description": "Already ended."}},
)
async def cancel_job(
    request: Request,
    job_id: JobId,
    state: State,
    body: Annotated[CancelBody | None, Body()] = None,
) -> JSONResponse:
    """The provider job is deleted too; the job ends `cancelled`."""
    job = state.reelflow().get_job(job_id)
    status = await job.status()
    if status.is_terminal:
        raise HTTPException(409, f"job {job_id} already ended: {status.status}")
    try:
        await job.cancel((body.reason if body else None) or "cancelled through the HTTP API")
    except JobNotFoundError:
        status = await job.status()  # it ended meanwhile (404 if it never existed)
        raise HTTPException(409, f"job {job_id} already ended: {status.status}") from None
    logger.info("cancel requested for job %s", job_id)
    return JSONResponse(
        {**status_json(request, state, status), "cancelRequested": True}, status_code=202
    )


def status_json(request: Request, state: HttpState, status: VideoJobStatus) -> dict[str, Any]:
    """reelflow's status (with ``cancelled``), named like TanStack's ``VideoStatusResult``."""
    body: dict[str, Any] = {
        "jobId": status.job_id,
        "status": status.status,
        "progress": status.progress,
        "error": status.error.model_dump() if status.error else None,
        "model": status.model,
        "size": status.size,
        "duration": status.seconds,
        "prompt": status.prompt,
        "createdAt": status.created_at.isoformat(),
        "updatedAt": status.updated_at.isoformat(),
        "completedAt": status.completed_at.isoformat() if status.completed_at else None,
    }
    if status.status == "completed" and status.result is not None:
        thumbnail = status.result.thumbnail_path is not None
        body.update(result_json(request, state, status.job_id, thumbnail))
    return body


def result_json(request: Request, state: HttpState, job_id: str, thumbnail: bool) -> dict[str, Any]:
    """TanStack's ``VideoGenerateResult``: ``expiresAt`` is when the signed URL expires
    (``null`` without auth: reelflow's stored copy does not expire)."""
    url, expires_at = state.content_url(request, job_id)
    body: dict[str, Any] = {
        "jobId": job_id,
        "status": "completed",
        "url": url,
        "expiresAt": expires_at.isoformat() if expires_at else None,
    }
    if thumbnail:
        body["thumbnailUrl"], _ = state.content_url(request, job_id, "thumbnail")
    return body
