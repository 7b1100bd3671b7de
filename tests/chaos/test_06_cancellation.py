"""Scenario 6: a job cancelled in each phase ends cancelled, its provider job is deleted when
one exists, and nothing it downloaded is left on disk.

Phases are held open by stalling the provider call that defines them (the create, the
download); cancellation comes both as reelflow's ``cancel`` signal and as Temporal's cancel.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from temporalio.client import WorkflowExecutionStatus

from starter.client import ReelflowClient, VideoJob
from starter.errors import VideoJobCancelledError
from tests.chaos.helpers import (
    ChaosReport,
    ScenarioRecord,
    calls,
    keys_of,
    outcomes,
    start_jobs,
    status_when,
    until_calls,
)
from tests.chaos.stack import ChaosStack

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.chaos]

STALL = 3.0


async def cancel(reelflow: ReelflowClient, job: VideoJob, how: str) -> None:
    if how == "signal":
        await job.cancel("chaos: stop now")
    else:
        await reelflow.temporal.get_workflow_handle(job.job_id).cancel()


async def ended_cancelled(reelflow: ReelflowClient, job: VideoJob, how: str) -> None:
    (end,) = (await outcomes([job], timeout=60)).values()
    assert isinstance(end, VideoJobCancelledError), f"{job.job_id}: {end!r}"
    description = await reelflow.temporal.get_workflow_handle(job.job_id).describe()
    expected = WorkflowExecutionStatus.CANCELED if how == "temporal" else None
    if expected is not None:
        assert description.status == expected
    status = await job.status()
    assert status.status == "cancelled"


@pytest.mark.parametrize("how", ["signal", "temporal"])
@pytest.mark.timeout(180)
async def test_cancel_in_each_phase(
    how: str, stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport
) -> None:
    simulator = stack.simulator
    started = time.monotonic()
    phases: dict[str, str] = {}

    # 1. Before the create returns: the provider job appears later and must still be deleted.
    count = calls(simulator, "create")
    simulator.set_faults(
        {"rules": [{"endpoint": "create", "kind": "delay", "delay_seconds": STALL, "times": 1}]}
    )
    (creating,) = await start_jobs(reelflow, f"cancel-create-{how}", 1, seconds=12)
    await until_calls(simulator, "create", count + 1)
    await cancel(reelflow, creating, how)
    await ended_cancelled(reelflow, creating, how)
    (entry,) = keys_of(simulator, creating.job_id).values()
    assert simulator.video(entry["video_id"])["deleted"], "created late, but never deleted"
    phases["before create returned"] = entry["video_id"]
    simulator.clear_faults()

    # 2. While polling.
    (polling,) = await start_jobs(reelflow, f"cancel-poll-{how}", 1, seconds=12)
    running = await status_when(polling, lambda s: s.polls >= 1, timeout=30, what="a poll")
    await cancel(reelflow, polling, how)
    await ended_cancelled(reelflow, polling, how)
    assert simulator.video(running.provider_job_id or "")["deleted"]
    phases["while polling"] = running.provider_job_id or ""

    # 3. While downloading: the temp file exists; afterwards the job's folder is gone.
    count = calls(simulator, "content")
    simulator.set_faults(
        {"rules": [{"endpoint": "content", "kind": "delay", "delay_seconds": STALL, "times": 1}]}
    )
    (downloading,) = await start_jobs(reelflow, f"cancel-download-{how}", 1, seconds=4)
    await until_calls(simulator, "content", count + 1, timeout=60)
    folder = stack.videos_dir / downloading.job_id
    partial = list(folder.glob("*.part"))
    assert partial, "the download should have opened its temp file"
    await cancel(reelflow, downloading, how)
    await ended_cancelled(reelflow, downloading, how)
    status = await downloading.status()
    assert simulator.video(status.provider_job_id or "")["deleted"]
    phases["while downloading"] = status.provider_job_id or ""
    # Gone, and still gone once the stalled attempt has had its answer.
    window_ends = time.monotonic() + STALL + 2
    while time.monotonic() < window_ends:
        assert not folder.exists(), f"left behind: {sorted(p.name for p in folder.iterdir())}"
        await asyncio.sleep(0.05)

    report.add(
        ScenarioRecord(
            f"6 cancel ({how}) in each phase",
            jobs=3,
            faults="cancel before create returned, while polling, while downloading",
            outcome="cancelled; provider jobs deleted; no files left",
            seconds=time.monotonic() - started,
        )
    )
