"""Scenario 8: long jobs continue as new; the job id, progress, query and cancel carry over.

This stack's server suggests continue-as-new after a few history events
(``limit.historyCount.suggestContinueAsNew``), so a 12 s video crosses several runs.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from starter.client import ReelflowClient, VideoJob
from starter.errors import VideoJobCancelledError
from tests.chaos.conftest import CAN_THRESHOLD
from tests.chaos.helpers import (
    ChaosReport,
    ScenarioRecord,
    assert_one_video_per_job,
    assert_stored,
    keys_of,
    outcomes,
    start_jobs,
)
from tests.chaos.stack import ChaosStack
from tests.support.polling import eventually
from workflows.contract import VideoJobStatus

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.chaos]


async def current_run(reelflow: ReelflowClient, job_id: str) -> str:
    return (await reelflow.temporal.get_workflow_handle(job_id).describe()).run_id or ""


async def watch_runs(reelflow: ReelflowClient, job: VideoJob) -> list[tuple[str, VideoJobStatus]]:
    """(run id, status) seen by querying the job id until the job ends."""
    seen: list[tuple[str, VideoJobStatus]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = await job.status()
        seen.append((await current_run(reelflow, job.job_id), status))
        if status.is_terminal:
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"{job.job_id} did not end; last {seen[-1]}")


async def after_a_new_run(reelflow: ReelflowClient, job: VideoJob) -> str:
    return await eventually(
        lambda: current_run(reelflow, job.job_id),
        lambda run_id: run_id != job.run_id,
        timeout=60,
        what=f"{job.job_id} to continue as new",
    )


@pytest.mark.timeout(180)
async def test_job_continues_as_new_and_stays_one_job(
    can_stack: ChaosStack, can_reelflow: ReelflowClient, report: ChaosReport
) -> None:
    reelflow = can_reelflow
    simulator = can_stack.simulator
    started = time.monotonic()
    watched, by_signal, by_temporal = await start_jobs(reelflow, "can", 3, seconds=12)

    async def cancel_after_new_run(job: VideoJob, how: str) -> None:
        await after_a_new_run(reelflow, job)
        if how == "signal":
            await job.cancel("chaos: cancelled in a later run")
        else:
            await reelflow.temporal.get_workflow_handle(job.job_id).cancel()

    seen, *_ = await asyncio.gather(
        watch_runs(reelflow, watched),
        cancel_after_new_run(by_signal, "signal"),
        cancel_after_new_run(by_temporal, "temporal"),
    )
    ends = await outcomes([watched, by_signal, by_temporal], timeout=90)

    runs = list(dict.fromkeys(run for run, _ in seen))
    assert len(runs) >= 2, f"no continue-as-new happened: {runs}"
    assert {status.job_id for _, status in seen} == {watched.job_id}
    assert len({status.provider_job_id for _, status in seen if status.provider_job_id}) == 1
    progress = [status.progress for _, status in seen]
    assert progress == sorted(progress), f"progress went back across runs: {progress}"
    polls = [status.polls for _, status in seen]
    assert polls == sorted(polls), "the poll count was not carried over"
    first = reelflow.temporal.get_workflow_handle(watched.job_id, run_id=runs[0])
    history = await first.fetch_history()
    assert history.events[-1].event_type == (
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    )
    result = ends[watched.job_id]
    assert not isinstance(result, Exception), result
    assert_stored(result)
    (entry,) = keys_of(simulator, watched.job_id).values()
    assert entry["calls"] == 1, "a new run created the provider job again"
    duplicates = assert_one_video_per_job(simulator, [watched.job_id])

    for job in (by_signal, by_temporal):
        assert isinstance(ends[job.job_id], VideoJobCancelledError), ends[job.job_id]
        status = await job.status()
        assert status.status == "cancelled"
        assert simulator.video(status.provider_job_id or "")["deleted"]
    description = await reelflow.temporal.get_workflow_handle(by_temporal.job_id).describe()
    assert description.status == WorkflowExecutionStatus.CANCELED

    report.add(
        ScenarioRecord(
            f"8 continue-as-new (suggested after {CAN_THRESHOLD} events)",
            jobs=3,
            faults=f"{len(runs)} runs for one job; cancel (signal, Temporal) in a later run",
            outcome="same job id; progress, query, cancel carried over",
            duplicates=duplicates,
            seconds=time.monotonic() - started,
            notes={"runs": len(runs), "polls": polls[-1]},
        )
    )
