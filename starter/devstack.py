"""The local stack: a persistent Temporal dev server (with UI), the simulator and a worker.

Used by ``reelflow dev`` and ``reelflow demo``. The dev server keeps its history in a SQLite
file in the data dir, so jobs stay visible in the UI across restarts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from starter.config import ReelflowSettings
from starter.processes import (
    ManagedProcess,
    bin_path,
    free_port,
    port_accepts,
    port_is_free,
    wait_until,
)
from workflows.search_attributes import dev_server_flags

START_TIMEOUT = 60.0


def _pick_port(preferred: int) -> int:
    return preferred if port_is_free(preferred) else free_port()


@dataclass
class DevStack:
    """Start with :meth:`start`, stop with :meth:`stop` (also on errors: use ``with``)."""

    settings: ReelflowSettings
    temporal_port: int = 7233
    ui_port: int = 8233
    simulator_port: int = 8000
    simulator_speed: float = 1.0
    run_worker: bool = True
    processes: list[ManagedProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.temporal_port = _pick_port(self.temporal_port)
        self.ui_port = _pick_port(self.ui_port)
        self.simulator_port = _pick_port(self.simulator_port)
        self.settings = self.settings.model_copy(
            update={
                "temporal_address": f"127.0.0.1:{self.temporal_port}",
                "temporal_ui_url": self.ui_url,
                "openai_base_url": f"http://127.0.0.1:{self.simulator_port}/v1",
            }
        )

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"

    @property
    def logs_dir(self) -> Path:
        return self.settings.data_dir / "logs"

    @property
    def database(self) -> Path:
        return self.settings.data_dir / "temporal-dev.db"

    def env(self) -> dict[str, str]:
        """What a worker or CLI started against this stack needs in its environment."""
        return {
            "TEMPORAL_ADDRESS": self.settings.temporal_address,
            "TEMPORAL_NAMESPACE": self.settings.temporal_namespace,
            "OPENAI_BASE_URL": self.settings.openai_base_url,
            "OPENAI_API_KEY": self.settings.openai_api_key.get_secret_value(),
            "REELFLOW_DATA_DIR": str(self.settings.data_dir),
            "REELFLOW_TASK_QUEUE": self.settings.task_queue,
            "REELFLOW_TEMPORAL_UI_URL": self.ui_url,
        }

    def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_temporal()
            self._start_simulator()
            if self.run_worker:
                self._start_worker()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def __enter__(self) -> DevStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_temporal(self) -> None:
        temporal = ManagedProcess(
            "temporal dev server",
            [
                str(bin_path("temporal")),
                "server",
                "start-dev",
                "--db-filename",
                str(self.database),
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.temporal_port),
                "--ui-port",
                str(self.ui_port),
                "--log-level",
                "error",
                *dev_server_flags(),
            ],
            log_path=self.logs_dir / "temporal.log",
        )
        self._launch(
            temporal, lambda: port_accepts(self.ui_port) and port_accepts(self.temporal_port)
        )

    def _start_simulator(self) -> None:
        simulator = ManagedProcess(
            "simulator",
            [
                sys.executable,
                "-m",
                "simulator",
                "--port",
                str(self.simulator_port),
                "--speed",
                str(self.simulator_speed),
                "--db",
                str(self.settings.data_dir / "simulator.db"),
            ],
            log_path=self.logs_dir / "simulator.log",
        )
        health = f"http://127.0.0.1:{self.simulator_port}/_sim/health"
        self._launch(simulator, lambda: _answers(health))

    def _start_worker(self) -> None:
        worker = ManagedProcess(
            "worker",
            [sys.executable, "-m", "starter.cli", "worker"],
            log_path=self.logs_dir / "worker.log",
            env=self.env(),
        )
        worker.start()
        self.processes.append(worker)

    def _launch(self, process: ManagedProcess, ready: Callable[[], bool]) -> None:
        process.start()
        self.processes.append(process)

        def up() -> bool:
            process.check_alive()
            return bool(ready())

        wait_until(up, timeout=START_TIMEOUT, what=f"{process.name} ({process.log_path})")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
