"""An async client for the OpenAI Videos API contract (Sora 2 and compatible hosts).

It speaks the wire format and turns every failure into :mod:`activities.errors`. It knows nothing
about Temporal and never retries: the workflow's retry policies decide that.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import mimetypes
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr, ValidationError

from activities.errors import (
    ProviderAssetExpiredError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderNotFoundError,
    ProviderQuotaError,
    ProviderRateLimitError,
    ProviderRequestError,
    ProviderResponseError,
    ProviderRetryableError,
    ProviderUnavailableError,
    ProviderValidationError,
)
from activities.provider_models import (
    ContentVariant,
    CreateVideoRequest,
    DownloadedFile,
    ErrorEnvelope,
    ProviderErrorBody,
    Video,
    VideoDeleted,
    VideoList,
)

ModelT = TypeVar("ModelT", Video, VideoList, VideoDeleted)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_CHUNK_SIZE = 256 * 1024


class OpenAIVideosClient:
    """Typed calls to ``{base_url}/videos``; use as ``async with OpenAIVideosClient(...) as c``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "reelflow"},
            follow_redirects=True,
        )

    def __repr__(self) -> str:
        return f"OpenAIVideosClient(base_url={self.base_url!r}, api_key='**********')"

    async def __aenter__(self) -> OpenAIVideosClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- calls -------------------------------------------------------------------------------

    async def create(
        self, request: CreateVideoRequest, *, idempotency_key: str | None = None
    ) -> Video:
        """Start a paid job. The same ``idempotency_key`` never starts a second one."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        if request.input_reference is not None:
            reference = request.input_reference
            mime = mimetypes.guess_type(reference.name)[0] or "application/octet-stream"
            with reference.open("rb") as image:
                files = {"input_reference": (reference.name, image.read(), mime)}
            response = await self._send(
                "POST",
                "/videos",
                data=request.form_fields(),
                files=files,
                headers=headers,
                collection=True,
            )
        else:
            response = await self._send(
                "POST", "/videos", json=request.json_body(), headers=headers, collection=True
            )
        return self._parse(response, Video)

    async def retrieve(self, video_id: str) -> Video:
        return self._parse(await self._send("GET", f"/videos/{video_id}"), Video)

    async def list(
        self, *, after: str | None = None, limit: int | None = None, order: str | None = None
    ) -> VideoList:
        query = {"after": after, "limit": limit, "order": order}
        params = {key: value for key, value in query.items() if value is not None}
        response = await self._send("GET", "/videos", params=params, collection=True)
        return self._parse(response, VideoList)

    async def delete(self, video_id: str) -> VideoDeleted:
        return self._parse(await self._send("DELETE", f"/videos/{video_id}"), VideoDeleted)

    async def remix(self, video_id: str, prompt: str) -> Video:
        response = await self._send("POST", f"/videos/{video_id}/remix", json={"prompt": prompt})
        return self._parse(response, Video)

    async def download(
        self,
        video_id: str,
        destination: Path,
        *,
        variant: ContentVariant = "video",
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> DownloadedFile:
        """Stream one asset to ``destination``: temp file, fsync, atomic rename.

        The body never sits in memory whole. On any failure (cancellation included) the temp
        file is removed, so ``destination`` holds either the complete file or nothing new.
        ``on_progress(received, total)`` is called after each chunk (e.g. to heartbeat).
        """
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
        )
        temp_path = Path(temp_name)
        digest = hashlib.sha256()
        received = 0
        try:
            with os.fdopen(fd, "wb") as out:
                request = self._http.build_request(
                    "GET",
                    f"/videos/{video_id}/content",
                    params={"variant": variant},
                    headers=self._auth_headers(),
                )
                try:
                    response = await self._http.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise self._transport_error(exc, "GET", "/videos/{id}/content") from None
                try:
                    if response.status_code >= 400:
                        await response.aread()
                        raise self._status_error(response, "/videos/{id}/content")
                    total = _int_or_none(response.headers.get("content-length"))
                    try:
                        async for chunk in response.aiter_bytes(_CHUNK_SIZE):
                            out.write(chunk)
                            digest.update(chunk)
                            received += len(chunk)
                            if on_progress is not None:
                                on_progress(received, total)
                    except httpx.HTTPError as exc:
                        raise self._transport_error(exc, "GET", "/videos/{id}/content") from None
                    if total is not None and received != total:
                        raise ProviderConnectionError(
                            f"download of {video_id} ({variant}) ended after {received} of "
                            f"{total} bytes"
                        )
                    content_type = response.headers.get("content-type")
                finally:
                    await response.aclose()
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp_path, destination)
            _fsync_directory(destination.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_path)
            raise
        return DownloadedFile(
            path=destination, bytes=received, sha256=digest.hexdigest(), content_type=content_type
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}

    async def _send(
        self,
        method: str,
        path: str,
        *,
        collection: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        all_headers = {**self._auth_headers(), **(headers or {})}
        try:
            response = await self._http.request(method, path, headers=all_headers, **kwargs)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, method, path) from None
        if response.status_code >= 400:
            raise self._status_error(response, path, collection=collection)
        return response

    def _parse(self, response: httpx.Response, model: type[ModelT]) -> ModelT:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            snippet = response.content[:120].decode(errors="replace")
            raise ProviderResponseError(
                f"{response.request.method} {response.request.url.path} answered "
                f"{response.status_code} with a body that is not a valid {model.__name__} "
                f"({exc.error_count()} problems; starts with {snippet!r})",
                status_code=response.status_code,
            ) from None

    def _transport_error(self, exc: httpx.HTTPError, method: str, path: str) -> ProviderError:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        detail = type(exc).__name__
        return ProviderConnectionError(
            f"{method} {self.base_url}{path} {kind} ({detail}: {str(exc) or 'no detail'})"
        )

    def _status_error(
        self, response: httpx.Response, path: str, *, collection: bool = False
    ) -> ProviderError:
        return classify_error_response(
            status_code=response.status_code,
            body=response.content,
            headers=response.headers,
            base_url=self.base_url,
            path=path,
            collection=collection,
        )


def classify_error_response(
    *,
    status_code: int,
    body: bytes,
    headers: httpx.Headers,
    base_url: str,
    path: str,
    collection: bool = False,
) -> ProviderError:
    """Turn an HTTP error answer into the exception that says what to do next."""
    error = _error_body(body)
    code = error.code
    message = error.message or f"HTTP {status_code}"
    details: dict[str, Any] = {
        "status_code": status_code,
        "code": code,
        "param": error.param,
        "error_type": error.type,
    }
    described = f"provider answered {status_code}" + (f" ({code})" if code else "")
    if code == "model_not_found" or (status_code == 404 and collection):
        return ProviderUnavailableError(
            f"the video generation API is not available at {base_url}: {described} on {path}. "
            "The Videos API is not served there; check OPENAI_BASE_URL and the model.",
            **details,
        )
    if status_code == 429 and code == "insufficient_quota":
        return ProviderQuotaError(f"{described}: {message}", **details)
    if code == "idempotency_key_conflict":
        return ProviderValidationError(f"{described}: {message}", **details)
    if status_code in (408, 409, 429) or status_code >= 500:
        cls = ProviderRateLimitError if status_code == 429 else ProviderRetryableError
        return cls(f"{described}: {message}", retry_after=retry_after_seconds(headers), **details)
    if status_code == 410:
        return ProviderAssetExpiredError(f"{described}: {message}", **details)
    if status_code in (401, 403):
        return ProviderAuthError(f"{described}: {message}", **details)
    if status_code == 404:
        if "expired" in message.lower():
            return ProviderAssetExpiredError(f"{described}: {message}", **details)
        return ProviderNotFoundError(f"{described}: {message}", **details)
    if status_code == 400:
        return ProviderValidationError(f"{described}: {message}", **details)
    return ProviderRequestError(f"{described}: {message}", **details)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Read ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        with contextlib.suppress(ValueError):
            return max(float(milliseconds) / 1000.0, 0.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return max(float(value), 0.0)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(when.timestamp() - time.time(), 0.0)
    return None


def _error_body(body: bytes) -> ProviderErrorBody:
    try:
        return ErrorEnvelope.model_validate_json(body).error
    except ValidationError:
        pass
    try:
        text = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        text = body[:200].decode(errors="replace").strip()
    return ProviderErrorBody(message=str(text) if text else "")


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
