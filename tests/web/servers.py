"""Run reelflow's HTTP API for tests: in this process (uvicorn on the session loop) or as a
real ``python -m starter.serve`` subprocess that a test can kill and restart on the same port.
Also a raw SSE reader, so tests see exactly what went over the wire."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from starter.config import ReelflowSettings
from starter.processes import ManagedProcess, free_port
from tests.support.polling import eventually

REPO_ROOT = Path(__file__).resolve().parents[2]


class _InProcessServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # pytest owns SIGINT/SIGTERM, not this test server


@contextlib.asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port of this event loop; yield its URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    await eventually(started, bool, timeout=20, what="in-process uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def serve_env(settings: ReelflowSettings, *, api_token: str = "") -> dict[str, str]:
    """The environment that makes ``reelflow serve`` use the test session's servers."""
    return {
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "REELFLOW_TASK_QUEUE": settings.task_queue,
        "REELFLOW_DATA_DIR": str(settings.data_dir),
        "REELFLOW_API_TOKEN": api_token,
        "REELFLOW_PUBLIC_BASE_URL": "",
        "PYTHONUNBUFFERED": "1",
    }


class ServeProcess:
    """``python -m starter.serve`` on a fixed port: start, kill (SIGKILL) and start again."""

    def __init__(self, env: dict[str, str], log_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [
            sys.executable,
            "-m",
            "starter.serve",
            "--port",
            str(self.port),
            "--watch-interval",
            "0.1",
            "--ping-interval",
            "1",
            "--log-level",
            "warning",
        ]
        self.env = env
        self.process = ManagedProcess(
            "reelflow serve", self.argv, log_path=log_dir / "serve.log", env=env
        )

    async def start(self) -> None:
        self.process.start()
        await self.wait_ready()

    async def wait_ready(self) -> None:
        async with httpx.AsyncClient(timeout=2) as client:

            async def healthy() -> bool:
                self.process.check_alive()
                try:
                    return (await client.get(f"{self.url}/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(healthy, bool, timeout=30, what="reelflow serve to answer /healthz")

    def kill(self) -> None:
        self.process.kill()

    def stop(self) -> None:
        self.process.stop(timeout=10)


@dataclass
class SseEvent:
    offset: int
    payload: dict[str, Any]

    @property
    def kind(self) -> str:
        name = self.payload.get("name")
        return f"{self.payload['type']}:{name}" if name else str(self.payload["type"])


@dataclass
class SseRead:
    """What one connection delivered: events, keep-alive comments, and whether it was cut."""

    events: list[SseEvent]
    comments: int = 0
    cut: bool = False


async def read_sse(
    source: httpx.Response | AsyncIterator[str], into: SseRead, *, stop_after: Any = None
) -> SseRead:
    """Parse ``id:``/``data:`` events and ``:`` comments until the stream ends (or is cut, or
    ``stop_after(event)`` is true: pass ``response.aiter_lines()`` to read on after that)."""
    lines = source.aiter_lines() if isinstance(source, httpx.Response) else source
    offset: int | None = None
    data: list[str] = []
    try:
        async for line in lines:
            if line.startswith(":"):
                into.comments += 1
            elif line.startswith("id:"):
                offset = int(line[3:].strip())
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                assert offset is not None, f"event without an id: {data}"
                event = SseEvent(offset, json.loads("\n".join(data)))
                into.events.append(event)
                offset, data = None, []
                if stop_after is not None and stop_after(event):
                    return into
    except (httpx.RemoteProtocolError, httpx.ReadError):
        into.cut = True
    return into


def run_body(prompt: str, run_id: str, **data: Any) -> dict[str, Any]:
    """The AG-UI body ``fetchServerSentEvents`` posts."""
    fields = {"prompt": prompt, **data}
    return {
        "threadId": "thread-test",
        "runId": run_id,
        "state": {},
        "messages": [],
        "tools": [],
        "context": [],
        "forwardedProps": fields,
        "data": fields,
    }
