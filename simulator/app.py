"""`create_app`: the simulator as one FastAPI application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp

from simulator.admin import build_admin_router
from simulator.api import build_api_router
from simulator.config import SimulatorConfig
from simulator.errors import ApiError, invalid_url
from simulator.fault_injection import FaultInjectionMiddleware
from simulator.faults import FaultEngine
from simulator.rendering import Renderer
from simulator.service import VideoService
from simulator.state import Store
from simulator.webhooks import WebhookNotifier

log = logging.getLogger("simulator")
COUNTER_FLUSH_SECONDS = 0.5
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def resolve_media_dir(config: SimulatorConfig) -> tuple[Path, bool]:
    """The media directory and whether it is a temporary one to remove at shutdown."""
    if config.media_dir is not None:
        return config.media_dir, False
    if config.db_path is not None:
        return config.db_path.parent / f"{config.db_path.stem}-media", False
    return Path(tempfile.mkdtemp(prefix="reelflow-sim-media-")), True


class SimulatorApp(FastAPI):
    """FastAPI with the fault injector outermost, so it can drop the raw connection."""

    fault_engine: FaultEngine
    store: Store

    def build_middleware_stack(self) -> ASGIApp:
        return FaultInjectionMiddleware(
            super().build_middleware_stack(), self.fault_engine, self.store
        )


def create_app(config: SimulatorConfig) -> FastAPI:
    media_dir, temporary_media = resolve_media_dir(config)
    store = Store(config.db_path)
    renderer = Renderer(
        store, media_dir, workers=config.render_workers, mode=config.render_mode, fps=config.fps
    )
    service = VideoService(config, store, renderer)
    engine = FaultEngine(config.faults)
    notifier = WebhookNotifier(service)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        renderer.start()
        service.resume()
        notifier.ensure_running()
        flusher = asyncio.create_task(_flush_counters_forever(store))
        try:
            yield
        finally:
            flusher.cancel()
            await notifier.stop()
            await renderer.stop()
            store.close()
            if temporary_media:
                shutil.rmtree(media_dir, ignore_errors=True)

    app = SimulatorApp(
        title="reelflow video API simulator",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.fault_engine = engine
    app.store = store
    app.state.service = service
    app.include_router(build_api_router(config, service))
    app.include_router(build_admin_router(service, engine, notifier))
    _install_error_handlers(app)

    @app.api_route("/{path:path}", methods=ALL_METHODS, include_in_schema=False)
    async def unknown_url(request: Request) -> Response:
        raise invalid_url(request.method, request.url.path)

    return app


async def _flush_counters_forever(store: Store) -> None:
    while True:
        await asyncio.sleep(COUNTER_FLUSH_SECONDS)
        store.flush_counters()


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.to_response()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (404, 405):
            return invalid_url(request.method, request.url.path).to_response()
        return ApiError(exc.status_code, str(exc.detail)).to_response()

    async def validation_error(_: Request, exc: Exception) -> Response:
        return ApiError(400, f"Invalid request: {exc}").to_response()

    async def unexpected_error(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return ApiError(
            500, "The simulator had an internal error.", type="server_error"
        ).to_response()

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
