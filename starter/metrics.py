"""reelflow's Prometheus metrics, served with the Temporal SDK's own on one ``/metrics`` page.

Every metric goes through the Temporal runtime's meter, so a worker started with
``REELFLOW_METRICS_PORT`` exposes one endpoint holding both the SDK's runtime metrics
(``temporal_*``: task latencies, pollers, slots, sticky cache…) and reelflow's (``reelflow_*``).
Without a metrics port the meter is a no-op and nothing here costs anything.

Where each number comes from, chosen so that workflow code stays deterministic:

- job outcomes: :class:`MetricsInterceptor` wraps the workflow run and counts through
  ``workflow.metric_meter()``, which records nothing while a history replays; a job is counted
  once however often a worker replays it (after a restart or a cache eviction);
- provider calls: :class:`MeteredTransport` wraps the provider client's httpx transport and times
  every request (up to the response headers) and counts failures by kind;
- download bytes: the same interceptor adds the stored size each time ``download_video`` succeeds.

No label carries a prompt, a job id or a credential: labels are model names, operations, HTTP
status codes and error kinds, so the number of series stays small.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from temporalio import activity, workflow
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError, FailureError, is_cancelled_exception
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

JOBS_STARTED = "reelflow_jobs_started"
JOBS_COMPLETED = "reelflow_jobs_completed"
JOBS_FAILED = "reelflow_jobs_failed"
JOBS_CANCELLED = "reelflow_jobs_cancelled"
PROVIDER_REQUEST_DURATION = "reelflow_provider_request_duration_seconds"
PROVIDER_ERRORS = "reelflow_provider_errors"
DOWNLOAD_BYTES = "reelflow_download_bytes"

LATENCY_BUCKETS_SECONDS: Sequence[float] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
"""Provider calls range from a few ms (local simulator) to tens of seconds (a slow create)."""

CANCELLED_ERROR_TYPE = "VideoJobCancelled"
"""The failure type the workflow ends with after its ``cancel`` signal (it fails, on purpose)."""


# -- the runtime --------------------------------------------------------------------------------


def prometheus_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime serving every metric at ``http://{bind_address}/metrics``.

    Counters get Prometheus' ``_total`` suffix; the SDK's durations stay in milliseconds
    (its documented default), reelflow's provider latency is in seconds as its name says.
    """
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=bind_address,
                counters_total_suffix=True,
                histogram_bucket_overrides={PROVIDER_REQUEST_DURATION: LATENCY_BUCKETS_SECONDS},
            )
        )
    )


def worker_runtime(metrics_port: int | None) -> Runtime | None:
    """The runtime for a worker with ``metrics_port`` (all interfaces), or None for no metrics."""
    if metrics_port is None:
        return None
    return prometheus_runtime(f"0.0.0.0:{metrics_port}")


def runtime_meter(runtime: Runtime | None) -> MetricMeter:
    """The meter of ``runtime`` (default: the process' default runtime)."""
    return (runtime or Runtime.default()).metric_meter


# -- provider calls -----------------------------------------------------------------------------

_VIDEOS_PATH = re.compile(r"/videos(?:/(?P<id>[^/]+)(?:/(?P<sub>[^/]+))?)?/?$")


def provider_operation(method: str, path: str) -> str:
    """Name the Videos API call a request makes (``create``, ``retrieve``, ``download``…)."""
    match = _VIDEOS_PATH.search(path)
    if match is None:
        return "other"
    if match["id"] is None:
        return {"POST": "create", "GET": "list"}.get(method, "other")
    if match["sub"] is None:
        return {"GET": "retrieve", "DELETE": "delete"}.get(method, "other")
    return {"content": "download", "remix": "remix"}.get(match["sub"], "other")


_STATUS_KINDS = {
    400: "invalid_request",
    401: "auth",
    403: "auth",
    404: "not_found",
    408: "request_timeout",
    409: "conflict",
    410: "expired",
    429: "rate_limited",
}


def error_kind(status_code: int) -> str:
    """The kind of a failed HTTP answer, in the words of :mod:`activities.errors`."""
    if status_code >= 500:
        return "server_error"
    return _STATUS_KINDS.get(status_code, "client_error")


class MeteredTransport(httpx.AsyncBaseTransport):
    """An httpx transport that times every provider request and counts its failures.

    Latency is measured up to the response headers: a download's body streams afterwards and
    its speed is the network's, not the provider's. A request that never gets an answer
    (timeout, refused or dropped connection) counts as an error of kind ``timeout`` or
    ``connection`` and is timed too, with ``status_code="none"``.
    """

    def __init__(self, meter: MetricMeter, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._duration = meter.create_histogram_float(
            PROVIDER_REQUEST_DURATION, "Provider API request latency up to the response headers."
        )
        self._errors = meter.create_counter(
            PROVIDER_ERRORS, "Failed provider API requests by operation and kind."
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = provider_operation(request.method, request.url.path)
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
            self._record(operation, "none", started)
            self._errors.add(1, {"operation": operation, "kind": kind})
            raise
        self._record(operation, str(response.status_code), started)
        if response.status_code >= 400:
            kind = error_kind(response.status_code)
            self._errors.add(1, {"operation": operation, "kind": kind})
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()

    def _record(self, operation: str, status_code: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        self._duration.record(elapsed, {"operation": operation, "status_code": status_code})


# -- job outcomes and download bytes ------------------------------------------------------------


class MetricsInterceptor(Interceptor):
    """Counts job outcomes around the workflow run and stored bytes after each download."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _DownloadBytes(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _JobOutcomes


class _JobOutcomes(WorkflowInboundInterceptor):
    """Started once per job (not per continue-as-new run); one outcome when the job ends."""

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        meter = workflow.metric_meter()
        labels = _model_label(input.args)
        if workflow.info().continued_run_id is None:
            meter.create_counter(JOBS_STARTED, "Video jobs started.").add(1, labels)
        try:
            result = await super().execute_workflow(input)
        except workflow.ContinueAsNewError:
            raise
        except BaseException as exc:
            outcome = job_outcome(exc)
            if outcome is not None:
                _count_outcome(meter, outcome, labels)
            raise
        meter.create_counter(JOBS_COMPLETED, "Video jobs that stored their video.").add(1, labels)
        return result


def job_outcome(exc: BaseException) -> tuple[str, str] | None:
    """How a job that raised ``exc`` ended: ``("cancelled", type)`` or ``("failed", type)``.

    None for anything else: such an exception only fails a workflow task, which Temporal
    retries, so the job has not ended.
    """
    error_type = exc.type if isinstance(exc, ApplicationError) and exc.type else type(exc).__name__
    if is_cancelled_exception(exc) or error_type == CANCELLED_ERROR_TYPE:
        return "cancelled", error_type
    if isinstance(exc, FailureError):
        return "failed", error_type
    return None


def _count_outcome(meter: MetricMeter, outcome: tuple[str, str], labels: Mapping[str, str]) -> None:
    ending, error_type = outcome
    if ending == "cancelled":
        meter.create_counter(JOBS_CANCELLED, "Video jobs cancelled.").add(1, labels)
    else:
        meter.create_counter(JOBS_FAILED, "Video jobs that failed, by reason.").add(
            1, {**labels, "reason": error_type}
        )


def _model_label(args: Sequence[Any]) -> dict[str, str]:
    request = getattr(args[0], "request", None) if args else None
    model = getattr(request, "model", None)
    return {"model": model} if isinstance(model, str) else {}


class _DownloadBytes(ActivityInboundInterceptor):
    """Adds the stored video's size to the download counter when ``download_video`` succeeds."""

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await super().execute_activity(input)
        size = getattr(result, "bytes", None)
        if activity.info().activity_type == "download_video" and isinstance(size, int):
            activity.metric_meter().create_counter(
                DOWNLOAD_BYTES, "Bytes of video stored after download."
            ).add(size)
        return result
