"""The ``reelflow`` command line, run as a real process against the test servers."""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.processes import bin_path
from tests.conftest import unique_job_id
from tests.support.polling import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class Run:
    code: int
    out: str
    err: str


async def reelflow_cli(settings: ReelflowSettings, *args: str, timeout: float = 120) -> Run:
    """Run the CLI without blocking the event loop (the test worker runs on it)."""
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "OPENAI_BASE_URL": settings.openai_base_url,
        "REELFLOW_DATA_DIR": str(settings.data_dir),
        "REELFLOW_TASK_QUEUE": settings.task_queue,
        "REELFLOW_TEMPORAL_UI_URL": settings.temporal_ui_url,
        "COLUMNS": "200",
    }
    process = await asyncio.create_subprocess_exec(
        str(bin_path("reelflow")),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


async def test_generate_shows_progress_and_prints_the_file(
    reelflow: ReelflowClient, job_id: str
) -> None:
    run = await reelflow_cli(
        reelflow.settings, "generate", "a lantern in fog", "--job-id", job_id,
        "--polling-interval", "0.2",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert "100%" in run.out and "completed" in run.out
    path = Path(re.search(r"video ready: (\S+)", run.out)[1])  # type: ignore[index]
    assert path.is_file()
    with av.open(str(path)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (1280, 720)
    assert f"/namespaces/default/workflows/{job_id}" in run.out

    status = await reelflow_cli(reelflow.settings, "status", job_id)
    assert status.code == 0
    assert json.loads(status.out[: status.out.rindex("}") + 1])["status"] == "completed"
    again = await reelflow_cli(reelflow.settings, "result", job_id)
    assert again.code == 0 and str(path) in again.out


async def test_bad_input_is_one_clear_line_and_starts_nothing(reelflow: ReelflowClient) -> None:
    job_id = unique_job_id()
    run = await reelflow_cli(
        reelflow.settings, "generate", "a cat", "--seconds", "10", "--job-id", job_id
    )
    assert run.code == 1
    lines = run.err.strip().splitlines()
    assert lines == [
        "error: invalid video request: seconds: seconds must be one of 4, 8, 12, got 10"
    ]
    executions = [e async for e in reelflow.temporal.list_workflows(f"WorkflowId = '{job_id}'")]
    assert executions == []


async def test_no_worker_says_how_to_start_one(reelflow: ReelflowClient) -> None:
    lonely = reelflow.settings.model_copy(update={"task_queue": "no-worker-here"})
    run = await reelflow_cli(lonely, "generate", "a cat")
    assert run.code == 1
    assert "no worker is polling task queue 'no-worker-here'" in run.err
    assert "reelflow worker" in run.err


async def test_cancel_from_the_cli(reelflow: ReelflowClient, job_id: str) -> None:
    job = await reelflow.generate_video("cancel me", seconds=12, job_id=job_id)
    await eventually(job.status, lambda s: s.status == "processing", what="processing")
    run = await reelflow_cli(reelflow.settings, "cancel", job_id, "--reason", "from the cli")
    assert run.code == 0
    final = await eventually(job.status, lambda s: s.is_terminal, what="terminal")
    assert final.status == "cancelled" and final.error is not None
    assert final.error.message == "from the cli"
    failed = await reelflow_cli(reelflow.settings, "result", job_id)
    assert failed.code == 1 and "was cancelled: from the cli" in failed.err


async def test_unknown_job(reelflow: ReelflowClient) -> None:
    run = await reelflow_cli(reelflow.settings, "status", "no-such-job")
    assert run.code == 1
    assert run.err.strip() == "error: no video job with id 'no-such-job'"
