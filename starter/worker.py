"""The reelflow worker: runs VideoGenerationWorkflow and its activities on one task queue.

It is also where observability is wired in: the provider client's transport is metered, the
interceptors count job outcomes, put job ids on log lines and (with an OTLP endpoint) trace,
and :func:`run_worker` connects with a runtime that serves Prometheus metrics on
``REELFLOW_METRICS_PORT`` (see :mod:`starter.metrics` and :mod:`starter.observability`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from opentelemetry.sdk.trace import TracerProvider
from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

from activities.openai_videos import OpenAIVideosClient
from activities.storage import LocalStorage
from activities.video_activities import VideoActivities
from starter.config import ReelflowSettings
from starter.metrics import MeteredTransport, MetricsInterceptor, runtime_meter, worker_runtime
from starter.observability import LogContextInterceptor, otlp_tracer_provider, tracing_interceptor
from starter.temporal_connection import connect_temporal
from workflows.video_generation import VideoGenerationWorkflow

logger = logging.getLogger("reelflow.worker")


def worker_interceptors(tracer_provider: TracerProvider | None = None) -> list[Interceptor]:
    """Metrics and log context always; Temporal's tracing interceptor when a provider is given."""
    interceptors: list[Interceptor] = [MetricsInterceptor(), LogContextInterceptor()]
    tracing = tracing_interceptor(tracer_provider)
    if tracing is not None:
        interceptors.append(tracing)
    return interceptors


@contextlib.asynccontextmanager
async def video_worker(
    client: Client, settings: ReelflowSettings, *, tracer_provider: TracerProvider | None = None
) -> AsyncIterator[Worker]:
    """A running worker (and its provider client) for the duration of the ``async with``.

    Metrics go to ``client``'s runtime (a no-op unless it serves metrics). Spans go to
    ``tracer_provider`` if given, else to ``settings.otlp_endpoint`` if set (flushed at exit).
    """
    owned_provider = None if tracer_provider else otlp_tracer_provider(settings)
    transport = MeteredTransport(runtime_meter(client.service_client.config.runtime))
    try:
        async with OpenAIVideosClient(
            settings.openai_base_url,
            settings.openai_api_key,
            timeout=settings.provider_timeout,
            transport=transport,
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
                interceptors=worker_interceptors(tracer_provider or owned_provider),
            )
            async with worker:
                yield worker
    finally:
        if owned_provider is not None:
            owned_provider.shutdown()


async def run_worker(settings: ReelflowSettings) -> None:
    """Run until SIGINT/SIGTERM, then finish in-flight tasks and stop."""
    client = await connect_temporal(settings, runtime=worker_runtime(settings.metrics_port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with video_worker(client, settings):
        logger.info(
            "worker polling task queue %r on %s (provider %s, storage %s, metrics %s, traces %s)",
            settings.task_queue,
            settings.temporal_address,
            settings.openai_base_url,
            settings.videos_dir,
            f":{settings.metrics_port}/metrics" if settings.metrics_port else "off",
            settings.otlp_endpoint or "off",
        )
        await stop.wait()
    logger.info("worker stopped")
