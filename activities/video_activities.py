"""reelflow's activities: every call to the provider and every file write happens here.

Each activity is thin: it translates the contract into a provider call and maps provider errors
onto Temporal's retryable / non-retryable failures. The retry policies live in the workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import (
    ProviderAssetExpiredError,
    ProviderError,
    ProviderNotFoundError,
    ProviderRetryableError,
)
from activities.media_probe import NotAVideoError, check_image, probe_video, sha256_of
from activities.models import (
    CreateVideoJobInput,
    DeleteVideoJobInput,
    DownloadVideoInput,
    PollVideoStatusInput,
    ProviderJobSnapshot,
)
from activities.openai_videos import OpenAIVideosClient
from activities.provider_models import CreateVideoRequest, Video
from activities.storage import LocalStorage
from workflows.contract import VideoJobError, VideoRequest, VideoResult

logger = logging.getLogger("reelflow.activities")

HEARTBEAT_EVERY_SECONDS = 1.0
NOT_PLAYABLE_ATTEMPTS = 3
"""Downloads that do not verify as a video (other failures not counted) before the job fails."""
INCOMING_VIDEO = ".video.mp4.incoming.part"
"""Where a downloaded video waits for verification (a ``.part`` name: cleared if abandoned)."""
INCOMING_THUMBNAIL = ".thumbnail.webp.incoming.part"


def application_error(exc: ProviderError) -> ApplicationError:
    """Map a provider error to a Temporal failure whose type names the error class."""
    retry_after = getattr(exc, "retry_after", None)
    return ApplicationError(
        exc.message,
        {"status_code": exc.status_code, "code": exc.code, "param": exc.param},
        type=type(exc).__name__,
        non_retryable=not isinstance(exc, ProviderRetryableError),
        next_retry_delay=None if retry_after is None else _seconds(retry_after),
    )


def snapshot_of(video: Video) -> ProviderJobSnapshot:
    error = None
    if video.error is not None:
        error = VideoJobError(code=video.error.code or "failed", message=video.error.message)
    elif video.status == "failed":
        error = VideoJobError(code="failed", message="the provider reported the job as failed")
    return ProviderJobSnapshot(
        provider_job_id=video.id,
        provider_status=video.status,
        state=video.job_state,
        progress=max(0, min(100, video.progress)),
        error=error,
        completed_at=_from_unix(video.completed_at),
        expires_at=_from_unix(video.expires_at),
    )


class VideoActivities:
    """The activities, bound to one provider client and one storage directory per worker."""

    def __init__(self, client: OpenAIVideosClient, storage: LocalStorage) -> None:
        self._client = client
        self._storage = storage

    @activity.defn(name="create_video_job")
    async def create_video_job(self, job: CreateVideoJobInput) -> ProviderJobSnapshot:
        """Start the paid provider job; the idempotency key makes retries safe."""
        async with _input_reference_file(job.request) as reference:
            request = _create_request(job.request, reference)
            try:
                video = await self._client.create(request, idempotency_key=job.idempotency_key)
            except ProviderError as exc:
                raise application_error(exc) from None
        activity.logger.info(
            "created provider job %s for job %s",
            video.id,
            job.job_id,
            extra={"provider_job_id": video.id},  # a field of structured log lines
        )
        return snapshot_of(video)

    @activity.defn(name="poll_video_status")
    async def poll_video_status(self, poll: PollVideoStatusInput) -> ProviderJobSnapshot:
        """Ask the provider once where the job stands."""
        try:
            video = await self._client.retrieve(poll.provider_job_id)
        except ProviderNotFoundError as exc:
            raise ApplicationError(
                f"provider job not found: {poll.provider_job_id} is unknown to the provider "
                f"({exc.message})",
                type="ProviderNotFoundError",
                non_retryable=True,
            ) from None
        except ProviderError as exc:
            raise application_error(exc) from None
        return snapshot_of(video)

    @activity.defn(name="download_video")
    async def download_video(self, download: DownloadVideoInput) -> VideoResult:
        """Stream the video and thumbnail into storage, verify them, describe the result."""
        # The video and thumbnail land next to their final paths and are moved there only once
        # verified, so a final path never shows a cut or garbled file.
        incoming = self._storage.video_path(download.job_id).with_name(INCOMING_VIDEO)
        thumbnail_path = self._storage.thumbnail_path(download.job_id)
        # A worker killed mid-download leaves its temp file: the new attempt clears it.
        await asyncio.to_thread(self._storage.remove_temp_files, download.job_id)
        heartbeat = _Heartbeat()
        try:
            video_file = await self._client.download(
                download.provider_job_id, incoming, variant="video", on_progress=heartbeat
            )
            thumbnail: Path | None = thumbnail_path
            try:
                await self._client.download(
                    download.provider_job_id,
                    thumbnail_path.with_name(INCOMING_THUMBNAIL),
                    variant="thumbnail",
                    on_progress=heartbeat,
                )
            except ProviderError as exc:
                if not isinstance(exc, ProviderRetryableError | ProviderAssetExpiredError):
                    thumbnail = None  # a host without thumbnails still gives the video
                else:
                    raise
        except ProviderAssetExpiredError as exc:
            expiry = download.expires_at.isoformat() if download.expires_at else "unknown"
            raise ApplicationError(
                f"the video's assets expired before they could be downloaded "
                f"(provider expiry: {expiry}; {exc.message})",
                type="VideoAssetExpired",
                non_retryable=True,
            ) from None
        except ProviderError as exc:
            raise application_error(exc) from None
        try:
            return await asyncio.to_thread(
                self._verified_result, download, video_file.sha256, video_file.bytes, thumbnail
            )
        except NotAVideoError as exc:
            # A cut or garbled transfer is worth another download; a provider that keeps
            # sending a broken file ends the job. Only such downloads count, not other errors.
            broken = heartbeat.record_not_playable()
            raise ApplicationError(
                f"{exc} ({broken} of at most {NOT_PLAYABLE_ATTEMPTS} downloads did not verify)",
                type="VideoNotPlayable",
                non_retryable=broken >= NOT_PLAYABLE_ATTEMPTS,
            ) from None

    @activity.defn(name="delete_video_job")
    async def delete_video_job(self, delete: DeleteVideoJobInput) -> bool:
        """Delete the provider job (after cancel or timeout). An unknown id counts as deleted."""
        try:
            await self._client.delete(delete.provider_job_id)
        except ProviderNotFoundError:
            return False
        except ProviderError as exc:
            raise application_error(exc) from None
        activity.logger.info("deleted provider job %s", delete.provider_job_id)
        return True

    @activity.defn(name="remove_job_files")
    async def remove_job_files(self, job_id: str) -> None:
        """Remove whatever a cancelled job left in storage."""
        await asyncio.to_thread(self._storage.remove_job, job_id)

    def _verified_result(
        self,
        download: DownloadVideoInput,
        sha256: str,
        size: int,
        thumbnail: Path | None,
    ) -> VideoResult:
        path = self._storage.video_path(download.job_id)
        incoming = path.with_name(INCOMING_VIDEO)
        on_disk = sha256_of(incoming)
        if on_disk != sha256:
            raise ApplicationError(
                f"stored video {path} does not match what was received (sha256 {on_disk} != "
                f"{sha256}); downloading again",
                type="VideoChecksumMismatch",
            )
        facts = probe_video(incoming)  # NotAVideoError: the caller decides about a retry
        if thumbnail is not None:
            check_image(thumbnail.with_name(INCOMING_THUMBNAIL))
            os.replace(thumbnail.with_name(INCOMING_THUMBNAIL), thumbnail)
        os.replace(incoming, path)
        request = download.request
        return VideoResult(
            job_id=download.job_id,
            provider_job_id=download.provider_job_id,
            url=self._storage.url_for(path),
            path=str(path),
            expires_at=download.expires_at,
            bytes=size,
            sha256=sha256,
            width=facts.width,
            height=facts.height,
            duration_seconds=facts.duration_seconds,
            has_audio=facts.has_audio,
            thumbnail_path=str(thumbnail) if thumbnail else None,
            model=request.model,
            prompt=request.prompt,
        )


class _Heartbeat:
    """Heartbeats with the bytes received, at most once a second (so cancels are seen).

    Every heartbeat also carries ``not_playable``, the number of earlier downloads of this job
    that did not verify: Temporal hands the last heartbeat to the next attempt.
    """

    def __init__(self) -> None:
        self._last = 0.0
        details = activity.info().heartbeat_details
        carried = details[0] if details and isinstance(details[0], dict) else {}
        self.not_playable = int(carried.get("not_playable", 0))

    def __call__(self, received: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last >= HEARTBEAT_EVERY_SECONDS or received == total:
            self._last = now
            activity.heartbeat(
                {"received": received, "total": total, "not_playable": self.not_playable}
            )

    def record_not_playable(self) -> int:
        self.not_playable += 1
        activity.heartbeat({"not_playable": self.not_playable})
        return self.not_playable


def _create_request(request: VideoRequest, reference: Path | None) -> CreateVideoRequest:
    return CreateVideoRequest(
        prompt=request.prompt,
        model=request.model,
        size=request.size,
        seconds=str(request.seconds),
        input_reference=reference,
        extra=request.model_options,
    )


@contextlib.asynccontextmanager
async def _input_reference_file(request: VideoRequest) -> AsyncIterator[Path | None]:
    """The reference image as a local file: the path itself, or a URL fetched to a temp file."""
    reference = request.input_reference
    if reference is None:
        yield None
        return
    if not reference.startswith(("http://", "https://")):
        path = Path(reference)
        if not await asyncio.to_thread(path.is_file):
            raise ApplicationError(
                f"input_reference {reference} does not exist on the worker",
                type="InputReferenceMissing",
                non_retryable=True,
            )
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="reelflow-ref-") as folder:
        name = Path(httpx.URL(reference).path).name or "reference.png"
        target = Path(folder) / name
        try:
            async with httpx.AsyncClient(timeout=30, follow_redirects=True) as http:
                response = await http.get(reference)
                response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ApplicationError(
                f"could not fetch input_reference {reference}: {exc}", type="InputReferenceFetch"
            ) from None
        await asyncio.to_thread(target.write_bytes, response.content)
        yield target


def _from_unix(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
