"""Kill ``reelflow serve`` mid-stream, start it again: the run resumes where it was cut.

The server is a real subprocess (``python -m starter.serve``); the job runs on in the worker
while no HTTP server exists. A raw SSE reader reconnects with ``Last-Event-ID`` like
TanStack's client does, and must get exactly the remaining events.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.http_events import END_OFFSET, RESULT_OFFSET
from starter.http_input import job_id_for_run
from starter.serve import GRACEFUL_SHUTDOWN_SECONDS
from tests.support.simulator import SimulatorProcess
from tests.web.servers import ServeProcess, SseEvent, SseRead, read_sse, run_body, serve_env

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.chaos]


@pytest_asyncio.fixture(loop_scope="session")
async def server(
    settings: ReelflowSettings, reelflow: ReelflowClient, tmp_path: Path
) -> AsyncIterator[ServeProcess]:
    process = ServeProcess(serve_env(settings), tmp_path)
    await process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.parametrize("how", ["kill", "stop"])
async def test_a_stream_resumes_after_the_server_is_killed_and_restarted(
    server: ServeProcess, simulator: SimulatorProcess, how: str
) -> None:
    """``kill``: SIGKILL, a crash (the stream is cut). ``stop``: SIGTERM, a deploy (the stream
    ends without a terminal event, promptly: open streams must not hold the shutdown)."""
    run_id = f"restart-{uuid.uuid4().hex[:10]}"
    job_id = job_id_for_run(run_id)
    body = run_body("a storm over the sea", run_id, duration=12, pollingInterval=200)
    headers = {"X-Run-Id": run_id}
    url = f"{server.url}/api/generate/video"

    def making_progress(event: SseEvent) -> bool:
        return event.kind == "CUSTOM:video:status" and event.payload["value"]["progress"] > 0

    before = SseRead([])
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, connect=5)) as http:
        async with http.stream("POST", url, json=body, headers=headers) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            await read_sse(lines, before, stop_after=making_progress)
            if how == "kill":
                server.kill()  # SIGKILL while the stream is open: nothing is flushed or closed
                await read_sse(lines, before)
            else:
                started = time.monotonic()
                stopping = asyncio.create_task(asyncio.to_thread(server.stop))
                await read_sse(lines, before)
                await stopping
                assert time.monotonic() - started < GRACEFUL_SHUTDOWN_SECONDS
        if how == "kill":
            assert before.cut, "the kill should have cut the stream"
        assert before.events[-1].offset < RESULT_OFFSET
        last_seen = before.events[-1].offset

        await server.start()  # same port, no memory of the stream
        after = SseRead([])
        resume = {**headers, "Last-Event-ID": str(last_seen)}
        async with http.stream("POST", url, json=body, headers=resume) as response:
            assert response.status_code == 200
            await read_sse(response, after)

        offsets = [event.offset for event in before.events + after.events]
        assert offsets == sorted(set(offsets)), f"duplicate or out-of-order offsets: {offsets}"
        assert all(event.offset > last_seen for event in after.events)
        assert [event.kind for event in after.events][-2:] == [
            "CUSTOM:generation:result",
            "RUN_FINISHED",
        ]
        assert offsets[-2:] == [RESULT_OFFSET, END_OFFSET]
        statuses = [e for e in after.events if e.kind == "CUSTOM:video:status"]
        assert statuses and statuses[-1].payload["value"]["status"] == "completed"

        result = after.events[-2].payload["value"]
        video = await http.get(result["url"])
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        assert result["url"].startswith(server.url)

        # A page reload after the restart: joinRun streams the whole run from the start.
        params = {"runId": run_id, "offset": "-1"}
        async with http.stream("GET", url, params=params) as response:
            joined = await read_sse(response, SseRead([]))
        assert [event.kind for event in joined.events] == [
            "RUN_STARTED",
            "CUSTOM:video:job:created",
            "CUSTOM:video:status",
            "CUSTOM:generation:result",
            "RUN_FINISHED",
        ]

    keys = simulator.counters()["idempotency_keys"]
    creates = [entry for key, entry in keys.items() if job_id in key]
    assert len(creates) == 1 and creates[0]["calls"] == 1, creates
