"""Real processes for the chaos suite: a persistent Temporal dev server, the simulator, workers.

Each piece is a separate OS process that a test can kill (``SIGKILL``), stop (``SIGTERM``) and
start again on the same port and the same SQLite file. Nothing here sleeps for state: every wait
is a condition with a deadline.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.processes import ManagedProcess, bin_path, free_port, port_accepts, wait_until
from starter.temporal_connection import connect_temporal
from tests.support.simulator import SimulatorProcess
from workflows.search_attributes import dev_server_flags

START_TIMEOUT = 60.0
WORKER_READY_LINE = "worker polling task queue"

CHAOS_API_KEY = f"chaos-key-{secrets.token_hex(20)}"
"""The worker's provider key: distinctive; not ``sk-`` shaped, so no log masking hides a leak."""


class TemporalDevServer:
    """``temporal server start-dev`` on a SQLite file; restarts keep the port and the data."""

    def __init__(
        self,
        db: Path,
        logs_dir: Path,
        *,
        dynamic_config: dict[str, str] | None = None,
        name: str = "temporal",
    ) -> None:
        self.db = db
        self.logs_dir = logs_dir
        self.name = name
        self.port = free_port()
        self.dynamic_config = dict(dynamic_config or {})
        self.starts = 0
        self.process: ManagedProcess | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        args = [
            str(bin_path("temporal")),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db),
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--headless",
            "--log-level",
            "error",
            *dev_server_flags(),
        ]
        for key, value in self.dynamic_config.items():
            args += ["--dynamic-config-value", f"{key}={value}"]
        return args

    def start(self) -> None:
        self.starts += 1
        process = ManagedProcess(
            f"{self.name} dev server",
            self.argv(),
            log_path=self.logs_dir / f"{self.name}-{self.starts}.log",
        )
        process.start()
        self.process = process

        def up() -> bool:
            process.check_alive()
            return port_accepts(self.port)

        wait_until(up, timeout=START_TIMEOUT, what=f"{process.name} on {self.address}")

    def stop(self) -> None:
        """SIGTERM: a clean shutdown."""
        if self.process is not None:
            self.process.stop()

    def kill(self) -> None:
        """SIGKILL: a crash."""
        if self.process is not None:
            self.process.kill()

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running()


class WorkerProcess:
    """``python -m starter.cli worker`` with its settings in the environment; one log per start."""

    def __init__(self, env: dict[str, str], logs_dir: Path, *, name: str = "worker") -> None:
        self.env = dict(env)
        self.logs_dir = logs_dir
        self.name = name
        self.starts = 0
        self.process: ManagedProcess | None = None

    @property
    def log_path(self) -> Path:
        return self.logs_dir / f"{self.name}-{self.starts}.log"

    def start(self, **env_overrides: str) -> None:
        """Start a new worker process and wait until it polls its task queue."""
        if self.is_running():
            raise RuntimeError(f"{self.name} is already running")
        self.env.update(env_overrides)
        self.starts += 1
        process = ManagedProcess(
            f"{self.name} #{self.starts}",
            [sys.executable, "-m", "starter.cli", "worker"],
            log_path=self.log_path,
            env={**self.env, "PYTHONUNBUFFERED": "1"},
        )
        process.start()
        self.process = process
        log_path = self.log_path

        def ready() -> bool:
            process.check_alive()
            with contextlib.suppress(OSError):
                return WORKER_READY_LINE in log_path.read_text(errors="replace")
            return False

        wait_until(ready, timeout=START_TIMEOUT, what=f"{process.name} ({log_path})")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful shutdown, in-flight work is lost."""
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def restart(self, **env_overrides: str) -> None:
        self.stop()
        self.start(**env_overrides)

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running()

    def log_files(self) -> list[Path]:
        return sorted(self.logs_dir.glob(f"{self.name}-*.log"))


@dataclass
class ChaosStack:
    """One Temporal server, one simulator and one worker process, wired together."""

    root: Path
    temporal: TemporalDevServer
    simulator: SimulatorProcess
    worker: WorkerProcess
    task_queue: str
    clients: list[ReelflowClient] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def videos_dir(self) -> Path:
        return self.data_dir / "videos"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def settings(self) -> ReelflowSettings:
        """What the test process (the caller side) uses to reach this stack."""
        return ReelflowSettings(
            temporal_address=self.temporal.address,
            openai_base_url=self.simulator.base_url,
            openai_api_key=CHAOS_API_KEY,
            data_dir=self.data_dir,
            task_queue=self.task_queue,
        )

    async def client(self) -> ReelflowClient:
        settings = self.settings()
        reelflow = ReelflowClient(await connect_temporal(settings), settings)
        self.clients.append(reelflow)
        return reelflow

    def stop(self) -> None:
        self.worker.stop()
        self.temporal.stop()


def worker_env(
    temporal: TemporalDevServer, simulator: SimulatorProcess, data_dir: Path, task_queue: str
) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": temporal.address,
        "TEMPORAL_NAMESPACE": "default",
        "OPENAI_BASE_URL": simulator.base_url,
        "OPENAI_API_KEY": CHAOS_API_KEY,
        "REELFLOW_DATA_DIR": str(data_dir),
        "REELFLOW_TASK_QUEUE": task_queue,
        "REELFLOW_PROVIDER_TIMEOUT": "10",
        "REELFLOW_LOG_FORMAT": "text",
    }


def start_stack(
    root: Path,
    simulator: SimulatorProcess,
    *,
    dynamic_config: dict[str, str] | None = None,
    name: str = "main",
) -> ChaosStack:
    """Start a Temporal dev server (SQLite under ``root``) and a worker for ``simulator``."""
    logs = root / "logs"
    temporal = TemporalDevServer(
        root / "temporal.db", logs, dynamic_config=dynamic_config, name=f"temporal-{name}"
    )
    task_queue = f"reelflow-chaos-{name}-{uuid.uuid4().hex[:8]}"
    env = worker_env(temporal, simulator, root / "data", task_queue)
    worker = WorkerProcess(env, logs, name=f"worker-{name}")
    stack = ChaosStack(root, temporal, simulator, worker, task_queue)
    try:
        temporal.start()
        worker.start()
    except BaseException:
        stack.stop()
        raise
    return stack
