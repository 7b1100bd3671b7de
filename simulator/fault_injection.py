"""Pure ASGI middleware in front of the API: counts calls per endpoint and injects faults.

A fault on a writing endpoint (create, remix, delete) does not perform the action, except
`delay` (answers normally, late) and `drop_after` (performs it, then drops the connection).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.errors import ApiError
from simulator.faults import Endpoint, FaultEngine, FaultRule
from simulator.state import Store

_VIDEO_PATH = re.compile(r"^/v1/videos/([^/]+)(/content|/remix)?/?$")
READ_ONLY: frozenset[Endpoint] = frozenset({"retrieve", "list", "content"})


def classify(method: str, path: str) -> Endpoint | None:
    """Which API endpoint a request targets, or None (admin paths, unknown URLs)."""
    if path in ("/v1/videos", "/v1/videos/"):
        return {"POST": "create", "GET": "list"}.get(method)  # type: ignore[return-value]
    match = _VIDEO_PATH.match(path)
    if match is None:
        return None
    suffix = match.group(2)
    if suffix is None:
        return {"GET": "retrieve", "DELETE": "delete"}.get(method)  # type: ignore[return-value]
    if suffix == "/content":
        return "content" if method == "GET" else None
    return "remix" if method == "POST" else None


def fault_error(rule: FaultRule) -> ApiError:
    """The error response of an HTTP-status fault kind."""
    headers: dict[str, str] = {}
    if rule.retry_after is not None:
        headers["retry-after"] = str(math.ceil(rule.retry_after))
        headers["retry-after-ms"] = str(int(rule.retry_after * 1000))
    kinds: dict[str, tuple[int, str, str, str | None]] = {
        "http_429": (
            429,
            "Rate limit reached for requests per min (RPM). Please try again later.",
            "requests",
            "rate_limit_exceeded",
        ),
        "insufficient_quota": (
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        ),
        "http_500": (
            500,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            "server_error",
        ),
        "http_502": (502, "Bad gateway.", "server_error", "bad_gateway"),
        "http_503": (
            503,
            "The engine is currently overloaded, please try again later.",
            "server_error",
            "service_unavailable",
        ),
        "http_408": (408, "Request timed out.", "server_error", "timeout"),
        "http_409": (
            409,
            "The request conflicted with another request in progress. Please retry.",
            "invalid_request_error",
            "conflict",
        ),
        "http_401": (
            401,
            "Incorrect API key provided.",
            "invalid_request_error",
            "invalid_api_key",
        ),
        "http_403": (
            403,
            "Country, region, or territory not supported.",
            "request_forbidden",
            "unsupported_country_region_territory",
        ),
    }
    status, message, error_type, code = kinds[rule.kind]
    return ApiError(
        status, message + " (simulated fault)", type=error_type, code=code, headers=headers
    )


class CapturedResponse:
    """Collects what an ASGI app sends instead of sending it."""

    def __init__(self) -> None:
        self.status = 200
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


def _fabricated_body(endpoint: Endpoint) -> bytes:
    """A plausible body for a faulted writing call that was not performed."""
    video_id = "video_" + secrets.token_hex(16)
    if endpoint == "delete":
        data: dict[str, Any] = {"id": video_id, "object": "video.deleted", "deleted": True}
    else:
        data = {"id": video_id, "object": "video", "status": "queued", "progress": 0}
    return json.dumps(data).encode()


async def buffered_receive(receive: Receive) -> Receive:
    """Read the whole request body now; return a `receive` that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks)}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def drop_connection(send: Send) -> None:
    """Close the client connection without (completing) a response.

    Uses the server's transport when it is reachable (uvicorn); otherwise announces a body it
    never sends and fails, which makes any server close the connection.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None:
        transport.close()
        for _ in range(100):  # let the server notice, so it does not answer a 500 instead
            if getattr(cycle, "disconnected", True):
                return
            await asyncio.sleep(0.001)
        return
    raise ConnectionAbortedError("simulated dropped connection")


class FaultInjectionMiddleware:
    def __init__(self, app: ASGIApp, engine: FaultEngine, store: Store) -> None:
        self.app = app
        self.engine = engine
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = classify(scope["method"], scope["path"])
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        self.store.count_call(endpoint)
        rule = self.engine.decide(endpoint) if self.engine.active else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        self.store.count_fault(rule.kind)
        await self._inject(rule, endpoint, scope, receive, send)

    async def _inject(
        self, rule: FaultRule, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send
    ) -> None:
        kind = rule.kind
        if kind == "delay":
            # The request arrived whole before the server stalls: a client that gives up
            # waiting has still made the call (a create still creates).
            replay = await buffered_receive(receive)
            await asyncio.sleep(rule.delay_seconds)
            await self.app(scope, replay, send)
        elif kind == "drop":
            await drop_connection(send)
        elif kind == "drop_after":
            await self.app(scope, receive, CapturedResponse().send)
            await drop_connection(send)
        elif kind in ("truncate", "garble"):
            body = await self._body_for(endpoint, scope, receive)
            await (self._truncate(body, send) if kind == "truncate" else self._garble(body, send))
        else:
            await fault_error(rule).to_response()(scope, receive, send)

    async def _body_for(self, endpoint: Endpoint, scope: Scope, receive: Receive) -> bytes:
        if endpoint not in READ_ONLY:
            return _fabricated_body(endpoint)
        captured = CapturedResponse()
        await self.app(scope, receive, captured.send)
        return bytes(captured.body) or _fabricated_body(endpoint)

    @staticmethod
    async def _truncate(body: bytes, send: Send) -> None:
        """Announce the full length, send half, then close the connection."""
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        await drop_connection(send)

    @staticmethod
    async def _garble(body: bytes, send: Send) -> None:
        """A complete 200 response whose body is not valid JSON."""
        garbled = body[: len(body) // 2] + b"\x00<garbled>"
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(garbled)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": garbled})
