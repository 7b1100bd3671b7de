"""The chaos suite's processes: one Temporal dev server on a SQLite file, the simulator with a
SQLite db and a worker, each a separate OS process, shared by the session; plus a second stack
whose server suggests continue-as-new after a few events (scenario 8).

Each test starts from a healthy stack: whatever a previous test killed is started again and the
simulator's faults and settings are reset.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from starter.client import ReelflowClient
from tests.chaos.helpers import ChaosReport
from tests.chaos.stack import CHAOS_API_KEY, ChaosStack, start_stack
from tests.support.simulator import SimulatorProcess

SIMULATOR_SPEED = 4.0
"""A 4 s video runs ~2 s, a 12 s one ~6 s: long enough to hit a job mid-flight."""

CAN_THRESHOLD = 20
"""History events after which scenario 8's server suggests continue-as-new (default 4,096)."""

SIMULATOR_DEFAULTS = {"speed": SIMULATOR_SPEED, "expires_after": 3600.0, "unavailable_models": []}

REPORT = ChaosReport()


@pytest.fixture(scope="session", autouse=True)
def stop_cleanly_on_sigterm() -> Iterator[None]:
    """A CI timeout sends SIGTERM: unwind like Ctrl-C so the fixtures stop their processes
    (they run in their own sessions and would otherwise outlive pytest)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def chaos_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chaos")


@pytest.fixture(scope="session")
def chaos_simulator(chaos_root: Path) -> Iterator[SimulatorProcess]:
    process = SimulatorProcess(
        speed=SIMULATOR_SPEED, db=chaos_root / "simulator" / "simulator.db", api_key=CHAOS_API_KEY
    )
    with process:
        yield process


@pytest.fixture(scope="session")
def stack(chaos_root: Path, chaos_simulator: SimulatorProcess) -> Iterator[ChaosStack]:
    running = start_stack(chaos_root / "main", chaos_simulator, name="main")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def can_stack(chaos_root: Path, chaos_simulator: SimulatorProcess) -> Iterator[ChaosStack]:
    """A second server that suggests continue-as-new after ``CAN_THRESHOLD`` events."""
    running = start_stack(
        chaos_root / "can",
        chaos_simulator,
        dynamic_config={"limit.historyCount.suggestContinueAsNew": str(CAN_THRESHOLD)},
        name="can",
    )
    try:
        yield running
    finally:
        running.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def reelflow(stack: ChaosStack) -> AsyncIterator[ReelflowClient]:
    yield await stack.client()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def can_reelflow(can_stack: ChaosStack) -> AsyncIterator[ReelflowClient]:
    yield await can_stack.client()


@pytest.fixture(autouse=True)
def healthy(request: pytest.FixtureRequest, chaos_simulator: SimulatorProcess) -> Iterator[None]:
    """Before and after each test: every process up, no faults, default simulator settings."""
    stacks = [
        request.getfixturevalue(name)
        for name in ("stack", "can_stack")
        if name in request.fixturenames
    ]
    _heal(chaos_simulator, stacks)
    yield
    _heal(chaos_simulator, stacks)


def _heal(simulator: SimulatorProcess, stacks: list[ChaosStack]) -> None:
    if not simulator.running:
        simulator.start()
    simulator.clear_faults()
    simulator.configure(**SIMULATOR_DEFAULTS)
    for chaos_stack in stacks:
        if not chaos_stack.temporal.is_running():
            chaos_stack.temporal.start()
        if not chaos_stack.worker.is_running():
            chaos_stack.worker.start()


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A seeded RNG for kill points; the seed is printed (and can be set: REELFLOW_CHAOS_SEED)."""
    seed = int(os.environ.get("REELFLOW_CHAOS_SEED", random.SystemRandom().randrange(2**32)))
    print(f"\nCHAOS seed for {request.node.name}: {seed} (rerun with REELFLOW_CHAOS_SEED={seed})")
    return random.Random(seed)


@pytest.fixture(scope="session")
def report() -> ChaosReport:
    return REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT.records:
        terminalreporter.section("chaos scenarios")
        for record in REPORT.records:
            terminalreporter.write_line(record.line())
