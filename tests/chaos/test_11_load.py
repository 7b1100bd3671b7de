"""Scenario 11: 200 jobs started at once with transient faults on: all complete, none twice.

The wall time is reported (also by ``benchmarks/load_200_jobs.py``, which runs the same load
on its own stack).
"""

from __future__ import annotations

import random

import pytest

from starter.client import ReelflowClient
from tests.chaos.helpers import ChaosReport, ScenarioRecord
from tests.chaos.load import run_load
from tests.chaos.stack import ChaosStack

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.chaos, pytest.mark.slow]

JOBS = 200
FAULT_SHARE = 0.1


@pytest.mark.timeout(600)
async def test_two_hundred_jobs_at_once(
    stack: ChaosStack, reelflow: ReelflowClient, rng: random.Random, report: ChaosReport
) -> None:
    stack.simulator.configure(speed=20.0)
    load = await run_load(
        reelflow, stack.simulator, jobs=JOBS, fault_share=FAULT_SHARE, seed=rng.randrange(2**32)
    )
    print(f"\nCHAOS load: {load.summary()}")
    report.add(
        ScenarioRecord(
            f"11 load: {JOBS} jobs at once",
            jobs=JOBS,
            faults=f"{sum(load.faults.values())} of {load.provider_calls} calls "
            f"({FAULT_SHARE:.0%} target): {load.faults}",
            outcome=f"all completed; wall {load.wall_seconds:.1f}s",
            seconds=load.wall_seconds,
            notes={"p95_s": round(sorted(load.latencies)[int(0.95 * JOBS) - 1], 1)},
        )
    )
