"""The `/_sim` admin routes (no auth): health, counters, faults, config, reset, inspection."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from simulator.config import RuntimeConfigPatch
from simulator.errors import ApiError, json_response
from simulator.faults import FaultConfig, FaultEngine
from simulator.service import VideoService
from simulator.webhooks import WebhookNotifier

OK = {"ok": True}
M = TypeVar("M", bound=BaseModel)


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise ApiError(400, f"Invalid body: {exc}", code="invalid_value") from None


def build_admin_router(
    service: VideoService, engine: FaultEngine, notifier: WebhookNotifier
) -> APIRouter:
    router = APIRouter(prefix="/_sim")
    config = service.config

    @router.get("/health")
    async def health() -> Response:
        return json_response(OK)

    @router.get("/counters")
    async def counters() -> Response:
        return json_response(service.counters())

    @router.get("/faults")
    async def get_faults() -> Response:
        return json_response(engine.view())

    @router.put("/faults")
    async def put_faults(request: Request) -> Response:
        engine.replace(await parse_body(request, FaultConfig))
        return json_response(engine.view())

    @router.delete("/faults")
    async def delete_faults() -> Response:
        engine.clear()
        return json_response(engine.view())

    @router.get("/config")
    async def get_config() -> Response:
        return json_response(config.runtime_view())

    @router.patch("/config")
    async def patch_config(request: Request) -> Response:
        patch = await parse_body(request, RuntimeConfigPatch)
        changes: dict[str, Any] = patch.changes()
        service.apply_config(changes)
        notifier.ensure_running()
        return json_response(config.runtime_view())

    @router.post("/reset")
    async def reset() -> Response:
        service.store.reset()
        engine.clear()
        notifier.reset()
        return json_response(OK)

    @router.post("/videos/{video_id}/expire")
    async def expire(video_id: str) -> Response:
        return json_response(service.expire(video_id))

    @router.get("/videos/{video_id}")
    async def internal_video(video_id: str) -> Response:
        return json_response(service.internal(video_id))

    return router
