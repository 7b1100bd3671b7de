"""The official `openai` SDK, pointed at the simulator, works unchanged."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from tests.support.simulator import SimulatorProcess

pytestmark = [
    pytest.mark.usefixtures("no_faults"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
warnings.filterwarnings("ignore", category=DeprecationWarning, module="openai")


@pytest.fixture
def client(sim: SimulatorProcess) -> Iterator[OpenAI]:
    with OpenAI(base_url=sim.base_url, api_key="sk-sdk", max_retries=0) as sdk:
        yield sdk


def test_create_and_poll_then_download_every_variant(client: OpenAI) -> None:
    video = client.videos.create_and_poll(
        prompt="a calm lake at dawn", size="1280x720", seconds="4", poll_interval_ms=50
    )
    assert video.status == "completed"
    assert video.progress == 100
    assert video.completed_at is not None and video.expires_at is not None
    mp4 = client.videos.download_content(video.id).content
    assert mp4[4:8] == b"ftyp"
    webp = client.videos.download_content(video.id, variant="thumbnail").content
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
    jpeg = client.videos.download_content(video.id, variant="spritesheet").content
    assert jpeg[:3] == b"\xff\xd8\xff"


def test_create_retrieve_remix_delete(client: OpenAI) -> None:
    created = client.videos.create(prompt="a calm lake at dawn", model="sora-2-pro", seconds="4")
    assert created.status in ("queued", "in_progress")
    assert created.model == "sora-2-pro" and created.size == "720x1280"
    same = client.videos.retrieve(created.id)
    assert same.id == created.id
    done = client.videos.poll(created.id, poll_interval_ms=50)
    assert done.status == "completed"
    remix = client.videos.remix(done.id, prompt="the same lake at night")
    assert remix.remixed_from_video_id == done.id
    deleted = client.videos.delete(done.id)
    assert deleted.deleted is True and deleted.id == done.id
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(done.id)


def test_list_auto_paginates(client: OpenAI) -> None:
    ids = {client.videos.create(prompt=f"page item {i}", size="1280x720").id for i in range(5)}
    seen = [video.id for video in client.videos.list(limit=2)]
    assert len(seen) == len(set(seen))
    assert ids <= set(seen)
    first_page = client.videos.list(limit=2)
    assert first_page.has_more is True
    assert len(first_page.data) == 2


def test_sdk_exceptions(sim: SimulatorProcess, client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.videos.create(prompt="x", seconds="10")  # type: ignore[arg-type]
    assert bad.value.code == "invalid_value"
    assert bad.value.param == "seconds"
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve("video_" + "a" * 32)
    sim.set_faults({"rules": [{"endpoint": "create", "kind": "http_429", "retry_after": 1}]})
    with pytest.raises(openai.RateLimitError):
        client.videos.create(prompt="x")
    sim.clear_faults()
    sim.set_faults({"rules": [{"endpoint": "create", "kind": "http_401", "times": 1}]})
    with pytest.raises(openai.AuthenticationError):
        client.videos.create(prompt="x")


def test_sdk_retries_through_transient_faults(sim: SimulatorProcess) -> None:
    sim.set_faults({"rules": [{"endpoint": "create", "kind": "http_503", "times": 2}]})
    before = sim.counters()["create_calls"]
    with OpenAI(base_url=sim.base_url, api_key="sk-sdk", max_retries=2) as sdk:
        sdk.with_options(timeout=10).videos.create(prompt="retried", size="1280x720")
    assert sim.counters()["create_calls"] == before + 3


def test_sdk_sees_a_dropped_connection(sim: SimulatorProcess, client: OpenAI) -> None:
    sim.set_faults({"rules": [{"endpoint": "retrieve", "kind": "drop", "times": 1}]})
    with pytest.raises(openai.APIConnectionError):
        client.videos.retrieve("video_" + "b" * 32)
