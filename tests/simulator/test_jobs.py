"""Job rules: idempotency keys, outcome markers, the concurrency cap, speed changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.simulator.helpers import FAST, create, error_of, retrieve, wait_final
from tests.support.simulator import SimulatorProcess, wait_until


def create_with_key(api: httpx.Client, key: str, prompt: str) -> httpx.Response:
    return api.post("/videos", json={"prompt": prompt, **FAST}, headers={"Idempotency-Key": key})


def test_same_idempotency_key_returns_the_same_video(
    sim: SimulatorProcess, api: httpx.Client
) -> None:
    key = f"wf-{uuid.uuid4()}"
    before = sim.counters()["videos_created"]
    ids = {create_with_key(api, key, "idempotent").json()["id"] for _ in range(3)}
    assert len(ids) == 1
    counters = sim.counters()
    assert counters["videos_created"] == before + 1
    assert counters["idempotency_keys"][key] == {"calls": 3, "video_id": ids.pop()}


def test_same_key_with_another_body_is_409(sim: SimulatorProcess, api: httpx.Client) -> None:
    key = f"wf-{uuid.uuid4()}"
    first = create_with_key(api, key, "one body")
    assert first.status_code == 200
    conflict = create_with_key(api, key, "another body")
    assert conflict.status_code == 409
    error = error_of(conflict)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "idempotency_key_conflict"
    assert sim.video(first.json()["id"])["idempotency_key"] == key


def test_moderation_marker_fails_the_job(api: httpx.Client) -> None:
    video = wait_final(api, create(api, "something #moderation please")["id"])
    assert video["status"] == "failed"
    assert video["error"] == {
        "code": "moderation_blocked",
        "message": "Your request was blocked by our moderation system.",
    }
    assert video["completed_at"] is None and video["expires_at"] is None


def test_fail_marker_fails_midway(api: httpx.Client) -> None:
    video = wait_final(api, create(api, "boom #fail")["id"])
    assert video["status"] == "failed"
    assert video["error"]["code"] == "internal_error"
    assert video["progress"] == 50
    content = api.get(f"/videos/{video['id']}/content")
    assert content.status_code == 400


def test_custom_outcome_rules(sim: SimulatorProcess, api: httpx.Client) -> None:
    default_rules = sim.config()["outcome_rules"]
    rule = {
        "contains": "[quota]",
        "outcome": "quota_exceeded",
        "message": "No credits.",
        "at_progress": 10,
    }
    sim.configure(outcome_rules=[rule])
    try:
        video = wait_final(api, create(api, "a [quota] test")["id"])
        plain = wait_final(api, create(api, "a calm lake at dawn #fail")["id"])
    finally:
        sim.configure(outcome_rules=default_rules)
    assert video["error"] == {"code": "quota_exceeded", "message": "No credits."}
    assert plain["status"] == "completed"  # the default markers were replaced


@pytest.fixture
def slow_capped(sim: SimulatorProcess) -> Iterator[None]:
    sim.configure(concurrency=1, speed=2.0)
    yield
    sim.configure(concurrency=0, speed=20.0)


@pytest.mark.usefixtures("slow_capped")
def test_concurrency_cap_keeps_extra_jobs_queued(sim: SimulatorProcess, api: httpx.Client) -> None:
    ids = [create(api, "a calm lake at dawn")["id"] for _ in range(3)]
    internal = [sim.video(video_id) for video_id in ids]
    assert internal[1]["start_at"] >= internal[0]["end_at"] - 1e-6
    assert internal[2]["start_at"] >= internal[1]["end_at"] - 1e-6

    def first_running() -> list[dict[str, Any]] | None:
        videos = [retrieve(api, video_id) for video_id in ids]
        return videos if videos[0]["status"] == "in_progress" else None

    videos = wait_until(first_running, timeout=10, message="first job running")
    assert [v["status"] for v in videos[1:]] == ["queued", "queued"]
    sim.configure(concurrency=0)  # lifting the cap starts the waiting jobs now
    wait_until(
        lambda: all(retrieve(api, i)["status"] != "queued" for i in ids),
        timeout=10,
        message="waiting jobs started",
    )


def test_speed_change_rescales_running_jobs(sim: SimulatorProcess, api: httpx.Client) -> None:
    sim.configure(speed=0.5)
    try:
        video = create(api, "a calm lake at dawn", seconds="12")
        slow = sim.video(video["id"])
        assert slow["end_at"] - slow["start_at"] == pytest.approx(48.0, rel=0.01)
    finally:
        sim.configure(speed=20.0)
    fast = sim.video(video["id"])
    assert fast["end_at"] - fast["start_at"] == pytest.approx(1.2, rel=0.05)
    assert wait_final(api, video["id"])["status"] == "completed"


def test_reset_clears_jobs_counters_and_faults(sim: SimulatorProcess, api: httpx.Client) -> None:
    video = create(api)
    sim.set_faults({"rules": [{"endpoint": "list", "kind": "http_500", "times": 5}]})
    sim.reset()
    counters = sim.counters()
    assert counters["videos_created"] == 0 and counters["create_calls"] == 0
    assert api.get(f"/videos/{video['id']}").status_code == 404
    assert api.get("/videos").status_code == 200
