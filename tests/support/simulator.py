"""Run the video API simulator as a real subprocess for tests (`python -m simulator`)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
START_DEADLINE_SECONDS = 30.0
STOP_DEADLINE_SECONDS = 10.0


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SimulatorProcess:
    """Runs `python -m simulator` as a subprocess on a free loopback port."""

    def __init__(
        self,
        *,
        speed: float = 20.0,
        db: Path | None = None,
        api_key: str | None = None,
        extra_args: list[str] | None = None,
        port: int | None = None,
    ) -> None:
        self.speed = speed
        self.db = db
        self.api_key = api_key
        self.extra_args = list(extra_args or [])
        self.port = port or free_port()
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root_url}/v1"
        self.log_dir = Path(tempfile.mkdtemp(prefix="reelflow-sim-log-"))
        self.log_path = self.log_dir / "simulator.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._admin_client: httpx.Client | None = None

    # -- process control -----------------------------------------------------------------

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "simulator", "--port", str(self.port)]
        args += ["--speed", str(self.speed)]
        if self.db is not None:
            args += ["--db", str(self.db)]
        if self.api_key is not None:
            args += ["--api-key", self.api_key]
        return args + self.extra_args

    @property
    def _admin(self) -> httpx.Client:
        if self._admin_client is None:
            self._admin_client = httpx.Client(base_url=f"{self.root_url}/_sim", timeout=10.0)
        return self._admin_client

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Spawn the simulator and wait until `/_sim/health` answers (same port on restart)."""
        if self.running:
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            self.command(),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"simulator exited at start:\n{self.log_tail()}")
            try:
                if self._admin.get("/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        message = f"simulator not ready after {START_DEADLINE_SECONDS}s"
        raise RuntimeError(f"{message}:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM (clean shutdown), then SIGKILL if it does not exit in time."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_DEADLINE_SECONDS)
        self._finish()

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(STOP_DEADLINE_SECONDS)
        self._finish()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _finish(self) -> None:
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> SimulatorProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        if self._admin_client is not None:
            self._admin_client.close()
            self._admin_client = None
        if exc_type is None:  # keep the log only when something went wrong
            shutil.rmtree(self.log_dir, ignore_errors=True)

    # -- admin API -----------------------------------------------------------------------

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = self._admin.request(method, path, json=json)
        response.raise_for_status()
        return response.json()

    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/counters")
        return result

    def set_faults(self, config: dict[str, Any]) -> None:
        self._call("PUT", "/faults", config)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def configure(self, **changes: Any) -> None:
        self._call("PATCH", "/config", changes)

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/config")
        return result

    def reset(self) -> None:
        self._call("POST", "/reset")

    def expire(self, video_id: str) -> None:
        self._call("POST", f"/videos/{video_id}/expire")

    def video(self, video_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/videos/{video_id}")
        return result


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Call `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{message} not met within {timeout}s (last: {result!r})")
        time.sleep(interval)
