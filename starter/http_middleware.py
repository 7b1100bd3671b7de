"""ASGI middleware of the HTTP API: the request body size limit.

A pure ASGI middleware (not a FastAPI dependency) so an oversized body is refused before any
route, model or JSON parser sees it: ``413`` when ``Content-Length`` says too much, or when a
body without one grows past the limit while it is read.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

DRAIN_BYTES = 8 * 1024 * 1024
"""At most this much of an oversized body without ``Content-Length`` is read before ``413``."""


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with ``413``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        # Read the (small, JSON) body up front, then hand it to the app as one message.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self.max_bytes:
                if more:
                    await _drain(receive, DRAIN_BYTES)
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not more:
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        detail = {"detail": f"request body larger than {self.max_bytes} bytes"}
        payload = json.dumps(detail).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of a refused body (up to ``budget`` bytes), so the client gets
    to read the ``413`` instead of a connection reset while it is still sending."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        budget -= len(message.get("body", b""))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
