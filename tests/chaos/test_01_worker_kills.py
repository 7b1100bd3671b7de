"""Scenario 1: the worker is SIGKILLed mid-job and a new one started; every job completes.

Kill points are conditions on what the simulator has seen (a call of a kind in flight, a call
count reached), chosen by a seeded RNG whose seed the test prints. After the kills: every job
completed, each paid for exactly one provider video (the idempotency key survives activity
retries and worker deaths), and nothing but the complete file was ever visible at a final path.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable

import pytest

from starter.client import ReelflowClient, VideoJob
from tests.chaos.helpers import (
    ChaosReport,
    FinalPathWatcher,
    ScenarioRecord,
    assert_one_video_per_job,
    assert_stored,
    calls,
    completed,
    faults_injected,
    keys_of,
    outcomes,
    start_jobs,
    status_when,
    until_calls,
)
from tests.chaos.stack import ChaosStack
from tests.support.simulator import SimulatorProcess

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.chaos]

STALL = 2.5
"""Seconds a targeted provider call is held, so the worker dies while it is in flight."""


async def kill_worker(stack: ChaosStack, kills: list[str], point: str) -> None:
    stack.worker.kill()
    kills.append(point)
    stack.worker.start()


def stall_next(simulator: SimulatorProcess, endpoint: str) -> None:
    simulator.set_faults(
        {"rules": [{"endpoint": endpoint, "kind": "delay", "delay_seconds": STALL, "times": 1}]}
    )


@pytest.mark.timeout(240)
async def test_worker_killed_in_every_phase(
    stack: ChaosStack,
    reelflow: ReelflowClient,
    rng: random.Random,
    report: ChaosReport,
) -> None:
    simulator = stack.simulator
    started = time.monotonic()
    before = simulator.counters()
    jobs: dict[str, VideoJob] = {}
    kills: list[str] = []
    watcher = FinalPathWatcher(stack.videos_dir)

    async def start(phase: str, **request: object) -> VideoJob:
        (job,) = await start_jobs(reelflow, f"kill-{phase}", 1, **request)
        jobs[phase] = job
        watcher.watch(job.job_id)
        return job

    async def during_create() -> None:
        count = calls(simulator, "create")
        stall_next(simulator, "create")
        await start("create", seconds=4)
        await until_calls(simulator, "create", count + 1)
        await kill_worker(stack, kills, "during create")

    async def during_poll() -> None:
        job = await start("poll", seconds=12)
        await status_when(job, lambda s: s.polls >= 1, timeout=30, what="a first poll")
        count = calls(simulator, "retrieve")
        stall_next(simulator, "retrieve")
        await until_calls(simulator, "retrieve", count + 1)
        await kill_worker(stack, kills, "during a poll")

    async def between_polls() -> None:
        job = await start("between", seconds=12, polling_interval=1.0)
        first = await status_when(job, lambda s: s.polls >= 1, timeout=30, what="a first poll")
        target = first.polls + rng.randint(1, 3)
        await status_when(job, lambda s: s.polls >= target, timeout=30, what=f"poll {target}")
        await kill_worker(stack, kills, f"between polls (after poll {target})")

    async def during_download() -> None:
        count = calls(simulator, "content")
        stall_next(simulator, "content")
        job = await start("download", seconds=4)
        await until_calls(simulator, "content", count + 1, timeout=60)
        temp_files = len(list((stack.videos_dir / job.job_id).glob("*.part")))
        await kill_worker(stack, kills, f"during the download ({temp_files} temp file)")

    phases: list[Callable[[], Awaitable[None]]] = [
        during_create,
        during_poll,
        between_polls,
        during_download,
    ]
    rng.shuffle(phases)
    with watcher:
        for phase in phases:
            await phase()
            simulator.clear_faults()
        ends = await outcomes(jobs.values(), timeout=150)
    results = completed(ends)
    for result in results.values():
        assert_stored(result)
    watcher.assert_never_partial(results)
    duplicates = assert_one_video_per_job(simulator, results)
    (entry,) = keys_of(simulator, jobs["create"].job_id).values()
    assert entry["calls"] >= 2, "the create retried after the kill must reuse the same key"

    report.add(
        ScenarioRecord(
            "1 worker SIGKILL per phase",
            jobs=len(jobs),
            faults=f"{len(kills)} kills ({'; '.join(kills)}) + "
            f"{sum(faults_injected(before, simulator.counters()).values())} stalls",
            outcome="all completed",
            duplicates=duplicates,
            seconds=time.monotonic() - started,
            notes={"create_key_calls": entry["calls"]},
        )
    )


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_worker_killed_at_random_call_counts(
    stack: ChaosStack,
    reelflow: ReelflowClient,
    rng: random.Random,
    report: ChaosReport,
) -> None:
    simulator = stack.simulator
    started = time.monotonic()
    watcher = FinalPathWatcher(stack.videos_dir)
    jobs: list[VideoJob] = []
    kills: list[str] = []

    async def more(count: int, seconds: int) -> None:
        new = await start_jobs(reelflow, "kill-random", count, seconds=seconds)
        for job in new:
            watcher.watch(job.job_id)
        jobs.extend(new)

    with watcher:
        await more(3, 8)
        await more(3, 12)
        for _ in range(3):
            # Each kill point is a call count the simulator will reach: a fresh job makes
            # sure there is one more create, a few more polls and one more download to come.
            endpoint = rng.choice(["create", "retrieve", "retrieve", "content"])
            target = calls(simulator, endpoint) + (
                rng.randint(1, 2) if endpoint == "retrieve" else 1
            )
            await more(1, rng.choice([4, 8, 12]))
            await until_calls(simulator, endpoint, target, timeout=90)
            await kill_worker(stack, kills, f"{endpoint} call #{target}")
        ends = await outcomes(jobs, timeout=150)
    results = completed(ends)
    for result in results.values():
        assert_stored(result)
    watcher.assert_never_partial(results)
    duplicates = assert_one_video_per_job(simulator, results)
    report.add(
        ScenarioRecord(
            "1 worker SIGKILL at random call counts",
            jobs=len(jobs),
            faults=f"{len(kills)} kills ({'; '.join(kills)})",
            outcome="all completed",
            duplicates=duplicates,
            seconds=time.monotonic() - started,
        )
    )
