"""`run_simulator`: the command line of the simulator, shaped for typer.

Registered by the main CLI as `reelflow simulator`, and by `python -m simulator`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import typer

from simulator.config import SimulatorConfig
from simulator.faults import FaultConfig
from simulator.server import serve


def run_simulator(
    port: int = typer.Option(8000, help="TCP port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    speed: float = typer.Option(1.0, help="Time multiplier: 10 runs every job 10x faster."),
    db: Path | None = typer.Option(None, help="SQLite file; keeps jobs across restarts."),
    media_dir: Path | None = typer.Option(None, help="Where rendered media go."),
    api_key: str | None = typer.Option(None, help="Accepted bearer key (default: any)."),
    faults_file: Path | None = typer.Option(None, help="JSON fault config (seed, rules)."),
    concurrency: int = typer.Option(0, help="Jobs running at once; 0 = unlimited."),
    queue_delay: float = typer.Option(0.5, help="Seconds a job stays queued (at speed 1)."),
    seconds_per_video_second: float = typer.Option(
        2.0, help="Run time per second of video (at speed 1)."
    ),
    expires_after: float = typer.Option(3600.0, help="Seconds assets stay downloadable."),
    poll_after_ms: int | None = typer.Option(None, help="Send openai-poll-after-ms on retrieve."),
    webhook_url: str | None = typer.Option(None, help="Where to POST video events."),
    webhook_secret: str | None = typer.Option(None, help="whsec_… signing secret."),
    webhook_duplicate_probability: float = typer.Option(
        0.0, help="Chance of delivering an event twice."
    ),
    unavailable_model: list[str] | None = typer.Option(
        None, help="Model answered with 404 model_not_found (repeatable)."
    ),
    render_workers: int = typer.Option(2, help="Parallel media renders."),
    render_mode: str = typer.Option("process", help="Render in a 'process' or 'thread' pool."),
    access_log: bool = typer.Option(False, help="Log every request (costs throughput)."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Run the local OpenAI Videos API (Sora 2) simulator."""
    if render_mode not in ("process", "thread"):
        raise typer.BadParameter("must be 'process' or 'thread'", param_hint="--render-mode")
    mode: Literal["process", "thread"] = "process" if render_mode == "process" else "thread"
    faults = FaultConfig()
    if faults_file is not None:
        faults = FaultConfig.model_validate(json.loads(faults_file.read_text()))
    config = SimulatorConfig(
        api_key=api_key,
        speed=speed,
        db_path=db,
        media_dir=media_dir,
        faults=faults,
        concurrency=concurrency,
        queue_delay=queue_delay,
        seconds_per_video_second=seconds_per_video_second,
        expires_after=expires_after,
        poll_after_ms=poll_after_ms,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_duplicate_probability=webhook_duplicate_probability,
        unavailable_models=unavailable_model or [],
        render_workers=render_workers,
        render_mode=mode,
    )
    serve(config, host=host, port=port, access_log=access_log, log_level=log_level)
