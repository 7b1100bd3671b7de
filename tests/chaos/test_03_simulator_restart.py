"""Scenario 3: the provider (simulator) process dies mid-job.

With its SQLite state kept, it comes back on the same port and the jobs continue. With its
state lost, the jobs fail at once with a clear "provider job not found" instead of hanging.
"""

from __future__ import annotations

import time

import pytest

from starter.client import ReelflowClient
from starter.errors import VideoJobFailedError
from tests.chaos.helpers import (
    ChaosReport,
    ScenarioRecord,
    assert_one_video_per_job,
    assert_stored,
    completed,
    outcomes,
    start_jobs,
    status_when,
)
from tests.chaos.stack import CHAOS_API_KEY, ChaosStack
from tests.support.simulator import SimulatorProcess

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.chaos]


@pytest.mark.timeout(180)
async def test_simulator_restarted_with_its_state(
    stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport
) -> None:
    simulator = stack.simulator
    started = time.monotonic()
    worker_starts = stack.worker.starts
    jobs = await start_jobs(reelflow, "sim-restart", 2, seconds=8)
    jobs += await start_jobs(reelflow, "sim-restart", 2, seconds=12)
    for job in jobs:
        await status_when(job, lambda s: s.polls >= 1, timeout=60, what="a first poll")

    simulator.kill()  # SIGKILL: whatever was not written through is lost
    stopped = time.monotonic()
    # Down until a workflow has seen a poll fail for good (every retry of one poll failed).
    await status_when(jobs[-1], lambda s: s.poll_errors >= 1, timeout=60, what="a failed poll")
    down_for = time.monotonic() - stopped
    simulator.start()

    ends = await outcomes(jobs, timeout=120)
    results = completed(ends)
    for result in results.values():
        assert_stored(result)
    duplicates = assert_one_video_per_job(simulator, results)
    assert stack.worker.starts == worker_starts and stack.worker.is_running()
    errors = [(await job.status()).poll_errors for job in jobs]
    report.add(
        ScenarioRecord(
            "3 simulator SIGKILL + restart, state kept",
            jobs=len(jobs),
            faults=f"provider down {down_for:.1f}s; failed poll rounds per job {errors}",
            outcome="all completed",
            duplicates=duplicates,
            seconds=time.monotonic() - started,
        )
    )


@pytest.mark.timeout(180)
async def test_simulator_restarted_without_its_state(
    stack: ChaosStack, reelflow: ReelflowClient, report: ChaosReport
) -> None:
    simulator = stack.simulator
    started = time.monotonic()
    jobs = await start_jobs(reelflow, "sim-amnesia", 3, seconds=12)
    for job in jobs:
        await status_when(job, lambda s: s.polls >= 1, timeout=60, what="a first poll")

    simulator.kill()
    amnesiac = SimulatorProcess(speed=simulator.speed, api_key=CHAOS_API_KEY, port=simulator.port)
    try:
        amnesiac.start()  # same address, empty memory
        ends = await outcomes(jobs, timeout=60)
    finally:
        amnesiac.stop()
        simulator.start()
    elapsed = time.monotonic() - started
    for job_id, end in ends.items():
        assert isinstance(end, VideoJobFailedError), f"{job_id}: {end!r}"
        assert "provider job not found" in end.message, end.message
    statuses = [await job.status() for job in jobs]
    assert all(s.status == "failed" and s.error is not None for s in statuses)
    assert {s.error.code for s in statuses if s.error} == {"provider_job_lost"}
    report.add(
        ScenarioRecord(
            "3 simulator restarted without its state",
            jobs=len(jobs),
            faults="SIGKILL, then an empty simulator on the same port",
            outcome="all failed: provider job not found",
            seconds=elapsed,
            notes={"error": statuses[0].error.code if statuses[0].error else None},
        )
    )
