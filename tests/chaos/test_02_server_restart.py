"""Scenario 2: the Temporal dev server process dies mid-job and starts again on its SQLite file.

The server stays down until a provider job has finished at the simulator, so the jobs must
catch up when it is back. Queries answer again, running jobs complete, nobody pays twice.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from starter.client import ReelflowClient
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
from tests.chaos.stack import ChaosStack

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.chaos]


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
@pytest.mark.timeout(240)
async def test_server_restarted_mid_job(
    how: str,
    stack: ChaosStack,
    reelflow: ReelflowClient,
    rng: random.Random,
    report: ChaosReport,
) -> None:
    simulator = stack.simulator
    started = time.monotonic()
    worker_starts = stack.worker.starts
    jobs = await start_jobs(reelflow, f"server-{how.lower()}", 2, seconds=4)
    jobs += await start_jobs(reelflow, f"server-{how.lower()}", 2, seconds=12)
    polling = [
        await status_when(job, lambda s: s.polls >= 1, timeout=60, what="a first poll")
        for job in jobs
    ]
    first_done = min(polling, key=lambda s: s.seconds)

    stopped = time.monotonic()
    if how == "SIGKILL":
        stack.temporal.kill()
    else:
        stack.temporal.stop()
    assert not stack.temporal.is_running()
    # Down until the shortest provider job has finished, plus a seeded random extra.
    extra = rng.uniform(0.5, 3.0)
    deadline = time.monotonic() + 60
    while simulator.video(first_done.provider_job_id or "")["status"] != "completed":
        assert time.monotonic() < deadline, "the provider job never finished"
        await asyncio.sleep(0.1)
    await asyncio.sleep(extra)  # the fault's duration, not a wait for state
    down_for = time.monotonic() - stopped
    stack.temporal.start()

    for job in jobs:  # queries answer again once the server is back
        await status_when(job, lambda s: True, timeout=60, what="a query after the restart")
    ends = await outcomes(jobs, timeout=120)
    results = completed(ends)
    for result in results.values():
        assert_stored(result)
    duplicates = assert_one_video_per_job(simulator, results)
    assert stack.worker.starts == worker_starts and stack.worker.is_running(), (
        "the worker process had to be restarted: it did not ride out the outage"
    )
    report.add(
        ScenarioRecord(
            f"2 Temporal server {how} + restart",
            jobs=len(jobs),
            faults=f"server down {down_for:.1f}s (seed extra {extra:.1f}s)",
            outcome="queries answer again; all completed",
            duplicates=duplicates,
            seconds=time.monotonic() - started,
        )
    )
