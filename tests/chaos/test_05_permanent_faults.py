"""Scenario 5: permanent provider errors end the job on the first attempt, with the provider's
words, and without a retry storm (calls are counted at the simulator and in the history)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from temporalio.api.enums.v1 import EventType

from starter.client import ReelflowClient, VideoJob
from starter.errors import VideoJobFailedError
from tests.chaos.helpers import (
    ChaosReport,
    ScenarioRecord,
    outcomes,
    start_jobs,
)
from tests.chaos.stack import ChaosStack
from tests.support.simulator import SimulatorProcess

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.chaos]

ENDPOINTS = ("create", "retrieve", "content", "delete")


async def activity_attempts(reelflow: ReelflowClient, job_id: str) -> dict[str, int]:
    """The highest attempt each activity reached, from the history (started events)."""
    history = await reelflow.temporal.get_workflow_handle(job_id).fetch_history()
    scheduled: dict[int, str] = {}
    attempts: dict[str, int] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            name = scheduled[started.scheduled_event_id]
            attempts[name] = max(attempts.get(name, 0), started.attempt)
    return attempts


def call_counts(simulator: SimulatorProcess) -> dict[str, int]:
    counters = simulator.counters()
    return {endpoint: counters[f"{endpoint}_calls"] for endpoint in ENDPOINTS}


def fault(kind: str) -> Callable[[ChaosStack, Path], dict[str, Any]]:
    def arrange(stack: ChaosStack, scratch: Path) -> dict[str, Any]:
        stack.simulator.set_faults({"rules": [{"endpoint": "create", "kind": kind}]})
        return {}

    return arrange


def wrong_size_reference(stack: ChaosStack, scratch: Path) -> dict[str, Any]:
    image = scratch / "reference-64x64.png"
    Image.new("RGB", (64, 64), "blue").save(image)
    return {"input_reference": image}


def model_not_served(stack: ChaosStack, scratch: Path) -> dict[str, Any]:
    stack.simulator.configure(unavailable_models=["sora-2-pro"])
    return {"model": "sora-2-pro"}


def moderated(stack: ChaosStack, scratch: Path) -> dict[str, Any]:
    return {"prompt": "chaos: a #moderation test"}


CASES: dict[str, tuple[Callable[[ChaosStack, Path], dict[str, Any]], str]] = {
    "401 invalid key": (fault("http_401"), "Incorrect API key provided"),
    "403 region": (fault("http_403"), "Country, region, or territory not supported"),
    "400 validation": (wrong_size_reference, "the image is 64x64 but the requested size"),
    "429 insufficient_quota": (fault("insufficient_quota"), "You exceeded your current quota"),
    "404 model not served": (model_not_served, "video generation API is not available at"),
    "moderation": (moderated, "blocked by our moderation system"),
}


async def run_case(
    stack: ChaosStack,
    reelflow: ReelflowClient,
    arrange: Callable[[ChaosStack, Path], dict[str, Any]],
    scratch: Path,
    start: Callable[..., Awaitable[list[VideoJob]]] = start_jobs,
) -> tuple[VideoJobFailedError, dict[str, int], dict[str, int]]:
    before = call_counts(stack.simulator)
    request = arrange(stack, scratch)
    (job,) = await start(reelflow, "permanent", 1, **request)
    (end,) = (await outcomes([job], timeout=60)).values()
    after = call_counts(stack.simulator)
    stack.simulator.clear_faults()
    assert isinstance(end, VideoJobFailedError), f"{job.job_id}: {end!r}"
    status = await job.status()
    assert status.status == "failed"
    calls = {endpoint: after[endpoint] - before[endpoint] for endpoint in ENDPOINTS}
    return end, calls, await activity_attempts(reelflow, job.job_id)


@pytest.mark.timeout(180)
async def test_permanent_provider_errors_fail_at_once(
    stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport, tmp_path: Path
) -> None:
    started = time.monotonic()
    seen = {}
    for name, (arrange, words) in CASES.items():
        error, calls, attempts = await run_case(stack, reelflow, arrange, tmp_path)
        assert words in error.message, f"{name}: {error.message}"
        assert calls["create"] == 1, f"{name}: {calls}"
        assert attempts.get("create_video_job") == 1, f"{name}: {attempts}"
        assert calls["content"] == 0 and calls["retrieve"] <= 2, f"{name}: {calls}"
        seen[name] = calls
    report.add(
        ScenarioRecord(
            "5 permanent provider errors",
            jobs=len(CASES),
            faults=", ".join(CASES),
            outcome="each failed on attempt 1 with the provider's message",
            seconds=time.monotonic() - started,
            notes={"calls": {name: sum(c.values()) for name, c in seen.items()}},
        )
    )


@pytest.mark.timeout(120)
async def test_api_not_served_at_the_base_url(
    stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport, tmp_path: Path
) -> None:
    """A base URL where no Videos API lives (404 on the collection) ends the job at once."""
    started = time.monotonic()
    wrong_url = stack.simulator.root_url + "/not-v1"
    original = stack.worker.env["OPENAI_BASE_URL"]
    stack.worker.restart(OPENAI_BASE_URL=wrong_url)
    try:
        error, calls, attempts = await run_case(stack, reelflow, lambda *_: {}, tmp_path)
    finally:
        stack.worker.restart(OPENAI_BASE_URL=original)
    assert f"not available at {wrong_url}" in error.message, error.message
    assert attempts.get("create_video_job") == 1 and sum(calls.values()) == 0, calls
    report.add(
        ScenarioRecord(
            "5 Videos API not served at the base URL",
            jobs=1,
            faults="404 on POST {base}/videos",
            outcome="failed on attempt 1: API not available",
            seconds=time.monotonic() - started,
        )
    )
