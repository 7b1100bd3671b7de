"""The `/v1` routes: the OpenAI Videos API as the official SDK calls it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.responses import FileResponse, Response

from simulator.config import SimulatorConfig
from simulator.errors import ApiError, json_response
from simulator.service import VideoService
from simulator.validation import invalid_type, validate_create, validate_list_query

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
BAD_JSON_MESSAGE = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON.)"
)


def require_api_key(request: Request, config: SimulatorConfig) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            code="invalid_api_key",
        )
    if config.api_key is not None and token != config.api_key:
        masked = token[:3] + "*" * 4 + token[-4:] if len(token) > 8 else "*" * len(token)
        raise ApiError(401, f"Incorrect API key provided: {masked}.", code="invalid_api_key")


async def read_json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, BAD_JSON_MESSAGE) from None
    if not isinstance(data, dict):
        raise ApiError(400, "Invalid body: expected a JSON object.")
    return data


async def read_form(request: Request, max_upload: int) -> tuple[dict[str, Any], bytes | None]:
    """Form fields and the `input_reference` upload, if any."""
    try:
        async with request.form(max_files=4, max_fields=100) as form:
            fields: dict[str, Any] = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            upload = form.get("input_reference")
            if upload is None or isinstance(upload, str):
                return fields, None
            assert isinstance(upload, UploadFile)
            data = await upload.read(max_upload + 1)
    except (MultiPartException, HTTPException) as exc:
        detail = getattr(exc, "message", None) or getattr(exc, "detail", "")
        raise ApiError(400, f"Could not parse the multipart form body: {detail}") from None
    if len(data) > max_upload:
        raise ApiError(
            400,
            f"Invalid 'input_reference': the file is larger than {max_upload} bytes.",
            param="input_reference",
            code="invalid_value",
        )
    return fields, data


async def read_create_body(
    request: Request, max_upload: int
) -> tuple[dict[str, Any], bytes | None]:
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(FORM_TYPES):
        return await read_form(request, max_upload)
    fields = await read_json_object(request)
    reference = fields.get("input_reference")
    if reference is not None and not isinstance(reference, dict):
        raise invalid_type("input_reference", "an object or a file upload", reference)
    return fields, None


async def read_body_fields(request: Request, max_upload: int) -> dict[str, Any]:
    fields, _ = await read_create_body(request, max_upload)
    return fields


def build_api_router(config: SimulatorConfig, service: VideoService) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post("/videos")
    async def create_video(request: Request) -> Response:
        require_api_key(request, config)
        fields, reference = await read_create_body(request, config.max_upload_bytes)
        create = validate_create(
            fields, unavailable_models=config.unavailable_models, reference=reference
        )
        key = request.headers.get("idempotency-key")
        return json_response(service.create(create, key))

    @router.get("/videos")
    async def list_videos(request: Request) -> Response:
        require_api_key(request, config)
        query = validate_list_query(request.query_params)
        return json_response(service.list(query))

    @router.get("/videos/{video_id}")
    async def retrieve_video(video_id: str, request: Request) -> Response:
        require_api_key(request, config)
        headers = None
        if config.poll_after_ms is not None:
            headers = {"openai-poll-after-ms": str(config.poll_after_ms)}
        return json_response(service.retrieve(video_id), headers=headers)

    @router.delete("/videos/{video_id}")
    async def delete_video(video_id: str, request: Request) -> Response:
        require_api_key(request, config)
        return json_response(service.delete(video_id))

    @router.get("/videos/{video_id}/content")
    async def download_content(video_id: str, request: Request) -> Response:
        require_api_key(request, config)
        variant = request.query_params.get("variant", "video")
        path, media_type = service.content(video_id, variant)
        return FileResponse(path, media_type=media_type)

    @router.post("/videos/{video_id}/remix")
    async def remix_video(video_id: str, request: Request) -> Response:
        require_api_key(request, config)
        body = await read_body_fields(request, config.max_upload_bytes)
        key = request.headers.get("idempotency-key")
        return json_response(service.remix(video_id, body, key))

    return router
