"""``/api/video/jobs/{jobId}/content``: the stored video (or thumbnail), seekable.

Served from storage with its content type, ``Content-Length``, ``ETag`` and HTTP range
requests (``206``, ``Accept-Ranges: bytes``, ``416`` for a range past the end), which is what
a ``<video>`` element needs to seek. With auth on, a valid signed URL stands in for the bearer
token, because a ``<video src>`` cannot send one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials

from starter.http_security import bearer_scheme, token_matches, unauthorized
from starter.http_state import HttpState, JobId, State, Variant

router = APIRouter(tags=["Content"])

MEDIA_TYPES: dict[str, str] = {"video": "video/mp4", "thumbnail": "image/webp"}


CONTENT_PATH = "/api/video/jobs/{job_id}/content"


@router.get(
    CONTENT_PATH,
    summary="The stored video or thumbnail (range requests supported)",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}, "image/webp": {}}},
        206: {"description": "Partial content (a `Range` request)."},
        404: {"description": "No stored file for this job."},
        416: {"description": "The range is outside the file."},
    },
)
async def content(
    job_id: JobId,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    variant: Annotated[Variant, Query(description="`video` (default) or `thumbnail`.")] = "video",
    expires: Annotated[int | None, Query(description="Signed URL: expiry (epoch s).")] = None,
    signature: Annotated[str | None, Query(description="Signed URL: HMAC.")] = None,
) -> FileResponse:
    if not _authorized(state, credentials, job_id, variant, expires, signature):
        raise unauthorized()
    path = _stored_file(state, job_id, variant)
    if not await asyncio.to_thread(path.is_file):
        raise HTTPException(404, f"no stored {variant} for job {job_id}")
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[variant],
        headers={"Cache-Control": "private, max-age=3600"},
    )


router.add_api_route(CONTENT_PATH, content, methods=["HEAD"], include_in_schema=False)


def _authorized(
    state: HttpState,
    credentials: HTTPAuthorizationCredentials | None,
    job_id: str,
    variant: str,
    expires: int | None,
    signature: str | None,
) -> bool:
    if token_matches(state.api_token, credentials):
        return True
    if state.signer is None or expires is None or signature is None:
        return False
    return state.signer.verify(job_id, variant, expires, signature)


def _stored_file(state: HttpState, job_id: str, variant: str) -> Path:
    """The file's path, checked to lie inside the storage root (the id is validated too)."""
    storage = state.storage
    path = storage.video_path(job_id) if variant == "video" else storage.thumbnail_path(job_id)
    if not path.resolve().is_relative_to(storage.root.resolve()):
        raise HTTPException(400, "invalid job id")
    return path
