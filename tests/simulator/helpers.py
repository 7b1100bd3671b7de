"""Small helpers for the simulator tests: create a video, wait for a status."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.simulator import wait_until

FAST = {"size": "1280x720", "seconds": "4"}
FINAL = ("completed", "failed")


def create(api: httpx.Client, prompt: str = "a calm lake at dawn", **fields: Any) -> dict[str, Any]:
    response = api.post("/videos", json={"prompt": prompt, **FAST, **fields})
    assert response.status_code == 200, response.text
    video: dict[str, Any] = response.json()
    return video


def retrieve(api: httpx.Client, video_id: str) -> dict[str, Any]:
    response = api.get(f"/videos/{video_id}")
    assert response.status_code == 200, response.text
    video: dict[str, Any] = response.json()
    return video


def wait_final(api: httpx.Client, video_id: str, timeout: float = 30.0) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        video = retrieve(api, video_id)
        return video if video["status"] in FINAL else None

    return wait_until(final, timeout=timeout, message=f"{video_id} final")


def completed(api: httpx.Client, prompt: str = "a calm lake at dawn") -> dict[str, Any]:
    video = wait_final(api, create(api, prompt)["id"])
    assert video["status"] == "completed", video
    return video


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    error: dict[str, Any] = body["error"]
    return error
