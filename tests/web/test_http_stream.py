"""``/api/generate/video`` over a real uvicorn server: the event sequence, resuming, joinRun."""

from __future__ import annotations

import uuid

import httpx
import pytest

from starter.http_events import END_OFFSET, RESULT_OFFSET, STATUS_BASE_OFFSET
from starter.http_input import job_id_for_run
from tests.support.simulator import SimulatorProcess
from tests.web.servers import SseEvent, SseRead, read_sse, run_body

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAST = {"pollingInterval": 200}


def new_run_id() -> str:
    return f"run-test-{uuid.uuid4().hex[:12]}"


async def stream(
    http: httpx.AsyncClient,
    body: dict[str, object],
    *,
    last_event_id: int | None = None,
    stop_after: object = None,
) -> SseRead:
    headers = {"X-Run-Id": str(body["runId"])}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    async with http.stream("POST", "/api/generate/video", json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        return await read_sse(response, SseRead([]), stop_after=stop_after)


def assert_rising(events: list[SseEvent]) -> None:
    offsets = [event.offset for event in events]
    assert offsets == sorted(set(offsets)), f"offsets not strictly rising: {offsets}"


def own_creates(simulator: SimulatorProcess, job_id: str) -> list[dict[str, object]]:
    keys = simulator.counters()["idempotency_keys"]
    return [entry for key, entry in keys.items() if job_id in key]


async def test_a_run_streams_every_event_in_order(
    http: httpx.AsyncClient, simulator: SimulatorProcess
) -> None:
    run_id = new_run_id()
    got = await stream(http, run_body("a red kite over hills", run_id, duration=8, **FAST))

    kinds = [event.kind for event in got.events]
    assert kinds[:3] == ["RUN_STARTED", "CUSTOM:video:job:created", "CUSTOM:video:status"]
    assert kinds[-2:] == ["CUSTOM:generation:result", "RUN_FINISHED"]
    assert_rising(got.events)
    assert got.events[0].payload["runId"] == run_id
    assert got.events[0].payload["threadId"] == "thread-test"
    job_id = got.events[1].payload["value"]["jobId"]
    assert job_id == job_id_for_run(run_id)

    statuses = [e.payload["value"] for e in got.events if e.kind == "CUSTOM:video:status"]
    progress = [status["progress"] for status in statuses]
    assert progress == sorted(progress) and progress[-1] == 100
    assert len({p for p in progress if 0 < p < 100}) >= 2, progress
    assert statuses[0]["status"] == "pending" and statuses[-1]["status"] == "completed"
    assert "processing" in [status["status"] for status in statuses]
    assert all(status["jobId"] == job_id for status in statuses)

    result = got.events[-2].payload["value"]
    assert result["jobId"] == job_id and result["status"] == "completed"
    assert result["url"] == f"{str(http.base_url).rstrip('/')}/api/video/jobs/{job_id}/content"
    assert result["expiresAt"] is None  # no auth: reelflow's stored copy does not expire
    assert (got.events[-2].offset, got.events[-1].offset) == (RESULT_OFFSET, END_OFFSET)
    assert got.events[-1].payload["finishReason"] == "stop"
    assert got.comments >= 1, "keep-alive comments expected while the job runs"
    video = await http.get(result["url"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert len(own_creates(simulator, job_id)) == 1


async def test_a_failing_job_ends_with_run_error(http: httpx.AsyncClient) -> None:
    got = await stream(http, run_body("something #moderation worthy", new_run_id(), **FAST))

    last = got.events[-1]
    assert last.kind == "RUN_ERROR" and last.offset == END_OFFSET
    assert last.payload["code"] == "moderation_blocked"
    assert "moderation" in last.payload["message"]
    failed = got.events[-2].payload["value"]
    assert failed["status"] == "failed" and "moderation" in failed["error"]
    assert "CUSTOM:generation:result" not in [event.kind for event in got.events]


async def test_resuming_with_last_event_id_sends_only_later_events_and_one_job(
    http: httpx.AsyncClient, simulator: SimulatorProcess
) -> None:
    run_id = new_run_id()
    body = run_body("a lighthouse at dusk", run_id, **FAST)

    def processing(event: SseEvent) -> bool:
        return event.kind == "CUSTOM:video:status" and event.payload["value"]["progress"] > 0

    first = await stream(http, body, stop_after=processing)
    resumed_after = first.events[-1].offset
    second = await stream(http, body, last_event_id=resumed_after)

    assert all(event.offset > resumed_after for event in second.events)
    assert_rising(first.events + second.events)
    assert [e.kind for e in second.events][-2:] == ["CUSTOM:generation:result", "RUN_FINISHED"]
    assert "RUN_STARTED" not in [event.kind for event in second.events]
    creates = own_creates(simulator, job_id_for_run(run_id))
    assert len(creates) == 1 and creates[0]["calls"] == 1

    # Resuming after the result only sends the terminal event; after it, nothing.
    tail = await stream(http, body, last_event_id=RESULT_OFFSET)
    assert [event.kind for event in tail.events] == ["RUN_FINISHED"]
    assert (await stream(http, body, last_event_id=END_OFFSET)).events == []


async def test_join_run_streams_a_finished_run_from_the_start(http: httpx.AsyncClient) -> None:
    run_id = new_run_id()
    await stream(http, run_body("a quiet harbour", run_id, **FAST))

    params = {"runId": run_id, "offset": "-1"}
    async with http.stream("GET", "/api/generate/video", params=params) as response:
        assert response.status_code == 200
        got = await read_sse(response, SseRead([]))
    assert [event.offset for event in got.events] == [
        0,
        1,
        STATUS_BASE_OFFSET + 2 * 101 + 100,
        RESULT_OFFSET,
        END_OFFSET,
    ]
    assert got.events[0].payload["runId"] == run_id
    assert got.events[-1].kind == "RUN_FINISHED"

    headers = {"Last-Event-ID": "1"}
    async with http.stream("GET", "/api/generate/video", params=params, headers=headers) as again:
        later = await read_sse(again, SseRead([]))
    assert [event.offset for event in later.events] == [304, RESULT_OFFSET, END_OFFSET]


async def test_join_run_errors(http: httpx.AsyncClient) -> None:
    unknown = await http.get("/api/generate/video", params={"runId": "never-started", "offset": -1})
    assert unknown.status_code == 404
    missing = await http.get("/api/generate/video")
    assert missing.status_code == 400 and missing.json()["fields"] == ["runId"]
    bad_offset = await http.get("/api/generate/video", params={"runId": "x", "offset": "soon"})
    assert bad_offset.status_code == 400 and "offset" in bad_offset.json()["detail"]
    probe = await http.get("/api/generate/video", params={"threadId": "thread-test"})
    assert probe.status_code == 200 and probe.json() is None


async def test_a_bad_last_event_id_is_refused_before_starting(
    http: httpx.AsyncClient, simulator: SimulatorProcess
) -> None:
    run_id = new_run_id()
    response = await http.post(
        "/api/generate/video",
        json=run_body("a cat", run_id),
        headers={"X-Run-Id": run_id, "Last-Event-ID": "yesterday"},
    )
    assert response.status_code == 400 and "Last-Event-ID" in response.json()["detail"]
    assert own_creates(simulator, job_id_for_run(run_id)) == []


async def test_a_resume_never_starts_a_job(
    http: httpx.AsyncClient, simulator: SimulatorProcess
) -> None:
    run_id = new_run_id()
    response = await http.post(
        "/api/generate/video",
        json=run_body("a cat", run_id),
        headers={"X-Run-Id": run_id, "Last-Event-ID": "161"},
    )
    assert response.status_code == 404
    assert own_creates(simulator, job_id_for_run(run_id)) == []
    assert (await http.get(f"/api/video/jobs/{job_id_for_run(run_id)}")).status_code == 404


async def test_a_run_past_its_deadline_ends_with_a_timeout_error(http: httpx.AsyncClient) -> None:
    body = run_body("a slow glacier", new_run_id(), duration=12, maxDuration=1500, **FAST)
    got = await stream(http, body)

    last = got.events[-1]
    assert last.kind == "RUN_ERROR" and last.payload["code"] == "timeout"
    assert "timed out" in last.payload["message"]
    assert got.events[-2].payload["value"]["status"] == "failed"


async def test_a_run_cancelled_while_streaming_ends_with_a_cancelled_error(
    http: httpx.AsyncClient,
) -> None:
    body = run_body("a long river journey", new_run_id(), duration=12, **FAST)
    headers = {"X-Run-Id": str(body["runId"])}
    got = SseRead([])
    async with http.stream("POST", "/api/generate/video", json=body, headers=headers) as response:
        lines = response.aiter_lines()

        def processing(event: SseEvent) -> bool:
            return event.kind == "CUSTOM:video:status" and event.payload["value"]["progress"] > 0

        await read_sse(lines, got, stop_after=processing)
        job_id = got.events[1].payload["value"]["jobId"]
        cancel = await http.post(f"/api/video/jobs/{job_id}/cancel", json={"reason": "enough"})
        assert cancel.status_code == 202
        await read_sse(lines, got)

    assert_rising(got.events)
    last = got.events[-1]
    assert last.kind == "RUN_ERROR" and last.payload["code"] == "cancelled"
    assert last.payload["message"] == "enough"
    assert got.events[-2].payload["value"] == {
        "jobId": job_id,
        "status": "failed",
        "progress": got.events[-2].payload["value"]["progress"],
        "error": "enough",
    }
