"""reelflow's HTTP API: the server TanStack AI's video client drives unchanged.

``create_app(settings)`` builds the FastAPI app; ``reelflow serve`` runs it under uvicorn.
A thin layer over the Python API (``ReelflowClient``): every job is a workflow, so a stream
survives a restart of this server. Routes live in ``http_stream`` (the SSE run),
``http_jobs`` (fetcher mode, status, cancel) and ``http_content`` (stored files). The
protocol and the settings are described in ``docs/http-api.md``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from temporalio.service import RPCError

from activities.storage import LocalStorage
from starter import http_content, http_jobs, http_stream
from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.errors import (
    InvalidVideoRequestError,
    JobNotFoundError,
    NoWorkerError,
    VideoJobCancelledError,
    VideoJobError,
    VideoJobTimedOutError,
)
from starter.http_input import RequestProblem
from starter.http_middleware import BodySizeLimit
from starter.http_security import ContentSigner
from starter.http_state import HttpState

logger = logging.getLogger("reelflow.http")

DEFAULT_PING_INTERVAL = 15.0
"""Seconds between SSE keep-alive comments."""

DEFAULT_WATCH_INTERVAL = 0.25
"""Seconds between two ``status`` queries of a streamed job (the workflow's, not the provider's)."""

CORS_HEADERS = ["Authorization", "Content-Type", "Last-Event-ID", "X-Run-Id", "Range"]
CORS_EXPOSED = ["Content-Range", "Accept-Ranges", "Content-Length", "Location"]


def create_app(
    settings: ReelflowSettings,
    client: ReelflowClient | None = None,
    *,
    ping_interval: float = DEFAULT_PING_INTERVAL,
    watch_interval: float = DEFAULT_WATCH_INTERVAL,
) -> FastAPI:
    """The API for ``settings``; with no ``client``, one is connected when the app starts."""
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    state = HttpState(
        settings=settings,
        storage=LocalStorage(settings.videos_dir),
        signer=ContentSigner.for_token(token) if token else None,
        ping_interval=ping_interval,
        watch_interval=watch_interval,
        client=client,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state.client is None:
            state.client = await ReelflowClient.connect(settings)
        yield

    app = FastAPI(
        title="reelflow",
        summary="Durable text-to-video jobs, served the way TanStack AI's client expects.",
        description="See docs/http-api.md. With `REELFLOW_API_TOKEN` set, `/api` routes want "
        "`Authorization: Bearer <token>` (result URLs are signed instead).",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.reelflow = state
    app.include_router(http_stream.router)
    app.include_router(http_jobs.router)
    app.include_router(http_content.router)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["Health"])
    _add_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    origins = cors_origins(settings.cors_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
        )
    return app


async def healthz() -> dict[str, str]:
    """Liveness (no auth): the server is up and connected to Temporal."""
    return {"status": "ok"}


def cors_origins(value: str) -> list[str]:
    return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]


def _add_error_handlers(app: FastAPI) -> None:
    """Every error is JSON ``{"detail": …}``; validation errors name their ``fields``."""

    @app.exception_handler(RequestProblem)
    async def request_problem(request: Request, exc: RequestProblem) -> JSONResponse:
        return _error(exc.status, exc.message, fields=exc.fields)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(error.get("type") == "json_invalid" for error in errors):
            return _error(400, "request body is not valid JSON")
        fields: list[str] = []
        lines: list[str] = []
        for error in errors:
            location = [str(part) for part in error.get("loc", ()) if part != "body"]
            name = ".".join(location) or "body"
            fields.append(name)
            lines.append(f"{name}: {error.get('msg', 'invalid')}")
        return _error(422, "invalid request: " + "; ".join(lines), fields=fields)

    @app.exception_handler(InvalidVideoRequestError)
    async def invalid_video(request: Request, exc: InvalidVideoRequestError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(JobNotFoundError)
    async def not_found(request: Request, exc: JobNotFoundError) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(NoWorkerError)
    async def no_worker(request: Request, exc: NoWorkerError) -> JSONResponse:
        return _error(503, str(exc))

    @app.exception_handler(RPCError)
    async def temporal_unavailable(request: Request, exc: RPCError) -> JSONResponse:
        logger.warning("Temporal call failed: %s", exc)
        return _error(503, f"Temporal is not available: {exc.message}")

    @app.exception_handler(VideoJobError)
    async def job_error(request: Request, exc: VideoJobError) -> JSONResponse:
        if isinstance(exc, VideoJobCancelledError):
            status_code, state = 409, "cancelled"
        elif isinstance(exc, VideoJobTimedOutError):
            status_code, state = 504, "failed"
        else:
            status_code, state = 422, "failed"
        return JSONResponse(
            {"detail": str(exc), "jobId": exc.job_id, "status": state, "code": exc.code},
            status_code=status_code,
        )


def _error(status_code: int, detail: str, *, fields: list[str] | None = None) -> JSONResponse:
    body: dict[str, object] = {"detail": detail}
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=status_code)
