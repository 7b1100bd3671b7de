"""Worker logs that say which job they are about, and traces when a collector is configured.

Logging (``REELFLOW_LOG_FORMAT``): ``text`` lines for people, ``json`` lines for log pipelines.
Either way every record written while a job's workflow or activity runs carries ``job_id`` (the
workflow id) and, once known, ``provider_job_id``, taken from Temporal's logger extras and from
:class:`LogContextInterceptor`, which puts both ids in context variables around each activity,
so even the provider client's own log lines get them. Anything that looks like an API key is
masked in every line, whatever logged it.

Tracing (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``REELFLOW_OTLP_ENDPOINT``): when set, the worker adds
``temporalio.contrib.opentelemetry.TracingInterceptor`` and exports spans (workflow runs,
activities, signals, queries) over OTLP/gRPC; when unset, no interceptor and no exporter.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio import activity, workflow
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.exceptions import FailureError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from starter.config import ReelflowSettings
from starter.metrics import job_outcome

SERVICE_NAME = "reelflow-worker"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_job_id: ContextVar[str | None] = ContextVar("reelflow_job_id", default=None)
_provider_job_id: ContextVar[str | None] = ContextVar("reelflow_provider_job_id", default=None)

_SECRET = re.compile(r"\b(sk-[A-Za-z0-9_-]{4})[A-Za-z0-9_-]{8,}")
"""OpenAI-style keys (``sk-…``); kept: the first four characters, enough to tell keys apart."""


# -- logging ------------------------------------------------------------------------------------


def mask_secrets(text: str) -> str:
    """``text`` with anything shaped like an API key cut down to its first characters."""
    return _SECRET.sub(r"\1…", text)


class JobContextFilter(logging.Filter):
    """Sets ``record.job_id`` / ``record.provider_job_id`` (None when not about a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = (
            getattr(record, "job_id", None) or _job_id.get() or _temporal_workflow_id(record)
        )
        record.provider_job_id = getattr(record, "provider_job_id", None) or _provider_job_id.get()
        return True


def _temporal_workflow_id(record: logging.LogRecord) -> str | None:
    for extra in ("temporal_activity", "temporal_workflow"):
        details = getattr(record, extra, None)
        if isinstance(details, Mapping) and isinstance(details.get("workflow_id"), str):
            workflow_id: str = details["workflow_id"]
            return workflow_id
    return None


class TextFormatter(logging.Formatter):
    """The usual one-line format, with ``[job=… provider_job=… activity=…]`` when known."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        activity_details = getattr(record, "temporal_activity", None)
        ids = [
            f"{name}={value}"
            for name, value in (
                ("job", getattr(record, "job_id", None)),
                ("provider_job", getattr(record, "provider_job_id", None)),
                (
                    "activity",
                    activity_details.get("activity_type")
                    if isinstance(activity_details, Mapping)
                    else None,
                ),
            )
            if value
        ]
        return mask_secrets(f"{line} [{' '.join(ids)}]" if ids else line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, Temporal context, error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("job_id", "provider_job_id"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        activity_details = getattr(record, "temporal_activity", None)
        if isinstance(activity_details, Mapping):
            entry["activity"] = activity_details.get("activity_type")
            entry["attempt"] = activity_details.get("attempt")
        workflow_details = getattr(record, "temporal_workflow", None)
        if isinstance(workflow_details, Mapping):
            entry["run_id"] = workflow_details.get("run_id")
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return mask_secrets(json.dumps(entry, default=str))


def log_handler(log_format: str, stream: Any = None) -> logging.Handler:
    """A stream handler (stderr by default) with the job filter and the chosen formatter."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(JobContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def configure_logging(level: str = "info", log_format: str = "text") -> None:
    """Send every log record through one handler in ``log_format`` (``text`` or ``json``).

    The handler's formatter writes the ids itself, so Temporal's habit of appending its whole
    context dict to each message is turned off (the dict stays on the record for handlers
    that want it).
    """
    logging.basicConfig(level=level.upper(), handlers=[log_handler(log_format)], force=True)
    # One line per provider request is noise at info level; reelflow logs what matters.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False


class LogContextInterceptor(Interceptor):
    """Puts job ids on every log line of an activity; logs each job's start and outcome."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityLogContext(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _JobLog


class _ActivityLogContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        job = _job_id.set(activity.info().workflow_id)
        provider = _provider_job_id.set(_provider_job_id_of(input.args))
        try:
            return await super().execute_activity(input)
        finally:
            _provider_job_id.reset(provider)
            _job_id.reset(job)


def _provider_job_id_of(args: Sequence[Any]) -> str | None:
    value = getattr(args[0], "provider_job_id", None) if args else None
    return value if isinstance(value, str) else None


class _JobLog(WorkflowInboundInterceptor):
    """``job started`` / ``job completed|failed|cancelled`` lines (not repeated on replay)."""

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        request = getattr(input.args[0], "request", None) if input.args else None
        if workflow.info().continued_run_id is None and request is not None:
            workflow.logger.info(
                "job started: %s %s %ss",
                getattr(request, "model", "?"),
                getattr(request, "size", "?"),
                getattr(request, "seconds", "?"),
            )
        try:
            result = await super().execute_workflow(input)
        except workflow.ContinueAsNewError:
            raise
        except BaseException as exc:
            outcome = job_outcome(exc)
            if outcome is not None:
                message = exc.message if isinstance(exc, FailureError) else str(exc)
                workflow.logger.warning(
                    "job %s (%s): %s", outcome[0], outcome[1], message, extra=_status_ids()
                )
            raise
        workflow.logger.info("job completed", extra=_status_ids())
        return result


def _status_ids() -> dict[str, Any]:
    """The provider job id from the workflow's ``status`` query handler, when it has one."""
    handler = workflow.get_query_handler("status")
    status = handler() if handler is not None else None
    provider_job_id = getattr(status, "provider_job_id", None)
    return {"provider_job_id": provider_job_id} if provider_job_id else {}


# -- tracing ------------------------------------------------------------------------------------


def otlp_tracer_provider(settings: ReelflowSettings) -> TracerProvider | None:
    """A tracer provider exporting to ``settings.otlp_endpoint``; None when none is set.

    Its own provider (not the global one), so the worker's spans go where its settings say
    and a process may hold more than one worker. Call ``shutdown()`` to flush at exit.
    """
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
    )
    return provider


def tracing_interceptor(provider: TracerProvider | None) -> TracingInterceptor | None:
    """Temporal's tracing interceptor on ``provider``'s tracer (None: tracing off).

    Workflow spans are created even for jobs started without a client span (CLI, HTTP app),
    so every job has a trace.
    """
    if provider is None:
        return None
    return TracingInterceptor(provider.get_tracer("reelflow"), always_create_workflow_spans=True)
