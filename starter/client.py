"""reelflow's Python API, named after TanStack AI's video functions.

client = await ReelflowClient.connect()
job = await client.generate_video(prompt="A golden retriever surfing", seconds=8)
async for status in job.watch():
    print(status.status, status.progress)
result = await job.result()          # VideoResult: path, url, sha256, ...
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import (
    ApplicationError,
    CancelledError,
    FailureError,
    WorkflowAlreadyStartedError,
)
from temporalio.service import RPCError, RPCStatusCode

from starter.config import ReelflowSettings
from starter.errors import (
    InvalidVideoRequestError,
    JobNotFoundError,
    NoWorkerError,
    VideoJobCancelledError,
    VideoJobError,
    VideoJobFailedError,
    VideoJobTimedOutError,
)
from starter.temporal_connection import connect_temporal
from workflows import search_attributes as sa
from workflows.contract import (
    VideoJobInput,
    VideoJobStatus,
    VideoRequest,
    VideoResult,
    validate_job_id,
)
from workflows.video_generation import CANCELLED_PREFIX, VideoGenerationWorkflow

_ERROR_TYPES: dict[str, type[VideoJobError]] = {
    "VideoJobCancelled": VideoJobCancelledError,
    "VideoJobTimedOut": VideoJobTimedOutError,
}


def new_job_id() -> str:
    return f"video-{uuid.uuid4().hex[:20]}"


def build_request(prompt: str | None = None, **fields: Any) -> VideoRequest:
    """Validate a request without I/O; raise :class:`InvalidVideoRequestError` naming the field."""
    data = {key: value for key, value in fields.items() if value is not None}
    if prompt is not None:
        data["prompt"] = prompt
    try:
        return VideoRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidVideoRequestError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """One readable line per problem: ``field: message``."""
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{location}: {message}" if location else message)
    return "invalid video request: " + "; ".join(problems)


class VideoJob:
    """A handle on one job (a running or finished workflow)."""

    def __init__(self, handle: WorkflowHandle[Any, VideoResult], *, created: bool) -> None:
        self._handle = handle
        self.created = created
        """False when ``generate_video`` attached to a job that already had this id."""

    @property
    def job_id(self) -> str:
        return self._handle.id

    @property
    def run_id(self) -> str | None:
        return self._handle.result_run_id

    async def status(self) -> VideoJobStatus:
        """The current state, from the workflow's ``status`` query."""
        try:
            status: VideoJobStatus = await self._handle.query(VideoGenerationWorkflow.status)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise JobNotFoundError(self.job_id) from None
            raise
        return status

    async def result(self) -> VideoResult:
        """Wait for the job to end; return the stored video or raise :class:`VideoJobError`."""
        try:
            return await self._handle.result()
        except WorkflowFailureError as exc:
            raise self._job_error(exc.cause) from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise JobNotFoundError(self.job_id) from None
            raise

    async def watch(self, *, interval: float = 0.25) -> AsyncIterator[VideoJobStatus]:
        """Yield the status each time it changes, ending with the terminal one."""
        last: dict[str, Any] | None = None
        while True:
            try:
                status = await self.status()
            except WorkflowQueryFailedError:
                await asyncio.sleep(interval)
                continue
            seen = status.model_dump(exclude={"updated_at"})
            if seen != last:
                last = seen
                yield status
            if status.is_terminal:
                return
            await asyncio.sleep(interval)

    async def cancel(self, reason: str = "cancelled by user") -> None:
        """Ask the job to stop (the ``cancel`` signal): the provider job is deleted too."""
        try:
            await self._handle.signal(VideoGenerationWorkflow.cancel, reason)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise JobNotFoundError(self.job_id) from None
            raise

    async def is_running(self) -> bool:
        description = await self._handle.describe()
        return description.status == WorkflowExecutionStatus.RUNNING

    def _job_error(self, cause: BaseException | None) -> VideoJobError:
        if isinstance(cause, CancelledError):
            return VideoJobCancelledError(self.job_id, "cancelled", "cancelled through Temporal")
        if isinstance(cause, ApplicationError):
            error_class = _ERROR_TYPES.get(cause.type or "", VideoJobFailedError)
            code = (cause.type or "failed").removeprefix("Video").removeprefix("Job")
            message = cause.message.removeprefix(CANCELLED_PREFIX)
            return error_class(self.job_id, code.lower() or "failed", message)
        if isinstance(cause, FailureError):
            return VideoJobFailedError(self.job_id, "failed", cause.message)
        return VideoJobFailedError(self.job_id, "failed", str(cause))


class ReelflowClient:
    """Start, watch and cancel video jobs on a Temporal cluster."""

    def __init__(self, temporal: Client, settings: ReelflowSettings) -> None:
        self.temporal = temporal
        self.settings = settings

    @classmethod
    async def connect(
        cls,
        settings: ReelflowSettings | None = None,
        *,
        address: str | None = None,
        namespace: str | None = None,
        task_queue: str | None = None,
    ) -> ReelflowClient:
        """Connect with ``settings`` (default: the environment), overriding any value given."""
        settings = settings or ReelflowSettings()
        overrides = {
            "temporal_address": address,
            "temporal_namespace": namespace,
            "task_queue": task_queue,
        }
        changes = {key: value for key, value in overrides.items() if value is not None}
        if changes:
            settings = settings.model_copy(update=changes)
        return cls(await connect_temporal(settings), settings)

    async def generate_video(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        model: str | None = None,
        size: str | None = None,
        seconds: int | str | None = None,
        input_reference: str | Path | None = None,
        model_options: dict[str, Any] | None = None,
        polling_interval: float | timedelta | None = None,
        max_duration: float | timedelta | None = None,
        job_id: str | None = None,
        require_worker: bool = False,
    ) -> VideoJob:
        """Validate, then start the job (or attach to the running one with the same id).

        Returns at once; nothing is started when validation fails. With ``require_worker``,
        raises :class:`NoWorkerError` instead of starting a job no worker would pick up.
        """
        if request is None:
            request = build_request(
                prompt,
                model=model,
                size=size,
                seconds=seconds,
                input_reference=str(input_reference) if input_reference else None,
                model_options=model_options,
                polling_interval=polling_interval,
                max_duration=max_duration,
                job_id=job_id,
            )
        await _check_input_reference(request)
        if require_worker and not await self.has_worker():
            raise NoWorkerError(self.no_worker_message())
        job_id = request.job_id or job_id or new_job_id()
        try:
            validate_job_id(job_id)
        except ValueError as exc:
            raise InvalidVideoRequestError(str(exc)) from None
        try:
            handle = await self.temporal.start_workflow(
                VideoGenerationWorkflow.run,
                VideoJobInput(request=request),
                id=job_id,
                task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=request.summary(),
                static_details=request_markdown(request),
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(sa.VIDEO_STATUS, "pending"),
                        SearchAttributePair(sa.VIDEO_MODEL, request.model),
                        SearchAttributePair(sa.VIDEO_PROGRESS, 0),
                    ]
                ),
            )
        except WorkflowAlreadyStartedError:
            # The id belongs to a job that already ended: attach to it, never start a second one.
            return self.get_job(job_id)
        return VideoJob(handle, created=_was_started(handle))

    def get_job(self, job_id: str) -> VideoJob:
        return VideoJob(
            self.temporal.get_workflow_handle(job_id, result_type=VideoResult), created=False
        )

    async def get_video_job_status(self, job_id: str) -> VideoJobStatus:
        return await self.get_job(job_id).status()

    async def cancel_video_job(self, job_id: str, reason: str = "cancelled by user") -> None:
        await self.get_job(job_id).cancel(reason)

    async def has_worker(self) -> bool:
        """True when some worker polled the task queue for workflow tasks recently."""
        response = await self.temporal.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.settings.temporal_namespace,
                task_queue=TaskQueue(name=self.settings.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        return len(response.pollers) > 0

    def no_worker_message(self) -> str:
        return (
            f"no worker is polling task queue {self.settings.task_queue!r} at "
            f"{self.settings.temporal_address}: start one with `reelflow worker` "
            "(or `reelflow dev` for the whole local stack)"
        )

    def ui_url(self, job_id: str) -> str:
        return self.settings.workflow_ui_url(job_id)


def _was_started(handle: WorkflowHandle[Any, Any]) -> bool:
    """False when USE_EXISTING attached the start to a job that was already running."""
    response = getattr(handle, "_start_workflow_response", None)
    return bool(getattr(response, "started", True))


def request_markdown(request: VideoRequest) -> str:
    """The full request as Markdown for the UI's static details (no secrets in a request)."""
    lines = [
        "### Video request",
        "",
        "| field | value |",
        "|---|---|",
        f"| model | `{request.model}` |",
        f"| size | `{request.size}` |",
        f"| seconds | {request.seconds} |",
        f"| polling interval | {request.polling_interval.total_seconds():g} s |",
        f"| max duration | {request.max_duration.total_seconds():g} s |",
    ]
    if request.input_reference:
        lines.append(f"| input reference | `{request.input_reference}` |")
    for key, value in request.model_options.items():
        lines.append(f"| model_options.{key} | `{value}` |")
    lines += ["", "**Prompt**", "", "> " + request.prompt.replace("\n", "\n> ")]
    return "\n".join(lines)[:20_000]


async def _check_input_reference(request: VideoRequest) -> None:
    reference = request.input_reference
    if reference is None or reference.startswith(("http://", "https://")):
        return
    if not await asyncio.to_thread(Path(reference).is_file):
        raise InvalidVideoRequestError(f"input_reference: no such file {reference}")
