"""Bearer key checks (a simulator started with `--api-key`) and the rendered media."""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction

import av
import httpx
import pytest

from tests.simulator.helpers import completed, error_of
from tests.support.simulator import SimulatorProcess

KEY = "sk-only-this-key-works"


@pytest.fixture(scope="module")
def keyed_sim() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(api_key=KEY) as process:
        yield process


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer wrong"},
    ],
)
def test_missing_or_wrong_key_is_401(keyed_sim: SimulatorProcess, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=keyed_sim.base_url, headers=headers) as client:
        for response in (
            client.post("/videos", json={"prompt": "x"}),
            client.get("/videos"),
            client.get("/videos/video_" + "0" * 32),
        ):
            assert response.status_code == 401
            assert error_of(response)["code"] == "invalid_api_key"
    assert keyed_sim.counters()["videos_created"] == 0


def test_right_key_and_runtime_key_change(keyed_sim: SimulatorProcess) -> None:
    with httpx.Client(base_url=keyed_sim.base_url) as client:
        ok = client.get("/videos", headers={"Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200
        keyed_sim.configure(api_key="sk-new")
        try:
            assert (
                client.get("/videos", headers={"Authorization": f"Bearer {KEY}"}).status_code == 401
            )
            assert (
                client.get("/videos", headers={"Authorization": "Bearer sk-new"}).status_code == 200
            )
        finally:
            keyed_sim.configure(api_key=KEY)


def test_admin_api_needs_no_key(keyed_sim: SimulatorProcess) -> None:
    assert httpx.get(f"{keyed_sim.root_url}/_sim/health").json() == {"ok": True}


def test_default_accepts_any_non_empty_key(sim: SimulatorProcess) -> None:
    assert (
        httpx.get(f"{sim.base_url}/videos", headers={"Authorization": "Bearer any"}).status_code
        == 200
    )
    assert httpx.get(f"{sim.base_url}/videos").status_code == 401


def test_video_decodes_with_requested_size_duration_and_audio(api: httpx.Client) -> None:
    video = completed(api)
    data = api.get(f"/videos/{video['id']}/content").content
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        assert container.streams.audio, "an audio stream"
        frames = [frame for frame in container.decode(stream)]
        rate = stream.average_rate or Fraction(24)
        duration = len(frames) / rate
        assert abs(float(duration) - 4.0) <= 1 / float(rate)
