"""Scenario 7: the video's assets expire before they are downloaded: a clear failure, once.

Either the workflow sees the expiry time already passed when the job completes (no download
is tried), or the assets expire while the download is on its way (one 410, no retry loop).
"""

from __future__ import annotations

import time

import pytest

from starter.client import ReelflowClient
from starter.errors import VideoJobFailedError
from tests.chaos.helpers import (
    ChaosReport,
    ScenarioRecord,
    calls,
    outcomes,
    start_jobs,
    until_calls,
)
from tests.chaos.stack import ChaosStack

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.chaos]


@pytest.mark.timeout(120)
async def test_assets_expired_before_the_download(
    stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport
) -> None:
    simulator = stack.simulator
    started = time.monotonic()
    simulator.configure(expires_after=0.2)
    before = calls(simulator, "content")
    jobs = await start_jobs(reelflow, "expired", 2, seconds=4)
    ends = await outcomes(jobs, timeout=60)
    for job_id, end in ends.items():
        assert isinstance(end, VideoJobFailedError), f"{job_id}: {end!r}"
        assert "assets expired" in end.message and "before download" in end.message
    assert calls(simulator, "content") == before, "no download may be tried"
    statuses = [await job.status() for job in jobs]
    assert {s.error.code for s in statuses if s.error} == {"asset_expired"}
    report.add(
        ScenarioRecord(
            "7 assets expire before the download",
            jobs=len(jobs),
            faults="expires_after 0.2 s",
            outcome="failed: asset_expired, 0 content calls",
            seconds=time.monotonic() - started,
        )
    )


@pytest.mark.timeout(120)
async def test_assets_expire_during_the_download(
    stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport
) -> None:
    simulator = stack.simulator
    started = time.monotonic()
    simulator.set_faults(
        {"rules": [{"endpoint": "content", "kind": "delay", "delay_seconds": 2.0, "times": 1}]}
    )
    before = calls(simulator, "content")
    (job,) = await start_jobs(reelflow, "expiring", 1, seconds=4)
    await until_calls(simulator, "content", before + 1, timeout=60)
    status = await job.status()
    simulator.expire(status.provider_job_id or "")  # while the download request is held
    (end,) = (await outcomes([job], timeout=60)).values()
    assert isinstance(end, VideoJobFailedError), repr(end)
    assert "expired before they could be downloaded" in end.message, end.message
    content_calls = calls(simulator, "content") - before
    assert content_calls == 1, f"{content_calls} content calls: the expiry was retried"
    assert not (stack.videos_dir / job.job_id / "video.mp4").exists()
    report.add(
        ScenarioRecord(
            "7 assets expire during the download",
            jobs=1,
            faults="content held 2 s, asset expired meanwhile (410)",
            outcome="failed: VideoAssetExpired after 1 content call",
            seconds=time.monotonic() - started,
        )
    )
