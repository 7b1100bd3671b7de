"""The request contract rejects bad input with messages that name the field and allowed values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from starter.client import build_request, request_markdown
from starter.errors import InvalidVideoRequestError
from workflows.contract import VideoRequest, validate_job_id


def test_defaults_follow_the_api() -> None:
    request = build_request("a cat")
    assert (request.model, request.size, request.seconds) == ("sora-2", "1280x720", 4)
    assert request.polling_interval == timedelta(seconds=2)
    assert request.max_duration == timedelta(minutes=10)


@pytest.mark.parametrize("seconds", [4, "8", " 12 "])
def test_seconds_accepts_int_or_string(seconds: int | str) -> None:
    assert build_request("a cat", seconds=seconds).seconds == int(str(seconds))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"seconds": 10}, "seconds: seconds must be one of 4, 8, 12, got 10"),
        ({"seconds": "ten"}, "seconds must be one of 4, 8, 12"),
        ({"size": "1792x1024"}, "(that size needs sora-2-pro); allowed sizes: 720x1280, 1280x720"),
        (
            {"size": "640x480", "model": "sora-2-pro"},
            "allowed sizes: 720x1280, 1280x720, 1024x1792",
        ),
        ({"model": "dall-e"}, "model: model must be one of sora-2, sora-2-pro"),
        ({"polling_interval": 0.01}, "polling_interval must be between"),
        ({"job_id": "../etc"}, "invalid job id '../etc'"),
        ({"unknown": 1}, "unknown: Extra inputs are not permitted"),
    ],
)
def test_invalid_fields_are_named(fields: dict[str, object], expected: str) -> None:
    with pytest.raises(InvalidVideoRequestError) as caught:
        build_request("a cat", **fields)
    assert expected in str(caught.value)


@pytest.mark.parametrize("prompt", ["", "   ", "x" * 32001])
def test_prompt_length(prompt: str) -> None:
    with pytest.raises(InvalidVideoRequestError, match="prompt"):
        build_request(prompt)


def test_pro_sizes_on_pro_models_and_snapshots() -> None:
    assert build_request("a", model="sora-2-pro", size="1792x1024").width == 1792
    assert build_request("a", model="sora-2-pro-2025-10-06", size="1024x1792").height == 1792


def test_model_options_size_and_seconds_are_alternatives() -> None:
    request = build_request("a", model_options={"size": "720x1280", "seconds": "8", "style": "x"})
    assert (request.size, request.seconds) == ("720x1280", 8)
    assert request.model_options == {"style": "x"}


def test_model_options_conflict_is_an_error() -> None:
    with pytest.raises(InvalidVideoRequestError, match="size is given twice"):
        build_request("a", size="1280x720", model_options={"size": "720x1280"})


def test_model_options_may_not_override_prompt() -> None:
    with pytest.raises(InvalidVideoRequestError, match="may not set 'prompt'"):
        build_request("a", model_options={"prompt": "b"})


def test_summary_fits_the_ui_limit() -> None:
    summary = build_request("é" * 5000, seconds=8).summary()
    assert len(summary.encode()) <= 200
    assert summary.startswith('sora-2 · 1280x720 · 8s · "é')


def test_request_round_trips_as_json() -> None:
    request = build_request("a dog", seconds="12", polling_interval=0.5, job_id="job-1")
    assert VideoRequest.model_validate_json(request.model_dump_json()) == request


def test_markdown_details_hold_the_request() -> None:
    details = request_markdown(build_request("a dog\nin the rain"))
    assert "| model | `sora-2` |" in details
    assert "> a dog\n> in the rain" in details


@pytest.mark.parametrize("job_id", ["a", "video-123", "A.b_c:d-e"])
def test_good_job_ids(job_id: str) -> None:
    assert validate_job_id(job_id) == job_id


@pytest.mark.parametrize("job_id", ["", ".hidden", "a/b", "a\\b", "x" * 129, "a b"])
def test_bad_job_ids(job_id: str) -> None:
    with pytest.raises(ValueError, match="invalid job id"):
        validate_job_id(job_id)
