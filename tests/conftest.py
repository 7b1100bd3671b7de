"""Session-wide real servers: a Temporal dev server, the simulator over HTTP, a reelflow worker.

Everything runs on loopback, on free ports, from installed binaries (no downloads).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.processes import bin_path
from starter.worker import video_worker
from tests.support.simulator import SimulatorProcess
from workflows.search_attributes import ALL_KEYS

TEST_API_KEY = "sk-test-reelflow-secret-0123456789"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(bin_path("temporal")),
        data_converter=pydantic_data_converter,
        search_attributes=ALL_KEYS,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    """The simulator at speed 5: a 4 s video takes ~1.6 s, long enough to watch it progress."""
    db = tmp_path_factory.mktemp("simulator") / "simulator.db"
    with SimulatorProcess(speed=5.0, db=db, api_key=TEST_API_KEY) as process:
        yield process


@pytest.fixture(scope="session")
def settings(
    temporal_env: WorkflowEnvironment,
    simulator: SimulatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> ReelflowSettings:
    return ReelflowSettings(
        temporal_address=temporal_env.client.service_client.config.target_host,
        openai_base_url=simulator.base_url,
        openai_api_key=TEST_API_KEY,
        data_dir=tmp_path_factory.mktemp("reelflow-data"),
        task_queue=f"reelflow-test-{uuid.uuid4().hex[:8]}",
        temporal_ui_url="http://localhost:8233",
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def worker(
    temporal_env: WorkflowEnvironment, settings: ReelflowSettings
) -> AsyncIterator[None]:
    async with video_worker(temporal_env.client, settings):
        yield


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def reelflow(
    temporal_env: WorkflowEnvironment, settings: ReelflowSettings, worker: None
) -> ReelflowClient:
    """A Python-API client with a worker polling its task queue."""
    return ReelflowClient(temporal_env.client, settings)


@pytest.fixture
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


def unique_job_id(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def job_id() -> str:
    return unique_job_id()


@pytest.fixture
def data_dir(settings: ReelflowSettings) -> Path:
    return settings.data_dir
