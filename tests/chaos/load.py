"""Many jobs at once with faults on (scenario 11), shared by the test and the benchmark script."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from starter.client import ReelflowClient
from tests.chaos.helpers import (
    Outcome,
    assert_one_video_per_job,
    assert_stored,
    completed,
    faults_injected,
    new_job_id,
    outcome,
)
from tests.support.simulator import SimulatorProcess
from workflows.contract import VideoResult

PROMPTS = (
    "load: a red kite over green hills",
    "load: rain on a tin roof",
    "load: a city at night from above",
    "load: waves on black sand",
)
"""Few distinct prompts: the simulator renders each (prompt, size, seconds) once."""


def load_faults(share: float, seed: int) -> dict[str, Any]:
    """Transient faults on ``share`` of all provider calls, split evenly over five kinds."""
    kinds: list[dict[str, Any]] = [
        {"kind": "http_429", "retry_after": 0.5},
        {"kind": "http_500"},
        {"kind": "http_503"},
        {"kind": "drop"},
        {"kind": "garble"},
    ]
    each = share / len(kinds)
    rules = [
        {"endpoint": "any", "probability": each / (1 - each * index), **kind}
        for index, kind in enumerate(kinds)
    ]
    return {"seed": seed, "rules": rules}


@dataclass
class LoadResult:
    jobs: int
    wall_seconds: float
    start_seconds: float
    latencies: list[float]
    faults: dict[str, int]
    provider_calls: int
    results: dict[str, VideoResult] = field(default_factory=dict)

    def summary(self) -> str:
        p50 = statistics.median(self.latencies)
        p95 = statistics.quantiles(self.latencies, n=20)[-1]
        return (
            f"{self.jobs} jobs in {self.wall_seconds:.1f}s wall "
            f"(all started in {self.start_seconds:.1f}s; per job p50 {p50:.1f}s, "
            f"p95 {p95:.1f}s, max {max(self.latencies):.1f}s); "
            f"{sum(self.faults.values())} faults in {self.provider_calls} provider calls "
            f"{self.faults}"
        )


async def run_load(
    reelflow: ReelflowClient,
    simulator: SimulatorProcess,
    *,
    jobs: int = 200,
    fault_share: float = 0.1,
    seed: int = 0,
    timeout: float = 480.0,
) -> LoadResult:
    """Start ``jobs`` jobs at once with faults on; wait for all; check none lost or duplicated."""
    before = simulator.counters()
    simulator.set_faults(load_faults(fault_share, seed))
    begin = time.monotonic()

    async def one(index: int) -> tuple[str, Outcome, float]:
        job = await reelflow.generate_video(
            PROMPTS[index % len(PROMPTS)],
            seconds=4,
            polling_interval=0.5,
            job_id=new_job_id("load"),
        )
        started[job.job_id] = time.monotonic()
        end = await outcome(job, timeout=timeout)
        return job.job_id, end, time.monotonic() - started[job.job_id]

    started: dict[str, float] = {}
    tasks = [asyncio.create_task(one(index)) for index in range(jobs)]
    while len(started) < jobs and not any(task.done() for task in tasks):
        await asyncio.sleep(0.01)
    start_seconds = time.monotonic() - begin
    ends = await asyncio.gather(*tasks)
    wall = time.monotonic() - begin
    simulator.clear_faults()
    after = simulator.counters()

    results = completed({job_id: end for job_id, end, _ in ends})
    for result in results.values():
        assert_stored(result)
    assert_one_video_per_job(simulator, results)
    assert after["videos_created"] - before["videos_created"] == jobs, "extra provider jobs"
    calls = sum(
        after[f"{name}_calls"] - before[f"{name}_calls"]
        for name in ("create", "retrieve", "content", "delete")
    )
    return LoadResult(
        jobs=jobs,
        wall_seconds=wall,
        start_seconds=start_seconds,
        latencies=[latency for _, _, latency in ends],
        faults=faults_injected(before, after),
        provider_calls=calls,
        results=results,
    )
