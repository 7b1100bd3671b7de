"""Exact validation of create input, with the spec's error envelope."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.simulator.helpers import error_of

SECONDS_MESSAGE = "Invalid value: '10'. Supported values are: '4', '8', and '12'."


def post(api: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return api.post("/videos", json=body)


def assert_error(response: httpx.Response, status: int, param: str | None, code: str | None) -> str:
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["param"] == param
    assert error["code"] == code
    message: str = error["message"]
    return message


@pytest.mark.parametrize("seconds", ["10", 10])
def test_seconds_message_is_exact(api: httpx.Client, seconds: object) -> None:
    message = assert_error(
        post(api, {"prompt": "x", "seconds": seconds}), 400, "seconds", "invalid_value"
    )
    assert message == SECONDS_MESSAGE


@pytest.mark.parametrize("seconds", ["4", 4, "8", 8, "12", 12])
def test_seconds_accepts_int_and_string(api: httpx.Client, seconds: object) -> None:
    response = post(api, {"prompt": "x", "seconds": seconds, "size": "1280x720"})
    assert response.status_code == 200, response.text
    assert response.json()["seconds"] == str(seconds)


@pytest.mark.parametrize("seconds", [True, 4.0, "four", 0, [4]])
def test_seconds_rejects_other_types(api: httpx.Client, seconds: object) -> None:
    assert_error(post(api, {"prompt": "x", "seconds": seconds}), 400, "seconds", "invalid_value")


def test_unknown_model_is_invalid_value(api: httpx.Client) -> None:
    message = assert_error(
        post(api, {"prompt": "x", "model": "sora-3"}), 400, "model", "invalid_value"
    )
    assert "'sora-3'" in message and "'sora-2-pro'" in message


@pytest.mark.parametrize(
    "model",
    ["sora-2", "sora-2-pro", "sora-2-2025-10-06", "sora-2-pro-2025-10-06", "sora-2-2025-12-08"],
)
def test_every_model_and_snapshot_is_accepted(api: httpx.Client, model: str) -> None:
    response = post(api, {"prompt": "x", "model": model, "size": "1280x720"})
    assert response.status_code == 200, response.text
    assert response.json()["model"] == model


@pytest.mark.parametrize("size", ["1024x1792", "1792x1024"])
def test_pro_sizes_rejected_on_sora_2(api: httpx.Client, size: str) -> None:
    response = post(api, {"prompt": "x", "model": "sora-2", "size": size})
    message = assert_error(response, 400, "size", "invalid_value")
    assert message == (
        f"Invalid value: '{size}'. Supported values for model 'sora-2' are: "
        "'720x1280' and '1280x720'."
    )


@pytest.mark.parametrize("size", ["1024x1792", "1792x1024", "720x1280", "1280x720"])
def test_pro_sizes_accepted_on_sora_2_pro(api: httpx.Client, size: str) -> None:
    response = post(api, {"prompt": "x", "model": "sora-2-pro", "size": size})
    assert response.status_code == 200, response.text


def test_unknown_size(api: httpx.Client) -> None:
    assert_error(post(api, {"prompt": "x", "size": "640x480"}), 400, "size", "invalid_value")


def test_prompt_missing_empty_too_long_wrong_type(api: httpx.Client) -> None:
    assert_error(post(api, {"model": "sora-2"}), 400, "prompt", "missing_required_parameter")
    assert_error(post(api, {"prompt": ""}), 400, "prompt", "string_below_min_length")
    too_long = assert_error(
        post(api, {"prompt": "p" * 32001}), 400, "prompt", "string_above_max_length"
    )
    assert "32000" in too_long and "32001" in too_long
    assert_error(post(api, {"prompt": 42}), 400, "prompt", "invalid_type")


def test_prompt_at_max_length_is_accepted(api: httpx.Client) -> None:
    response = post(api, {"prompt": "p" * 32000, "size": "1280x720"})
    assert response.status_code == 200, response.text


def test_unknown_fields_are_ignored(api: httpx.Client) -> None:
    response = post(api, {"prompt": "x", "size": "1280x720", "quality": "hd", "n": 3})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_bad_json_is_400(api: httpx.Client, body: bytes) -> None:
    response = api.post("/videos", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    error_of(response)


def test_multipart_validation_matches_json(api: httpx.Client) -> None:
    response = api.post("/videos", data={"prompt": "x", "seconds": "10"})
    assert assert_error(response, 400, "seconds", "invalid_value") == SECONDS_MESSAGE


def image(width: int, height: int, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 0, 0)).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (image(640, 360, "PNG"), "640x360"),
        (image(720, 1280, "JPEG"), "720x1280"),
        (image(1280, 720, "GIF"), "GIF"),
        (b"definitely not an image", "JPEG, PNG or WebP"),
    ],
)
def test_bad_input_reference_is_400(api: httpx.Client, content: bytes, fragment: str) -> None:
    response = api.post(
        "/videos",
        data={"prompt": "x", "size": "1280x720"},
        files={"input_reference": ("ref", content, "application/octet-stream")},
    )
    assert fragment in assert_error(response, 400, "input_reference", "invalid_value")


def test_validation_errors_create_nothing(sim: Any, api: httpx.Client) -> None:
    before = sim.counters()["videos_created"]
    post(api, {"prompt": "x", "seconds": "10"})
    post(api, {"prompt": ""})
    api.post("/videos", content=b"{", headers={"content-type": "application/json"})
    assert sim.counters()["videos_created"] == before


def test_unavailable_model_is_404_model_not_found(sim: Any, api: httpx.Client) -> None:
    sim.configure(unavailable_models=["sora-2-pro"])
    try:
        response = post(api, {"prompt": "x", "model": "sora-2-pro"})
    finally:
        sim.configure(unavailable_models=[])
    assert_error(response, 404, "model", "model_not_found")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"prompt": "\\ud800 unpaired"}', "application/json"),
        (b"[" * 100_000, "application/json"),
        (b"\xff\xfe\x00", "text/plain"),
        (b"--xx\r\nbroken", "multipart/form-data"),
        (b"--xx\r\nbroken", "multipart/form-data; boundary=xx"),
        (
            b'--xx\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n'
            + b"p" * 2_000_000
            + b"\r\n--xx--\r\n",
            "multipart/form-data; boundary=xx",
        ),
    ],
)
def test_hostile_bodies_are_400_not_500(
    sim: Any, api: httpx.Client, content: bytes, content_type: str
) -> None:
    before = sim.counters()["videos_created"]
    response = api.post("/videos", content=content, headers={"content-type": content_type})
    assert response.status_code == 400, response.text
    error_of(response)
    assert sim.counters()["videos_created"] == before
    assert api.get("/videos", params={"limit": 1}).status_code == 200
