"""Fetcher mode, job status and cancel, and what the API refuses before starting anything."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.http_app import create_app
from tests.support.polling import eventually
from tests.support.simulator import SimulatorProcess
from tests.web.servers import run_body, running_app

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAST = {"pollingInterval": 200}


async def test_fetcher_mode_waits_for_the_video(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/video/generate", json={"prompt": "a tin robot", **FAST})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed" and body["expiresAt"] is None
    assert body["url"].endswith(f"/api/video/jobs/{body['jobId']}/content")
    video = await http.get(body["url"])
    assert video.headers["content-type"] == "video/mp4" and video.content[4:8] == b"ftyp"
    thumbnail = await http.get(body["thumbnailUrl"])
    assert thumbnail.headers["content-type"] == "image/webp"
    assert thumbnail.content[8:12] == b"WEBP"

    status = (await http.get(f"/api/video/jobs/{body['jobId']}")).json()
    assert status["status"] == "completed" and status["progress"] == 100
    assert status["url"] == body["url"] and status["duration"] == 4


async def test_fetcher_mode_without_waiting_returns_a_status_url(http: httpx.AsyncClient) -> None:
    run_id = f"fetch-{uuid.uuid4().hex[:10]}"
    response = await http.post(
        "/api/video/generate",
        params={"wait": "false"},
        json={"prompt": "a paper plane", **FAST},
        headers={"X-Run-Id": run_id},
    )
    assert response.status_code == 202
    job_id = response.json()["jobId"]
    assert response.headers["location"] == response.json()["statusUrl"]

    async def status() -> dict[str, Any]:
        reply = await http.get(response.json()["statusUrl"])
        assert reply.status_code == 200
        body: dict[str, Any] = reply.json()
        return body

    done = await eventually(status, lambda s: s["status"] == "completed", what="completed")
    assert done["jobId"] == job_id and done["url"].endswith("/content")
    # The same run id again attaches to the same job.
    again = await http.post(
        "/api/video/generate", json={"prompt": "a paper plane"}, headers={"X-Run-Id": run_id}
    )
    assert again.json()["jobId"] == job_id


async def test_a_failed_job_in_fetcher_mode_is_an_error(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/video/generate", json={"prompt": "#moderation", **FAST})
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == "failed" and body["code"] == "moderation_blocked"
    assert "moderation" in body["detail"]


async def test_cancel_ends_the_job_cancelled(
    http: httpx.AsyncClient, simulator: SimulatorProcess
) -> None:
    started = await http.post(
        "/api/video/generate",
        params={"wait": "false"},
        json={"prompt": "a very long journey", "duration": 12, **FAST},
    )
    job_id = started.json()["jobId"]

    async def status() -> dict[str, Any]:
        body: dict[str, Any] = (await http.get(f"/api/video/jobs/{job_id}")).json()
        return body

    running = await eventually(status, lambda s: s["status"] == "processing", what="processing")
    assert running["progress"] < 100
    cancel = await http.post(f"/api/video/jobs/{job_id}/cancel", json={"reason": "not needed"})
    assert cancel.status_code == 202 and cancel.json()["cancelRequested"] is True

    ended = await eventually(status, lambda s: s["status"] == "cancelled", what="cancelled")
    assert ended["error"] == {"code": "cancelled", "message": "not needed"}
    again = await http.post(f"/api/video/jobs/{job_id}/cancel")
    assert again.status_code == 409
    assert (await http.get(f"/api/video/jobs/{job_id}/content")).status_code == 404


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"size": "1280x720"}, "prompt", "Field required"),
        ({"prompt": "   "}, "prompt", "must not be empty"),
        ({"prompt": "a cat", "duration": 10}, "duration", "must be one of 4, 8, 12"),
        ({"prompt": "a cat", "size": "1x1"}, "size", "not allowed"),
        ({"prompt": "a cat", "model": "sora-9"}, "model", "must be one of"),
        ({"prompt": "a cat", "modelOptions": "loud"}, "modelOptions", "must be an object"),
        ({"prompt": "a cat", "pollingInterval": 5}, "pollingInterval", "between 0.1 s"),
        ({"prompt": "a cat", "inputReference": "/etc/passwd"}, "inputReference", "http"),
        ({"prompt": [{"type": "image", "source": {}}]}, "prompt", "only text parts"),
    ],
)
async def test_invalid_input_is_refused_naming_the_field_and_starts_nothing(
    http: httpx.AsyncClient,
    simulator: SimulatorProcess,
    data: dict[str, Any],
    field: str,
    words: str,
) -> None:
    before = simulator.counters()["create_calls"]
    run_id = f"bad-{uuid.uuid4().hex[:10]}"
    body = run_body("", run_id) | {"data": data, "forwardedProps": data}

    streamed = await http.post("/api/generate/video", json=body, headers={"X-Run-Id": run_id})
    fetched = await http.post("/api/video/generate", json=data)

    for response in (streamed, fetched):
        assert response.status_code == 422, response.text
        assert response.json()["fields"] == [field]
        assert field in response.json()["detail"] and words in response.json()["detail"]
    assert (await http.get(f"/api/video/jobs/run-{run_id}")).status_code == 404
    assert simulator.counters()["create_calls"] == before


async def test_malformed_bodies_are_refused(http: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json"}
    not_json = await http.post("/api/generate/video", content=b"{prompt:", headers=headers)
    assert not_json.status_code == 400 and "JSON" in not_json.json()["detail"]
    not_object = await http.post("/api/generate/video", json={"data": ["a", "cat"]})
    assert not_object.status_code == 422 and not_object.json()["fields"] == ["data"]
    too_big = await http.post("/api/generate/video", json={"data": {"prompt": "x" * 70_000}})
    assert too_big.status_code == 413

    async def chunks() -> Any:
        for _ in range(80):
            yield b" " * 1024

    streamed_too_big = await http.post("/api/video/generate", content=chunks(), headers=headers)
    assert streamed_too_big.status_code == 413


async def test_unknown_and_invalid_job_ids(http: httpx.AsyncClient) -> None:
    for path in ("/api/video/jobs/nope-123", "/api/video/jobs/nope-123/content"):
        assert (await http.get(path)).status_code == 404
    assert (await http.post("/api/video/jobs/nope-123/cancel")).status_code == 404
    assert (await http.get("/api/video/jobs/.hidden")).status_code == 400
    assert (await http.get("/api/video/jobs/a%20b/content")).status_code == 400


@pytest.mark.parametrize(
    "raw_path",
    [
        "/api/video/jobs/..%2F..%2F..%2Fetc%2Fpasswd/content",
        "/api/video/jobs/..%2f..%2fsecret/content",
        "/api/video/jobs/%2E%2E/content",
        "/api/video/jobs/..%5C..%5Csecret/content",
        "/api/video/jobs/%2e%2e%2f%2e%2e%2fvideos/content?variant=thumbnail",
        "/api/video/jobs/..%252F..%252Fsecret/content",
    ],
)
async def test_path_traversal_never_reaches_storage(
    api_url: str, settings: ReelflowSettings, raw_path: str
) -> None:
    # Files a traversal out of the videos folder would find, were it possible.
    for folder in (settings.data_dir / "secret", settings.data_dir / "videos"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "video.mp4").write_bytes(b"not for you")
        (folder / "thumbnail.webp").write_bytes(b"not for you")
    # Sent byte for byte: httpx would normalise dot segments of a URL built the usual way.
    async with httpx.AsyncClient() as client:
        request = client.build_request("GET", api_url)
        request.url = request.url.copy_with(raw_path=raw_path.encode())
        response = await client.send(request)
    assert response.status_code in (400, 404), (raw_path, response.status_code)
    assert response.headers["content-type"].startswith("application/json")
    assert b"not for you" not in response.content


async def test_result_urls_use_the_public_base_url(
    settings: ReelflowSettings, reelflow: ReelflowClient
) -> None:
    public = "https://videos.example/reelflow/"
    app = create_app(settings.model_copy(update={"public_base_url": public}), reelflow)
    async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        response = await http.post("/api/video/generate", json={"prompt": "a fox", **FAST})
    body = response.json()
    assert body["url"] == f"https://videos.example/reelflow/api/video/jobs/{body['jobId']}/content"
    assert body["thumbnailUrl"] == body["url"] + "?variant=thumbnail"
