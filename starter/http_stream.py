"""``/api/generate/video``: TanStack's streamed video run, fed by the job's workflow.

``POST`` starts the job for a run id (or attaches to it: same run id, same job) and streams
its events; ``GET ?runId=…&offset=-1`` (``joinRun``) streams an existing run. Both honour
``Last-Event-ID``. The events come from the workflow's ``status`` query, re-asked every
``watch_interval`` and at once when the workflow ends; the provider is never polled from here.
Offsets are derived from the job's state (``starter.http_events``), so resuming works the same
after the HTTP server restarted.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import EventSourceResponse, ServerSentEvent
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from starter.client import VideoJob
from starter.errors import JobNotFoundError, ReelflowError, VideoJobCancelledError, VideoJobError
from starter.http_events import (
    BEFORE_FIRST,
    RunIds,
    StreamEvent,
    generation_result,
    job_created,
    run_error,
    run_finished,
    run_started,
    video_status,
)
from starter.http_input import (
    RequestProblem,
    RunAgentInput,
    job_id_for_run,
    new_run_id,
    parse_offset,
    video_request,
)
from starter.http_state import HttpState, State, require_token
from workflows.contract import VideoJobError as JobErrorInfo
from workflows.contract import VideoJobStatus

logger = logging.getLogger("reelflow.http")

FIRST_STATUS_TIMEOUT = 20.0
"""Seconds a request waits for the workflow to answer before the stream starts."""

ResultUrl = Callable[[str], tuple[str, datetime | None]]
"""job id → (absolute content URL, when it expires)."""

SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`text/event-stream`: one AG-UI event per `data:` line, `id:` = offset.",
        "content": {"text/event-stream": {}},
    }
}

router = APIRouter(tags=["TanStack video stream"], dependencies=[Depends(require_token)])

RunIdHeader = Annotated[
    str | None, Header(alias="X-Run-Id", description="The run id (same as `runId` in the body).")
]
LastEventId = Annotated[
    str | None,
    Header(alias="Last-Event-ID", description="Resume: send only the events after this offset."),
]


@router.post(
    "/api/generate/video",
    summary="Start (or resume) a video run and stream its events",
    response_class=EventSourceResponse,
    responses=SSE_RESPONSE,
)
async def stream_video(
    request: Request,
    body: RunAgentInput,
    state: State,
    x_run_id: RunIdHeader = None,
    last_event_id: LastEventId = None,
) -> Response:
    """What `fetchServerSentEvents(url)` posts. The same run id always attaches to the same
    job; a reconnect (`Last-Event-ID`) only ever attaches, never starts one (`404` if the job
    is gone)."""
    after = parse_offset(last_event_id, "Last-Event-ID")
    run_id = x_run_id or body.runId or new_run_id()
    job_id = job_id_for_run(run_id)
    video = video_request(body.generation_input())
    if after == BEFORE_FIRST:
        client = state.reelflow()
        job = await client.generate_video(request=video, job_id=job_id, require_worker=True)
        if job.created:
            logger.info("run %s started job %s (%s)", run_id, job_id, video.summary())
    ids = RunIds(run_id=run_id, thread_id=body.threadId or "", job_id=job_id)
    return await _stream_job(request, state, ids, after)


@router.get(
    "/api/generate/video",
    summary="Join a run (`joinRun`): stream it from an offset",
    response_class=EventSourceResponse,
    responses=SSE_RESPONSE,
)
async def join_run(
    request: Request,
    state: State,
    runId: Annotated[str | None, Query(description="The run to join.")] = None,
    offset: Annotated[str | None, Query(description="-1: from the start.")] = None,
    threadId: Annotated[str | None, Query(description="Hydration probe only.")] = None,
    last_event_id: LastEventId = None,
) -> Response:
    """`joinRun(runId)` after a page reload. A `threadId`-only request (TanStack's
    `hydrateGeneration` probe) answers `null`: reelflow keeps no per-thread record."""
    if runId is None:
        if threadId is not None:
            return JSONResponse(None)
        raise RequestProblem(400, "runId is required", ["runId"])
    if last_event_id is not None:
        after = parse_offset(last_event_id, "Last-Event-ID")
    else:
        after = parse_offset(offset, "offset")
    ids = RunIds(run_id=runId, thread_id=threadId or "", job_id=job_id_for_run(runId))
    return await _stream_job(request, state, ids, after)


async def _stream_job(request: Request, state: HttpState, ids: RunIds, after: int) -> Response:
    """The SSE response of one job from ``after`` on; ``404`` before it starts if unknown."""
    job = state.reelflow().get_job(ids.job_id)  # no run id: follows a continue-as-new
    first = await first_status(job, state.watch_interval)
    events = job_events(
        job,
        ids,
        first,
        after,
        interval=state.watch_interval,
        result_url=lambda job_id: state.content_url(request, job_id),
    )
    return sse_response(events, state.ping_interval)


def sse_response(events: AsyncIterator[StreamEvent], ping_interval: float) -> EventSourceResponse:
    """``id: <offset>`` + ``data: <json>`` per event; ``: ping`` comments keep proxies open."""

    async def encoded() -> AsyncIterator[ServerSentEvent]:
        async for event in events:
            data = json.dumps(event.payload, separators=(",", ":"))
            yield ServerSentEvent(data=data, id=str(event.offset), sep="\n")

    return EventSourceResponse(encoded(), ping=ping_interval, sep="\n")


async def job_events(
    job: VideoJob,
    ids: RunIds,
    first: VideoJobStatus,
    after: int,
    *,
    interval: float,
    result_url: ResultUrl,
) -> AsyncIterator[StreamEvent]:
    """The run's events with an offset above ``after``, until its terminal event."""
    last = after
    status = first
    for event in (run_started(ids, status.created_at), job_created(ids, status.created_at)):
        if event.offset > last:
            last = event.offset
            yield event
    ended = asyncio.create_task(_outcome(job))
    try:
        while True:
            event = video_status(ids, status)
            if event.offset > last:
                last = event.offset
                yield event
            if status.is_terminal:
                break
            if ended.done():
                status = await current_status(job, interval)
                if not status.is_terminal:
                    status = _ended_without_status(status, ended.result())
                continue
            await asyncio.wait({ended}, timeout=interval)
            status = await current_status(job, interval)
    finally:
        ended.cancel()
    for event in _endings(ids, status, result_url):
        if event.offset > last:
            last = event.offset
            yield event


async def first_status(job: VideoJob, interval: float) -> VideoJobStatus:
    """The status a stream starts from; 503 rather than an endless wait before the response."""
    try:
        return await asyncio.wait_for(current_status(job, interval), FIRST_STATUS_TIMEOUT)
    except TimeoutError:
        raise HTTPException(503, f"the status of job {job.job_id} is not available") from None


async def current_status(job: VideoJob, interval: float) -> VideoJobStatus:
    """The workflow's ``status`` query, retried while Temporal or the worker cannot answer."""
    warned = False
    while True:
        try:
            return await job.status()
        except WorkflowQueryFailedError as exc:
            problem: Exception = exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise JobNotFoundError(job.job_id) from None
            problem = exc
        if not warned:
            logger.warning("status of job %s not available yet (%s); retrying", job.job_id, problem)
            warned = True
        await asyncio.sleep(interval)


async def _outcome(job: VideoJob) -> ReelflowError | None:
    """Wait for the workflow to close: None when it completed, else why it did not."""
    while True:
        try:
            await job.result()
            return None
        except (VideoJobError, JobNotFoundError) as exc:
            return exc
        except RPCError:
            await asyncio.sleep(1.0)  # Temporal unreachable for a moment: keep waiting


def _ended_without_status(status: VideoJobStatus, outcome: ReelflowError | None) -> VideoJobStatus:
    """The workflow closed while its state still looked running (terminated, timed out by
    Temporal): report how it ended, so the stream still gets its terminal event."""
    if isinstance(outcome, VideoJobError):
        state = "cancelled" if isinstance(outcome, VideoJobCancelledError) else "failed"
        error = JobErrorInfo(code=outcome.code, message=outcome.message)
    else:
        state, error = "failed", JobErrorInfo(code="ended", message=str(outcome or "job ended"))
    return status.model_copy(update={"status": state, "error": error})


def _endings(ids: RunIds, status: VideoJobStatus, result_url: ResultUrl) -> Iterator[StreamEvent]:
    ended_at = status.completed_at or status.updated_at
    if status.status == "completed":
        url, expires_at = result_url(ids.job_id)
        yield generation_result(ids, url, expires_at, ended_at)
        yield run_finished(ids, ended_at)
        return
    error = status.error
    code = error.code if error else status.status
    message = error.message if error else f"video job {status.status}"
    yield run_error(ids, code, message, ended_at)
