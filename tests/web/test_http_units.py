"""The pure parts of the HTTP API (no servers): offsets, run ids → job ids, input mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from starter.http_events import (
    END_OFFSET,
    RESULT_OFFSET,
    RunIds,
    status_offset,
    video_status,
)
from starter.http_input import RequestProblem, job_id_for_run, parse_offset, video_request
from workflows.contract import VideoJobError, VideoJobStatus, validate_job_id

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def status(state: str, progress: int, **extra: Any) -> VideoJobStatus:
    return VideoJobStatus(
        job_id="run-x",
        status=state,
        progress=progress,
        model="sora-2",
        size="1280x720",
        seconds=4,
        prompt="p",
        created_at=NOW,
        updated_at=NOW,
        deadline=NOW + timedelta(minutes=10),
        **extra,
    )


def test_status_offsets_rise_with_the_job_and_stay_below_the_terminal_events() -> None:
    journey = [status("pending", 0), status("processing", 0), status("processing", 37)]
    journey += [status("processing", 99), status("completed", 100)]
    offsets = [status_offset(s) for s in journey]
    assert offsets == sorted(set(offsets)) and offsets[0] == 2 and offsets[-1] == 304
    for ended in ("failed", "cancelled"):
        assert status_offset(status("processing", 99)) < status_offset(status(ended, 0))
    assert max(offsets) < RESULT_OFFSET < END_OFFSET


def test_a_cancelled_job_reports_failed_in_tanstack_terms() -> None:
    error = VideoJobError(code="cancelled", message="stop")
    event = video_status(RunIds("r", "t", "run-x"), status("cancelled", 40, error=error))
    assert event.payload["value"] == {
        "jobId": "run-x",
        "status": "failed",
        "progress": 40,
        "error": "stop",
    }


@pytest.mark.parametrize(
    "run_id", ["noop-run-1732000000000-abc123", "a/b", "../../etc", "é", "x" * 200, " "]
)
def test_every_run_id_maps_to_one_safe_job_id(run_id: str) -> None:
    job_id = job_id_for_run(run_id)
    assert validate_job_id(job_id) == job_id and job_id == job_id_for_run(run_id)
    assert "/" not in job_id and ".." not in job_id


def test_safe_and_hashed_job_ids_never_collide() -> None:
    hashed = job_id_for_run("a/b")
    assert hashed.startswith("run.")
    assert job_id_for_run(hashed.removeprefix("run.")) != hashed


@pytest.mark.parametrize(("value", "expected"), [(None, -1), ("", -1), ("-1", -1), ("304", 304)])
def test_offsets_parse(value: str | None, expected: int) -> None:
    assert parse_offset(value, "Last-Event-ID") == expected


@pytest.mark.parametrize("value", ["x", "1.5", "-2"])
def test_bad_offsets_are_400(value: str) -> None:
    with pytest.raises(RequestProblem) as caught:
        parse_offset(value, "Last-Event-ID")
    assert caught.value.status == 400


def test_tanstack_input_maps_onto_a_video_request() -> None:
    request = video_request(
        {
            "prompt": [{"type": "text", "content": "a cat"}, {"type": "text", "content": "hat"}],
            "size": "720x1280",
            "duration": 8,
            "model": "sora-2",
            "modelOptions": {"style": "noir"},
            "seed": 7,
            "pollingInterval": 500,
            "maxDuration": 60_000,
        }
    )
    assert request.prompt == "a cat\nhat" and request.seconds == 8 and request.size == "720x1280"
    assert request.model_options == {"style": "noir", "seed": 7}
    assert request.polling_interval == timedelta(milliseconds=500)
    assert request.max_duration == timedelta(minutes=1)
