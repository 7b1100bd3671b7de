"""One simulator process (speed 20, in memory) shared by the simulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.simulator import SimulatorProcess

API_KEY = "sk-simulator-tests"


@pytest.fixture(scope="session")
def sim() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(speed=20.0) as process:
        yield process


@pytest.fixture
def api(sim: SimulatorProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=sim.base_url, headers=headers, timeout=10.0) as client:
        yield client


@pytest.fixture
def no_faults(sim: SimulatorProcess) -> Iterator[None]:
    """Clear fault rules before and after a test that sets some."""
    sim.clear_faults()
    yield
    sim.clear_faults()
