"""The reelflow worker: runs VideoGenerationWorkflow and its activities on one task queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from temporalio.client import Client
from temporalio.worker import Worker

from activities.openai_videos import OpenAIVideosClient
from activities.storage import LocalStorage
from activities.video_activities import VideoActivities
from starter.config import ReelflowSettings
from starter.temporal_connection import connect_temporal
from workflows.video_generation import VideoGenerationWorkflow

logger = logging.getLogger("reelflow.worker")


@contextlib.asynccontextmanager
async def video_worker(client: Client, settings: ReelflowSettings) -> AsyncIterator[Worker]:
    """A running worker (and its provider client) for the duration of the ``async with``."""
    async with OpenAIVideosClient(
        settings.openai_base_url, settings.openai_api_key, timeout=settings.provider_timeout
    ) as provider:
        activities = VideoActivities(provider, LocalStorage(settings.videos_dir))
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[VideoGenerationWorkflow],
            activities=[
                activities.create_video_job,
                activities.poll_video_status,
                activities.download_video,
                activities.delete_video_job,
                activities.remove_job_files,
            ],
            max_concurrent_activities=settings.max_concurrent_activities,
        )
        async with worker:
            yield worker


async def run_worker(settings: ReelflowSettings) -> None:
    """Run until SIGINT/SIGTERM, then finish in-flight tasks and stop."""
    client = await connect_temporal(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with video_worker(client, settings):
        logger.info(
            "worker polling task queue %r on %s (provider %s, storage %s)",
            settings.task_queue,
            settings.temporal_address,
            settings.openai_base_url,
            settings.videos_dir,
        )
        await stop.wait()
    logger.info("worker stopped")
