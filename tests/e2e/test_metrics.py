"""The worker's telemetry after real jobs: Prometheus metrics, JSON log lines, OpenTelemetry spans.

One worker, on its own task queue, with a runtime serving ``/metrics`` on a free port, a JSON
log handler and an in-memory span exporter, runs three jobs against the simulator: one that
completes after a rate-limited poll, one the provider fails (moderation) and one cancelled.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.errors import VideoJobCancelledError, VideoJobFailedError
from starter.metrics import prometheus_runtime
from starter.observability import (
    JobContextFilter,
    JsonFormatter,
    TextFormatter,
    log_handler,
    mask_secrets,
)
from starter.processes import bin_path
from starter.temporal_connection import connect_temporal
from starter.worker import video_worker
from tests.conftest import TEST_API_KEY, unique_job_id
from tests.support.polling import eventually
from tests.support.simulator import SimulatorProcess, free_port
from workflows.contract import VideoResult

pytestmark = pytest.mark.asyncio(loop_scope="session")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Observed:
    """What the three jobs left behind."""

    metrics_url: str
    completed: VideoResult
    failed_job: str
    cancelled_job: str
    cancelled_provider_job: str
    logs: io.StringIO
    spans: InMemorySpanExporter

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines()]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def observed(
    temporal_env: WorkflowEnvironment, settings: ReelflowSettings, simulator: SimulatorProcess
) -> AsyncIterator[Observed]:
    port = free_port()
    own = settings.model_copy(update={"task_queue": f"reelflow-metrics-{uuid.uuid4().hex[:8]}"})
    client = await connect_temporal(own, runtime=prometheus_runtime(f"127.0.0.1:{port}"))
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logs = io.StringIO()
    handler = log_handler("json", logs)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        async with video_worker(client, own, tracer_provider=tracer_provider):
            reelflow = ReelflowClient(client, own)
            yield await _run_three_jobs(
                reelflow, simulator, f"http://127.0.0.1:{port}/metrics", logs, spans
            )
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        simulator.clear_faults()


async def _run_three_jobs(
    reelflow: ReelflowClient,
    simulator: SimulatorProcess,
    metrics_url: str,
    logs: io.StringIO,
    spans: InMemorySpanExporter,
) -> Observed:
    fast = {"polling_interval": 0.2}
    simulator.set_faults(
        {"rules": [{"endpoint": "retrieve", "kind": "http_429", "times": 1, "retry_after": 0}]}
    )
    completed = await (await reelflow.generate_video("a red kite", **fast)).result()
    simulator.clear_faults()

    failed = await reelflow.generate_video("something #moderation worthy", **fast)
    with pytest.raises(VideoJobFailedError):
        await failed.result()

    cancelled = await reelflow.generate_video("a long journey", seconds=12, **fast)
    running = await eventually(cancelled.status, lambda s: s.status == "processing")
    await cancelled.cancel("metrics test")
    with pytest.raises(VideoJobCancelledError):
        await cancelled.result()
    assert running.provider_job_id is not None
    return Observed(
        metrics_url=metrics_url,
        completed=completed,
        failed_job=failed.job_id,
        cancelled_job=cancelled.job_id,
        cancelled_provider_job=running.provider_job_id,
        logs=logs,
        spans=spans,
    )


async def scrape(url: str) -> tuple[str, Samples]:
    """The exposition text and every sample keyed by (name, labels without service_name)."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(url)).text
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = frozenset((k, v) for k, v in sample.labels.items() if k != "service_name")
            samples[(sample.name, labels)] = sample.value
    return text, samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of ``name`` over every series whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (n, have), value in samples.items() if n == name and wanted <= have)


async def test_job_counters(observed: Observed) -> None:
    _, samples = await eventually(
        lambda: scrape(observed.metrics_url),
        lambda scraped: total(scraped[1], "reelflow_jobs_cancelled_total") >= 1,
        what="the cancelled job on /metrics",
    )
    assert total(samples, "reelflow_jobs_started_total", model="sora-2") == 3
    assert total(samples, "reelflow_jobs_completed_total", model="sora-2") == 1
    assert total(samples, "reelflow_jobs_failed_total", reason="VideoJobFailed") == 1
    assert total(samples, "reelflow_jobs_cancelled_total", model="sora-2") == 1


async def test_provider_latency_errors_and_download_bytes(observed: Observed) -> None:
    text, samples = await scrape(observed.metrics_url)
    latency = "reelflow_provider_request_duration_seconds"
    assert f"# TYPE {latency} histogram" in text
    assert total(samples, f"{latency}_count", operation="create", status_code="200") == 3
    assert total(samples, f"{latency}_count", operation="retrieve", status_code="429") == 1
    assert total(samples, f"{latency}_count", operation="retrieve", status_code="200") >= 3
    # The video and its thumbnail; the cancelled job's provider job is deleted.
    assert total(samples, f"{latency}_count", operation="download") == 2
    assert total(samples, f"{latency}_count", operation="delete") == 1
    assert total(samples, f"{latency}_bucket", operation="create", le="+Inf") == 3
    assert total(samples, f"{latency}_sum", operation="create") > 0

    errors = "reelflow_provider_errors_total"
    assert total(samples, errors, operation="retrieve", kind="rate_limited") == 1
    assert total(samples, errors) == 1, "the only failed provider call is the injected 429"

    assert total(samples, "reelflow_download_bytes_total") == observed.completed.bytes
    assert TEST_API_KEY not in text


async def test_temporal_sdk_runtime_metrics_on_the_same_endpoint(observed: Observed) -> None:
    text, samples = await scrape(observed.metrics_url)
    for family, kind in (
        ("temporal_workflow_completed_total", "counter"),
        ("temporal_workflow_failed_total", "counter"),
        ("temporal_workflow_task_execution_latency", "histogram"),
        ("temporal_activity_execution_latency", "histogram"),
        ("temporal_local_activity_execution_latency", "histogram"),
        ("temporal_worker_task_slots_available", "gauge"),
        ("temporal_request_total", "counter"),
    ):
        assert f"# TYPE {family} {kind}" in text, f"{family} missing from /metrics"
    workflow = {"workflow_type": "VideoGenerationWorkflow"}
    assert total(samples, "temporal_workflow_completed_total", **workflow) == 1
    # The cancel signal ends the job as a failure with type VideoJobCancelled, on purpose.
    assert total(samples, "temporal_workflow_failed_total", **workflow) == 2


async def test_log_lines_are_json_and_name_the_job_and_provider_job(observed: Observed) -> None:
    lines = observed.log_lines()
    result = observed.completed
    mine = [line for line in lines if line.get("job_id") == result.job_id]
    assert any(
        line["message"].startswith("job completed")
        and line.get("provider_job_id") == result.provider_job_id
        for line in mine
    ), mine
    assert any(line["message"].startswith("job started: sora-2 1280x720 4s") for line in mine)
    assert any(
        "created provider job" in line["message"]
        and line.get("activity") == "create_video_job"
        and line.get("provider_job_id") == result.provider_job_id
        for line in mine
    )
    cancelled = [line for line in lines if line.get("job_id") == observed.cancelled_job]
    assert any(
        line["message"].startswith("job cancelled")
        and line.get("provider_job_id") == observed.cancelled_provider_job
        for line in cancelled
    ), cancelled
    assert any(
        "deleted provider job" in line["message"]
        and line.get("provider_job_id") == observed.cancelled_provider_job
        for line in cancelled
    ), cancelled
    assert TEST_API_KEY not in observed.logs.getvalue()


async def test_spans_cover_the_workflow_and_its_activities(observed: Observed) -> None:
    spans: tuple[ReadableSpan, ...] = observed.spans.get_finished_spans()
    names = {span.name for span in spans}
    for expected in (
        "RunWorkflow:VideoGenerationWorkflow",
        "StartActivity:create_video_job",
        "RunActivity:create_video_job",
        "RunActivity:download_video",
        "HandleSignal:cancel",
    ):
        assert expected in names, sorted(names)


async def test_tracing_interceptor_only_when_an_otlp_endpoint_is_set(
    temporal_env: WorkflowEnvironment, settings: ReelflowSettings
) -> None:
    def tracing_installed(worker: Any) -> bool:
        return any(isinstance(i, TracingInterceptor) for i in worker.config()["interceptors"])

    quiet = settings.model_copy(update={"task_queue": unique_job_id("no-tracing")})
    async with video_worker(temporal_env.client, quiet) as worker:
        assert not tracing_installed(worker)
    traced = quiet.model_copy(
        update={"task_queue": unique_job_id("tracing"), "otlp_endpoint": "http://127.0.0.1:4317"}
    )
    async with video_worker(temporal_env.client, traced) as worker:
        assert tracing_installed(worker)


async def test_reelflow_worker_process_serves_metrics_and_writes_json_lines(
    settings: ReelflowSettings, temporal_env: WorkflowEnvironment
) -> None:
    """``reelflow worker`` with REELFLOW_METRICS_PORT and REELFLOW_LOG_FORMAT=json, as deployed."""
    port = free_port()
    own = settings.model_copy(update={"task_queue": unique_job_id("worker-process")})
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": own.temporal_address,
        "OPENAI_BASE_URL": own.openai_base_url,
        "OPENAI_API_KEY": TEST_API_KEY,
        "REELFLOW_DATA_DIR": str(own.data_dir),
        "REELFLOW_TASK_QUEUE": own.task_queue,
        "REELFLOW_METRICS_PORT": str(port),
        "REELFLOW_LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        str(bin_path("reelflow")), "worker", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        reelflow = ReelflowClient(temporal_env.client, own)
        await eventually(reelflow.has_worker, bool, what="the worker process polling")
        job = await reelflow.generate_video("a paper boat", polling_interval=0.2)
        result = await job.result()
        _, samples = await eventually(
            lambda: scrape(f"http://127.0.0.1:{port}/metrics"),
            lambda scraped: total(scraped[1], "reelflow_jobs_completed_total") == 1,
            what="the job on the worker's /metrics",
        )
        assert total(samples, "reelflow_download_bytes_total") == result.bytes
        assert total(samples, "temporal_workflow_completed_total") == 1
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()[-2000:]

    lines = [json.loads(line) for line in err.decode().splitlines()]
    mine = [line for line in lines if line.get("job_id") == job.job_id]
    assert {"job started: sora-2 1280x720 4s", "job completed"} <= {m["message"] for m in mine}
    assert any(line.get("provider_job_id") == result.provider_job_id for line in mine)
    assert lines[-1]["message"] == "worker stopped"
    assert TEST_API_KEY not in err.decode()


async def test_log_formats_name_the_job_and_mask_keys() -> None:
    record = logging.LogRecord(
        "reelflow.test",
        logging.INFO,
        __file__,
        1,
        "calling with %s",
        ("sk-abcdefghijklmnop",),
        None,
    )
    record.temporal_activity = {"workflow_id": "video-1", "activity_type": "download_video"}
    record.provider_job_id = "video_9"
    JobContextFilter().filter(record)

    text = TextFormatter().format(record)
    assert text.endswith(
        "calling with sk-abcd… [job=video-1 provider_job=video_9 activity=download_video]"
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "calling with sk-abcd…"
    assert (entry["job_id"], entry["provider_job_id"], entry["activity"]) == (
        "video-1",
        "video_9",
        "download_video",
    )
    assert mask_secrets(f"key {TEST_API_KEY}!") == "key sk-test…!"
