"""VideoGenerationWorkflow: one text-to-video job as durable steps.

    create → [durable timer → poll status]* → finalize (download, verify, store)

Progress is answered by the ``status`` query; the ``cancel`` signal and Temporal's own cancel
both stop the job and delete the provider job. Everything non-deterministic happens in
activities: this module does no I/O and reads no clock but ``workflow.now()``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    is_cancelled_exception,
)

with workflow.unsafe.imports_passed_through():
    from activities.models import (
        CreateVideoJobInput,
        DeleteVideoJobInput,
        DownloadVideoInput,
        PollVideoStatusInput,
        ProviderJobSnapshot,
    )
    from activities.video_activities import VideoActivities
    from workflows import search_attributes as sa
    from workflows.contract import (
        VideoJobError,
        VideoJobInput,
        VideoJobStatus,
        VideoRequest,
        VideoResult,
    )

WORKFLOW_NAME = "VideoGenerationWorkflow"
CANCELLED_PREFIX = "job cancelled: "

T = TypeVar("T", str, int)

PROVIDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
"""Transient provider errors retry with backoff (or the server's retry-after); permanent ones
are raised as non-retryable and end the job at once."""

POLL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=4,
)
"""One poll retries a few times; if it still fails the loop just polls again next round."""

POLL_FAILURE_PATCH = "poll-failure-continues"
"""Runs with this marker handle a poll that failed for good (see ``_poll_once``)."""

CLEANUP_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10))


class _CancelRequested(Exception):
    """Raised inside the workflow when the ``cancel`` signal arrived."""


@workflow.defn(name=WORKFLOW_NAME)
class VideoGenerationWorkflow:
    @workflow.init
    def __init__(self, job: VideoJobInput) -> None:
        self._request: VideoRequest = job.request
        self._cancel_reason: str | None = None
        self._expires_at: datetime | None = None
        self._pending_create: workflow.ActivityHandle[ProviderJobSnapshot] | None = None
        self._pending_download: workflow.ActivityHandle[VideoResult] | None = None
        self._published: dict[str, object] = {}
        self._poll_backoff = timedelta(0)
        if job.carried_status is not None:
            self._status = job.carried_status
        else:
            now = workflow.now()
            request = job.request
            self._status = VideoJobStatus(
                job_id=workflow.info().workflow_id,
                model=request.model,
                size=request.size,
                seconds=request.seconds,
                prompt=request.prompt,
                created_at=now,
                updated_at=now,
                deadline=now + request.max_duration,
            )

    @workflow.run
    async def run(self, job: VideoJobInput) -> VideoResult:
        self._publish()
        try:
            if self._status.provider_job_id is None:
                await self._create_provider_job()
            await self._poll_until_finished()
            return await self._finalize()
        except _CancelRequested:
            reason = self._cancel_reason or "cancelled"
            await self._clean_up_cancelled_job(reason)
            raise ApplicationError(
                f"{CANCELLED_PREFIX}{reason}", type="VideoJobCancelled", non_retryable=True
            ) from None
        except (asyncio.CancelledError, ActivityError) as exc:
            if not is_cancelled_exception(exc):
                raise
            reason = self._cancel_reason or "cancel requested through Temporal"
            await asyncio.shield(asyncio.ensure_future(self._clean_up_cancelled_job(reason)))
            raise

    @workflow.query
    def status(self) -> VideoJobStatus:
        """The job's current state; answered at any moment, writes no history."""
        return self._status

    @workflow.signal
    def cancel(self, reason: str = "cancelled by user") -> None:
        """Stop the job: polling ends, the provider job is deleted, the job ends cancelled."""
        if self._cancel_reason is None and not self._status.is_terminal:
            self._cancel_reason = reason or "cancelled by user"

    # -- the steps ----------------------------------------------------------------------------

    async def _create_provider_job(self) -> None:
        info = workflow.info()
        create = workflow.start_activity_method(
            VideoActivities.create_video_job,
            CreateVideoJobInput(
                job_id=info.workflow_id,
                idempotency_key=f"reelflow:{info.workflow_id}:{info.first_execution_run_id}",
                request=self._request,
            ),
            start_to_close_timeout=timedelta(seconds=60),
            schedule_to_close_timeout=self._time_left(),
            retry_policy=PROVIDER_RETRY,
            summary="create video job",
        )
        # The create is shielded: if the job is cancelled meanwhile, its answer is still needed
        # to know which provider job to delete.
        self._pending_create = create
        try:
            snapshot = await asyncio.shield(create)
        except ActivityError as exc:
            self._fail("create_failed", _failure_message(exc))
            raise _job_failed(f"could not create the video job: {_failure_message(exc)}") from None
        self._apply(snapshot)
        if self._cancel_reason is not None:
            raise _CancelRequested

    async def _poll_until_finished(self) -> None:
        while not self._provider_finished():
            await self._wait_before_next_poll()
            snapshot = await self._poll_once()
            if snapshot is not None:
                self._apply(snapshot)
            if self._provider_finished():
                break
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    VideoJobInput(request=self._request, carried_status=self._status)
                )
        if self._status.provider_status == "failed":
            error = self._status.error or VideoJobError(code="failed", message="unknown reason")
            self._set_status(status="failed")
            raise _job_failed(f"video generation failed: {error.code}: {error.message}")

    async def _wait_before_next_poll(self) -> None:
        remaining = self._time_left()
        if remaining <= timedelta(0):
            await self._time_out()
        wait = min(max(self._request.polling_interval, self._poll_backoff), remaining)
        self._poll_backoff = timedelta(0)
        try:
            await workflow.wait_condition(
                lambda: self._cancel_reason is not None,
                timeout=wait,
                timeout_summary=f"wait {wait.total_seconds():g}s",
            )
        except TimeoutError:
            pass
        if self._cancel_reason is not None:
            raise _CancelRequested
        if self._time_left() <= timedelta(0):
            await self._time_out()

    async def _poll_once(self) -> ProviderJobSnapshot | None:
        provider_job_id = self._provider_job_id()
        try:
            snapshot: ProviderJobSnapshot = await workflow.execute_local_activity_method(
                VideoActivities.poll_video_status,
                PollVideoStatusInput(job_id=self._status.job_id, provider_job_id=provider_job_id),
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=min(timedelta(minutes=2), self._time_left()),
                retry_policy=POLL_RETRY,
                summary=f"poll status (attempt {self._status.polls + 1})",
            )
        except FailureError as exc:
            if is_cancelled_exception(exc):
                raise
            # A local activity that fails for good raises its own failure (ApplicationError),
            # not an ActivityError; runs from before this was handled ended here, so they
            # replay the same way.
            if not isinstance(exc, ActivityError) and not workflow.patched(POLL_FAILURE_PATCH):
                raise
            if _is_non_retryable(exc):
                self._fail("provider_job_lost", _failure_message(exc))
                raise _job_failed(_failure_message(exc)) from None
            # A transient failure of one poll does not end the job: poll again next round,
            # and not before the provider's retry-after.
            self._poll_backoff = _next_retry_delay(exc) or timedelta(0)
            self._set_status(polls=self._status.polls + 1, poll_errors=self._status.poll_errors + 1)
            return None
        self._set_status(polls=self._status.polls + 1)
        return snapshot

    async def _finalize(self) -> VideoResult:
        expires_at = self._expires_at
        if expires_at is not None and workflow.now() >= expires_at:
            message = f"the video's assets expired at {expires_at.isoformat()} before download"
            self._fail("asset_expired", message)
            raise _job_failed(message)
        download = workflow.start_activity_method(
            VideoActivities.download_video,
            DownloadVideoInput(
                job_id=self._status.job_id,
                provider_job_id=self._provider_job_id(),
                request=self._request,
                expires_at=expires_at,
            ),
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=PROVIDER_RETRY,
            # The size is unknown until the bytes arrive: the summary names what is fetched,
            # the heartbeat shows bytes received and the current details the stored size.
            summary=f"download {self._request.size} · {self._request.seconds}s video",
        )
        self._pending_download = download
        await workflow.wait_condition(lambda: download.done() or self._cancel_reason is not None)
        if not download.done():
            raise _CancelRequested
        try:
            result = await download
        except ActivityError as exc:
            if is_cancelled_exception(exc):
                raise
            self._fail("download_failed", _failure_message(exc))
            raise _job_failed(f"could not store the video: {_failure_message(exc)}") from None
        self._set_status(
            status="completed", progress=100, result=result, completed_at=workflow.now()
        )
        return result

    # -- endings ------------------------------------------------------------------------------

    async def _time_out(self) -> None:
        message = f"timed out after {_human(self._request.max_duration)}"
        self._fail("timeout", message)
        await self._delete_provider_job()
        raise ApplicationError(message, type="VideoJobTimedOut", non_retryable=True)

    async def _clean_up_cancelled_job(self, reason: str) -> None:
        self._set_status(status="cancelled", error=VideoJobError(code="cancelled", message=reason))
        if self._pending_download is not None and not self._pending_download.done():
            self._pending_download.cancel()
            with contextlib.suppress(ActivityError, asyncio.CancelledError):
                await self._pending_download
        if self._status.provider_job_id is None and self._pending_create is not None:
            with contextlib.suppress(ActivityError):
                self._apply(await self._pending_create, keep_state=True)
        await self._delete_provider_job()
        await workflow.execute_activity_method(
            VideoActivities.remove_job_files,
            self._status.job_id,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=CLEANUP_RETRY,
            summary="remove partial files",
        )

    async def _delete_provider_job(self) -> None:
        """Best effort: a failed delete is recorded but never changes how the job ends."""
        if self._status.provider_job_id is None:
            return
        try:
            await workflow.execute_activity_method(
                VideoActivities.delete_video_job,
                DeleteVideoJobInput(
                    job_id=self._status.job_id, provider_job_id=self._status.provider_job_id
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=CLEANUP_RETRY,
                summary="delete provider job",
            )
        except ActivityError as exc:
            workflow.logger.warning("could not delete provider job: %s", _failure_message(exc))

    # -- state --------------------------------------------------------------------------------

    def _set_status(self, **update: object) -> None:
        """Change the job state and show it: current details live, search attributes on change."""
        self._status = self._status.model_copy(update={**update, "updated_at": workflow.now()})
        self._publish()

    def _publish(self) -> None:
        status = self._status
        workflow.set_current_details(_details_markdown(status))
        # Search attributes only when they change (every upsert costs a history event);
        # progress in quartiles for the same reason.
        updates: list[SearchAttributeUpdate[Any]] = []
        self._changed(updates, sa.VIDEO_STATUS, status.status)
        self._changed(updates, sa.VIDEO_PROGRESS, (status.progress // 25) * 25)
        self._changed(updates, sa.VIDEO_MODEL, status.model)
        if status.provider_job_id:
            self._changed(updates, sa.VIDEO_PROVIDER_JOB_ID, status.provider_job_id)
        if updates:
            workflow.upsert_search_attributes(updates)

    def _changed(
        self, updates: list[SearchAttributeUpdate[Any]], key: SearchAttributeKey[T], value: T
    ) -> None:
        if self._published.get(key.name) != value:
            self._published[key.name] = value
            updates.append(key.value_set(value))

    def _apply(self, snapshot: ProviderJobSnapshot, *, keep_state: bool = False) -> None:
        update: dict[str, object] = {
            "provider_job_id": snapshot.provider_job_id,
            "provider_status": snapshot.provider_status,
            # Progress never goes backwards, whatever a provider reports; 100 means stored.
            "progress": max(self._status.progress, min(snapshot.progress, 99)),
        }
        if not keep_state:
            update["status"] = "processing" if snapshot.state == "completed" else snapshot.state
        if snapshot.error is not None:
            update["error"] = snapshot.error
        self._expires_at = snapshot.expires_at or self._expires_at
        self._set_status(**update)

    def _fail(self, code: str, message: str) -> None:
        self._set_status(status="failed", error=VideoJobError(code=code, message=message))

    def _provider_finished(self) -> bool:
        return self._status.provider_status in ("completed", "failed")

    def _provider_job_id(self) -> str:
        assert self._status.provider_job_id is not None
        return self._status.provider_job_id

    def _time_left(self) -> timedelta:
        return self._status.deadline - workflow.now()


def _job_failed(message: str) -> ApplicationError:
    return ApplicationError(message, type="VideoJobFailed", non_retryable=True)


def _application_error(exc: FailureError) -> ApplicationError | None:
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    return cause if isinstance(cause, ApplicationError) else None


def _is_non_retryable(exc: FailureError) -> bool:
    error = _application_error(exc)
    return error is not None and error.non_retryable


def _next_retry_delay(exc: FailureError) -> timedelta | None:
    """The provider's retry-after, carried by the activity's failure."""
    error = _application_error(exc)
    return error.next_retry_delay if error is not None else None


def _failure_message(exc: BaseException) -> str:
    """The innermost failure's message (the provider's words, not Temporal's wrapping)."""
    cause: BaseException = exc
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    return cause.message if isinstance(cause, FailureError) else str(cause)


def _details_markdown(status: VideoJobStatus) -> str:
    filled = status.progress // 5
    bar = "█" * filled + "░" * (20 - filled)
    lines = [
        f"**{status.status}** `{bar}` {status.progress}%",
        "",
        f"- provider job: `{status.provider_job_id or 'not created yet'}`"
        + (f" ({status.provider_status})" if status.provider_status else ""),
        f"- polls so far: {status.polls} ({status.poll_errors} failed)",
        f"- deadline: {status.deadline.isoformat()}",
    ]
    if status.error is not None:
        lines.append(f"- last error: `{status.error.code}`: {status.error.message}")
    if status.result is not None:
        lines.append(f"- stored: {_megabytes(status.result.bytes)} at `{status.result.path}`")
    return "\n".join(lines)


def _megabytes(size: int) -> str:
    """``8.1 MB`` (decimal megabytes, as file managers show them)."""
    return f"{size / 1_000_000:.1f} MB"


def _human(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{duration.total_seconds():g} s"
