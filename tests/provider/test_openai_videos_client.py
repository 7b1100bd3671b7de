"""reelflow's provider client against the simulator over real HTTP: calls, files, errors."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import av
import pytest
import pytest_asyncio
from PIL import Image

from activities.errors import (
    ProviderAssetExpiredError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderNotFoundError,
    ProviderQuotaError,
    ProviderRateLimitError,
    ProviderRequestError,
    ProviderResponseError,
    ProviderRetryableError,
    ProviderUnavailableError,
    ProviderValidationError,
)
from activities.openai_videos import OpenAIVideosClient
from activities.provider_models import CreateVideoRequest, Video
from tests.support.polling import eventually
from tests.support.simulator import SimulatorProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")

KEY = "sk-provider-client-test-key-4242"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(speed=50.0, api_key=KEY) as process:
        yield process


@pytest.fixture(autouse=True)
def no_faults(sim: SimulatorProcess) -> Iterator[None]:
    sim.clear_faults()
    yield
    sim.clear_faults()


@pytest_asyncio.fixture(loop_scope="session")
async def client(sim: SimulatorProcess) -> AsyncIterator[OpenAIVideosClient]:
    async with OpenAIVideosClient(sim.base_url, KEY, timeout=2.0) as videos:
        yield videos


def fault(sim: SimulatorProcess, endpoint: str, kind: str, **extra: Any) -> None:
    sim.set_faults(
        {"seed": 1, "rules": [{"endpoint": endpoint, "kind": kind, "times": 1, **extra}]}
    )


async def completed(client: OpenAIVideosClient, prompt: str = "a teapot") -> Video:
    video = await client.create(CreateVideoRequest(prompt=prompt))
    return await eventually(
        lambda: client.retrieve(video.id), lambda v: v.status == "completed", what="completion"
    )


async def test_create_retrieve_and_status_mapping(client: OpenAIVideosClient) -> None:
    video = await client.create(CreateVideoRequest(prompt="a fox", seconds="8", size="720x1280"))
    assert video.id.startswith("video_") and video.status == "queued"
    assert video.job_state == "pending" and (video.size, video.seconds) == ("720x1280", "8")
    done = await eventually(
        lambda: client.retrieve(video.id), lambda v: v.status == "completed", what="completion"
    )
    assert done.job_state == "completed" and done.progress == 100
    assert done.expires_at is not None and done.completed_at is not None


async def test_idempotency_key_returns_the_same_video(
    client: OpenAIVideosClient, sim: SimulatorProcess
) -> None:
    request = CreateVideoRequest(prompt="same key")
    first = await client.create(request, idempotency_key="key-same-1")
    second = await client.create(request, idempotency_key="key-same-1")
    assert first.id == second.id
    assert sim.counters()["idempotency_keys"]["key-same-1"]["video_id"] == first.id
    with pytest.raises(ProviderValidationError, match="provider answered 409"):
        await client.create(CreateVideoRequest(prompt="other body"), idempotency_key="key-same-1")


async def test_create_with_an_input_reference(client: OpenAIVideosClient, tmp_path: Path) -> None:
    image = tmp_path / "ref.png"
    Image.new("RGB", (1280, 720), "orange").save(image)
    video = await client.create(CreateVideoRequest(prompt="from a picture", input_reference=image))
    assert video.status == "queued"

    wrong = tmp_path / "small.png"
    Image.new("RGB", (64, 64), "orange").save(wrong)
    with pytest.raises(ProviderValidationError) as caught:
        await client.create(CreateVideoRequest(prompt="bad picture", input_reference=wrong))
    assert caught.value.param == "input_reference"


async def test_list_delete_and_remix(client: OpenAIVideosClient) -> None:
    source = await completed(client, "remix source")
    remix = await client.remix(source.id, "now at night")
    assert remix.remixed_from_video_id == source.id

    page = await client.list(limit=1, order="desc")
    assert len(page.data) == 1 and page.has_more and page.first_id == page.last_id
    following = await client.list(limit=1, after=page.last_id, order="desc")
    assert following.data[0].id != page.data[0].id

    deleted = await client.delete(remix.id)
    assert deleted.deleted and deleted.id == remix.id
    with pytest.raises(ProviderNotFoundError):
        await client.retrieve(remix.id)


async def test_download_streams_every_variant_atomically(
    client: OpenAIVideosClient, tmp_path: Path
) -> None:
    video = await completed(client, "download me")
    calls: list[tuple[int, int | None]] = []
    target = tmp_path / "out" / "video.mp4"
    stored = await client.download(
        video.id, target, on_progress=lambda got, total: calls.append((got, total))
    )
    data = target.read_bytes()
    assert stored.bytes == len(data) and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert calls[-1] == (len(data), len(data))
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (1280, 720)
        assert container.streams.audio

    thumbnail = await client.download(video.id, tmp_path / "t.webp", variant="thumbnail")
    assert Image.open(thumbnail.path).format == "WEBP"
    sheet = await client.download(video.id, tmp_path / "s.jpg", variant="spritesheet")
    assert Image.open(io.BytesIO(sheet.path.read_bytes())).format == "JPEG"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "s.jpg",
        "t.webp",
        "video.mp4",
    ]


async def test_interrupted_download_leaves_nothing(
    client: OpenAIVideosClient, tmp_path: Path
) -> None:
    video = await completed(client, "interrupt me")
    target = tmp_path / "video.mp4"

    def explode(received: int, total: int | None) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await client.download(video.id, target, on_progress=explode)
    assert list(tmp_path.iterdir()) == []


async def test_content_before_completion_and_after_expiry(
    client: OpenAIVideosClient, sim: SimulatorProcess, tmp_path: Path
) -> None:
    queued = await client.create(CreateVideoRequest(prompt="not yet", seconds="12"))
    with pytest.raises(ProviderValidationError):
        await client.download(queued.id, tmp_path / "early.mp4")

    video = await completed(client, "expire me")
    sim.expire(video.id)
    with pytest.raises(ProviderAssetExpiredError, match="expired"):
        await client.download(video.id, tmp_path / "late.mp4")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"seconds": "10"}, "seconds"),
        ({"size": "1792x1024"}, "size"),
        ({"model": "sora-9"}, "model"),
        ({"prompt": ""}, "prompt"),
    ],
)
async def test_validation_errors_name_the_param(
    client: OpenAIVideosClient, body: dict[str, str], param: str
) -> None:
    request = CreateVideoRequest(prompt=body.get("prompt", "ok"))
    request = request.model_copy(update={k: v for k, v in body.items() if k != "prompt"})
    with pytest.raises(ProviderValidationError) as caught:
        await client.create(request)
    assert caught.value.param == param and caught.value.status_code == 400
    assert not caught.value.retryable


async def test_wrong_key_is_an_auth_error_that_never_shows_the_key(sim: SimulatorProcess) -> None:
    secret = "sk-wrong-key-that-must-not-leak"
    async with OpenAIVideosClient(sim.base_url, secret) as wrong:
        with pytest.raises(ProviderAuthError) as caught:
            await wrong.retrieve("video_x")
        assert secret not in repr(wrong) and secret not in str(wrong)
    error = caught.value
    assert error.status_code == 401 and error.code == "invalid_api_key"
    assert secret not in str(error) and secret not in repr(error)


async def test_wrong_base_url_says_the_api_is_not_served_there(sim: SimulatorProcess) -> None:
    base = f"{sim.root_url}/not-openai/v1"
    async with OpenAIVideosClient(base, KEY) as elsewhere:
        with pytest.raises(ProviderUnavailableError) as caught:
            await elsewhere.create(CreateVideoRequest(prompt="x"))
    assert base in str(caught.value) and "not available" in str(caught.value)
    assert not caught.value.retryable


async def test_unknown_id_is_not_found(client: OpenAIVideosClient) -> None:
    with pytest.raises(ProviderNotFoundError):
        await client.retrieve("video_doesnotexist")


RETRYABLE_FAULTS = [
    ("http_500", ProviderRetryableError),
    ("http_502", ProviderRetryableError),
    ("http_503", ProviderRetryableError),
    ("http_408", ProviderRetryableError),
    ("http_409", ProviderRetryableError),
    ("drop", ProviderConnectionError),
    ("garble", ProviderResponseError),
    ("truncate", ProviderError),
]


@pytest.mark.parametrize(("kind", "expected"), RETRYABLE_FAULTS)
async def test_transient_faults_are_retryable(
    client: OpenAIVideosClient, sim: SimulatorProcess, kind: str, expected: type[ProviderError]
) -> None:
    video = await client.create(CreateVideoRequest(prompt=f"fault {kind}"))
    fault(sim, "retrieve", kind)
    with pytest.raises(expected) as caught:
        await client.retrieve(video.id)
    assert caught.value.retryable
    assert (await client.retrieve(video.id)).id == video.id  # the next call goes through


async def test_rate_limit_carries_retry_after(
    client: OpenAIVideosClient, sim: SimulatorProcess
) -> None:
    fault(sim, "create", "http_429", retry_after=3)
    with pytest.raises(ProviderRateLimitError) as caught:
        await client.create(CreateVideoRequest(prompt="busy"))
    assert caught.value.retry_after == pytest.approx(3.0)
    assert caught.value.retryable


async def test_read_timeout_is_retryable(client: OpenAIVideosClient, sim: SimulatorProcess) -> None:
    fault(sim, "list", "delay", delay_seconds=5)
    with pytest.raises(ProviderConnectionError, match="timed out"):
        await client.list()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("insufficient_quota", ProviderQuotaError),
        ("http_401", ProviderAuthError),
        ("http_403", ProviderAuthError),
    ],
)
async def test_permanent_faults_are_not_retryable(
    client: OpenAIVideosClient, sim: SimulatorProcess, kind: str, expected: type[ProviderError]
) -> None:
    fault(sim, "create", kind)
    with pytest.raises(expected) as caught:
        await client.create(CreateVideoRequest(prompt="no luck"))
    assert isinstance(caught.value, ProviderRequestError) and not caught.value.retryable


async def test_failed_job_reports_the_provider_error(client: OpenAIVideosClient) -> None:
    video = await client.create(CreateVideoRequest(prompt="please #moderation this"))
    failed = await eventually(
        lambda: client.retrieve(video.id), lambda v: v.status == "failed", what="failure"
    )
    assert failed.job_state == "failed"
    assert failed.error is not None and failed.error.code == "moderation_blocked"
