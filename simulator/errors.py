"""The OpenAI error envelope `{"error": {"message", "type", "param", "code"}}` as an exception."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

INVALID_REQUEST = "invalid_request_error"


class ApiError(Exception):
    """An error answered to the client with the spec's envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def to_response(self) -> Response:
        return json_response(self.body(), status=self.status, headers=self.headers)


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A compact JSON response without pydantic serialisation (cheap on the hot path)."""
    return Response(
        json.dumps(data, separators=(",", ":")).encode(),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def invalid_value(param: str, message: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value")


def not_found(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(404, message, param=param, code=code)


def invalid_url(method: str, path: str) -> ApiError:
    return ApiError(404, f"Invalid URL ({method} {path})", code="unknown_url")


def video_not_found(video_id: str) -> ApiError:
    return ApiError(
        404, f"Video with id '{video_id}' not found.", param="video_id", code="video_not_found"
    )
