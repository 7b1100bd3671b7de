"""Serve the simulator with uvicorn; prints the base URL once it listens."""

from __future__ import annotations

import socket
import sys

import uvicorn

from simulator.app import create_app
from simulator.config import SimulatorConfig


class _AnnouncingServer(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.config.host, self.config.port
            for server in self.servers:
                for sock in server.sockets:
                    port = sock.getsockname()[1]
            print(f"http://{host}:{port}/v1", flush=True)


def serve(
    config: SimulatorConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    access_log: bool = False,
    log_level: str = "warning",
) -> None:
    """Run the simulator until SIGINT/SIGTERM (which shuts it down cleanly)."""
    if access_log and log_level in ("warning", "error", "critical"):
        log_level = "info"  # uvicorn logs access lines at info level
    uvicorn_config = uvicorn.Config(
        create_app(config),
        host=host,
        port=port,
        access_log=access_log,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = _AnnouncingServer(uvicorn_config)
    server.run()
    if not server.started:
        sys.exit(1)
