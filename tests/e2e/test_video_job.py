"""One video job end to end: real Temporal dev server, real worker, the simulator over HTTP."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import pytest
from temporalio.client import WorkflowExecutionStatus

from starter.client import ReelflowClient
from starter.errors import (
    InvalidVideoRequestError,
    NoWorkerError,
    VideoJobCancelledError,
    VideoJobFailedError,
)
from tests.conftest import unique_job_id
from tests.support.polling import eventually
from tests.support.simulator import SimulatorProcess
from workflows.contract import VideoJobStatus

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAST = {"polling_interval": 0.2}


def decoded_video(path: Path) -> tuple[int, int, float, bool, int]:
    """(width, height, seconds, has_audio, frames) read by decoding the file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        rate = float(stream.average_rate or 24)
        return stream.width, stream.height, frames / rate, bool(container.streams.audio), frames


async def test_job_completes_with_a_playable_mp4(reelflow: ReelflowClient, job_id: str) -> None:
    job = await reelflow.generate_video("a red kite over green hills", job_id=job_id, **FAST)
    result = await job.result()

    path = Path(result.path)
    assert path.is_file() and path.parent.name == job_id
    width, height, seconds, has_audio, _ = decoded_video(path)
    assert (width, height) == (1280, 720)
    assert abs(seconds - 4) <= 1 / 24
    assert has_audio and result.has_audio
    assert hashlib.sha256(path.read_bytes()).hexdigest() == result.sha256
    assert path.stat().st_size == result.bytes
    assert result.url == path.resolve().as_uri()
    assert result.thumbnail_path and Path(result.thumbnail_path).read_bytes()[8:12] == b"WEBP"
    assert not list(path.parent.glob("*.part")), "no temp file may be left behind"

    status = await reelflow.get_video_job_status(job_id)
    assert status.status == "completed" and status.progress == 100
    assert status.result == result and status.polls >= 1


async def test_progress_rises_monotonically_and_watch_sees_each_status(
    reelflow: ReelflowClient, job_id: str
) -> None:
    job = await reelflow.generate_video("a slow sunrise", seconds=8, job_id=job_id, **FAST)
    seen: list[VideoJobStatus] = [status async for status in job.watch(interval=0.05)]

    progress = [status.progress for status in seen]
    assert progress == sorted(progress), f"progress went backwards: {progress}"
    assert progress[-1] == 100
    assert len({p for p in progress if 0 < p < 100}) >= 2, f"no intermediate progress: {progress}"
    states = [status.status for status in seen]
    assert states[-1] == "completed"
    assert "processing" in states
    assert states.index("processing") < states.index("completed")


async def test_cancel_by_signal_deletes_the_provider_job(
    reelflow: ReelflowClient, simulator: SimulatorProcess, job_id: str
) -> None:
    job = await reelflow.generate_video("a long journey", seconds=12, job_id=job_id, **FAST)
    running = await eventually(job.status, lambda s: s.status == "processing", what="processing")
    await job.cancel("changed my mind")

    with pytest.raises(VideoJobCancelledError, match="changed my mind"):
        await job.result()
    status = await job.status()
    assert status.status == "cancelled"
    assert status.error is not None and status.error.message == "changed my mind"
    assert running.provider_job_id in simulator.counters()["deleted_ids"]
    assert not Path(reelflow.settings.videos_dir / job_id).exists()


async def test_cancel_through_temporal_deletes_the_provider_job(
    reelflow: ReelflowClient, simulator: SimulatorProcess, job_id: str
) -> None:
    job = await reelflow.generate_video("another long journey", seconds=12, job_id=job_id, **FAST)
    running = await eventually(job.status, lambda s: s.status == "processing", what="processing")
    handle = reelflow.temporal.get_workflow_handle(job_id)
    await handle.cancel()

    with pytest.raises(VideoJobCancelledError):
        await job.result()
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.CANCELED
    status = await job.status()
    assert status.status == "cancelled"
    assert running.provider_job_id in simulator.counters()["deleted_ids"]


async def test_moderation_failure_fails_the_job_after_one_create(
    reelflow: ReelflowClient, simulator: SimulatorProcess, job_id: str
) -> None:
    job = await reelflow.generate_video("something #moderation worthy", job_id=job_id, **FAST)
    with pytest.raises(VideoJobFailedError, match="moderation") as caught:
        await job.result()
    assert "blocked by our moderation system" in str(caught.value)

    status = await job.status()
    assert status.status == "failed"
    assert status.error is not None and status.error.code == "moderation_blocked"
    keys = simulator.counters()["idempotency_keys"]
    mine = [entry for key, entry in keys.items() if job_id in key]
    assert len(mine) == 1 and mine[0]["calls"] == 1


async def test_invalid_input_starts_nothing(
    reelflow: ReelflowClient, simulator: SimulatorProcess, job_id: str
) -> None:
    before = simulator.counters()["create_calls"]
    with pytest.raises(InvalidVideoRequestError, match="seconds must be one of 4, 8, 12"):
        await reelflow.generate_video("a cat", seconds=10, job_id=job_id)
    with pytest.raises(InvalidVideoRequestError, match="input_reference: no such file"):
        await reelflow.generate_video("a cat", input_reference="/nope.png", job_id=job_id)

    executions = [e async for e in reelflow.temporal.list_workflows(f"WorkflowId = '{job_id}'")]
    assert executions == []
    assert simulator.counters()["create_calls"] == before


async def test_same_job_id_twice_is_one_job(
    reelflow: ReelflowClient, simulator: SimulatorProcess, job_id: str
) -> None:
    first = await reelflow.generate_video("a lighthouse", job_id=job_id, **FAST)
    second = await reelflow.generate_video("a lighthouse", job_id=job_id, **FAST)
    assert first.created and not second.created
    assert first.run_id == second.run_id
    result = await second.result()

    third = await reelflow.generate_video("a lighthouse", job_id=job_id, **FAST)
    assert not third.created and await third.result() == result
    keys = simulator.counters()["idempotency_keys"]
    mine = [entry for key, entry in keys.items() if job_id in key]
    assert len(mine) == 1 and mine[0]["calls"] == 1


async def test_no_worker_is_reported_before_starting(reelflow: ReelflowClient) -> None:
    lonely = ReelflowClient(
        reelflow.temporal, reelflow.settings.model_copy(update={"task_queue": "nobody-polls"})
    )
    assert not await lonely.has_worker()
    assert await reelflow.has_worker()
    job_id = unique_job_id()
    with pytest.raises(NoWorkerError, match="reelflow worker"):
        await lonely.generate_video("a cat", job_id=job_id, require_worker=True)
    executions = [e async for e in reelflow.temporal.list_workflows(f"WorkflowId = '{job_id}'")]
    assert executions == []
