"""``max_duration`` is a real deadline in workflow time (time-skipping test server)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.errors import VideoJobTimedOutError
from starter.processes import bin_path
from starter.worker import video_worker
from tests.support.simulator import SimulatorProcess
from workflows.search_attributes import ALL_KEYS

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def slow_simulator() -> Iterator[SimulatorProcess]:
    """Jobs here take ~13 minutes of real time: only the deadline can end them."""
    with SimulatorProcess(speed=0.01) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(bin_path("temporal-test-server")),
        data_converter=pydantic_data_converter,
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL_KEYS
            },
        )
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def test_job_past_max_duration_times_out_and_deletes_the_provider_job(
    skipping_env: WorkflowEnvironment, slow_simulator: SimulatorProcess, tmp_path: Path
) -> None:
    settings = ReelflowSettings(
        openai_base_url=slow_simulator.base_url,
        data_dir=tmp_path,
        task_queue=f"deadline-{uuid.uuid4().hex[:8]}",
    )
    client = ReelflowClient(skipping_env.client, settings)
    async with video_worker(skipping_env.client, settings):
        job = await client.generate_video(
            "a very slow render", max_duration=timedelta(minutes=3), polling_interval=10
        )
        with pytest.raises(VideoJobTimedOutError, match="timed out after 3 min"):
            await job.result()
        status = await job.status()

    assert status.status == "failed"
    assert status.error is not None and status.error.code == "timeout"
    assert status.polls >= 10, "the job polled until the deadline in skipped time"
    assert status.provider_job_id in slow_simulator.counters()["deleted_ids"]
