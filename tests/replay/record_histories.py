"""Record workflow histories from real runs, for the replay test (scenario 9).

    .venv/bin/python tests/replay/record_histories.py            # all, into tests/replay/histories
    .venv/bin/python tests/replay/record_histories.py --only cancelled-signal --prefix v2-

Starts two Temporal dev servers (one suggests continue-as-new after a few events), the simulator
and an in-process worker running the workflow code on ``sys.path``; runs one job per ending a
workflow can have and saves each history as JSON. Record again when the workflow changes on
purpose (behind ``workflow.patched``); keep the older files, they are what running jobs look like.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
import temporalio  # noqa: E402
from PIL import Image  # noqa: E402
from temporalio.client import WorkflowHandle  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from starter.client import ReelflowClient, VideoJob  # noqa: E402
from starter.config import ReelflowSettings  # noqa: E402
from starter.errors import VideoJobError  # noqa: E402
from starter.processes import bin_path  # noqa: E402
from starter.worker import video_worker  # noqa: E402
from tests.support.simulator import SimulatorProcess  # noqa: E402
from workflows.contract import VideoJobStatus  # noqa: E402
from workflows.search_attributes import ALL_KEYS  # noqa: E402

HISTORIES = Path(__file__).resolve().parent / "histories"
RECORD_KEY = f"record-key-{secrets.token_hex(16)}"
CAN_THRESHOLD = "16"
POLL = 0.2


@dataclass
class Recorder:
    reelflow: ReelflowClient
    can_reelflow: ReelflowClient
    simulator: SimulatorProcess
    scratch: Path


async def _status(job: VideoJob, condition: Callable[[VideoJobStatus], bool]) -> VideoJobStatus:
    for _ in range(600):
        status = await job.status()
        if condition(status):
            return status
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{job.job_id}: condition not reached")


async def _end(job: VideoJob) -> str:
    try:
        await job.result()
    except VideoJobError as exc:
        return f"{type(exc).__name__}: {exc.message}"
    return "completed"


def _job_id(name: str) -> str:
    return f"replay-{name}-{uuid.uuid4().hex[:8]}"


async def completed(r: Recorder, name: str) -> VideoJob:
    return await r.reelflow.generate_video(
        "replay: a paper boat", job_id=_job_id(name), polling_interval=POLL
    )


async def failed_moderation(r: Recorder, name: str) -> VideoJob:
    prompt = "replay: #moderation please"
    return await r.reelflow.generate_video(prompt, job_id=_job_id(name), polling_interval=POLL)


async def failed_create(r: Recorder, name: str) -> VideoJob:
    """The provider rejects the request (a reference image of the wrong size): 400."""
    image = r.scratch / "small.png"
    Image.new("RGB", (64, 64), "red").save(image)
    return await r.reelflow.generate_video(
        "replay: wrong reference",
        input_reference=image,
        job_id=_job_id(name),
        polling_interval=POLL,
    )


async def failed_provider_job_lost(r: Recorder, name: str) -> VideoJob:
    """The provider forgets the job while it is polled: 404 on poll."""
    job = await r.reelflow.generate_video(
        "replay: forgotten", seconds=12, job_id=_job_id(name), polling_interval=POLL
    )
    status = await _status(job, lambda s: s.polls >= 1)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {RECORD_KEY}"}) as http:
        response = await http.delete(f"{r.simulator.base_url}/videos/{status.provider_job_id}")
        response.raise_for_status()
    return job


async def completed_after_poll_errors(r: Recorder, name: str) -> VideoJob:
    """Every attempt of one poll answers 429; the job polls again and completes."""
    job = await r.reelflow.generate_video(
        "replay: patience", seconds=8, job_id=_job_id(name), polling_interval=POLL
    )
    await _status(job, lambda s: s.polls >= 1)
    rule = {"endpoint": "retrieve", "kind": "http_429", "retry_after": 0.3, "times": 4}
    r.simulator.set_faults({"rules": [rule]})
    return job


async def timed_out(r: Recorder, name: str) -> VideoJob:
    return await r.reelflow.generate_video(
        "replay: too slow",
        seconds=12,
        max_duration=1.5,
        job_id=_job_id(name),
        polling_interval=POLL,
    )


async def cancelled_signal(r: Recorder, name: str) -> VideoJob:
    job = await r.reelflow.generate_video(
        "replay: never mind", seconds=12, job_id=_job_id(name), polling_interval=POLL
    )
    await _status(job, lambda s: s.status == "processing")
    await job.cancel("recorded cancel")
    return job


async def cancelled_temporal(r: Recorder, name: str) -> VideoJob:
    job = await r.reelflow.generate_video(
        "replay: stop it", seconds=12, job_id=_job_id(name), polling_interval=POLL
    )
    await _status(job, lambda s: s.status == "processing")
    await r.reelflow.temporal.get_workflow_handle(job.job_id).cancel()
    return job


async def continued_as_new(r: Recorder, name: str) -> VideoJob:
    return await r.can_reelflow.generate_video(
        "replay: a long take", seconds=12, job_id=_job_id(name), polling_interval=0.1
    )


SCENARIOS: dict[str, Callable[[Recorder, str], Awaitable[VideoJob]]] = {
    "completed": completed,
    "failed-moderation": failed_moderation,
    "failed-create": failed_create,
    "failed-provider-job-lost": failed_provider_job_lost,
    "completed-after-poll-errors": completed_after_poll_errors,
    "timed-out": timed_out,
    "cancelled-signal": cancelled_signal,
    "cancelled-temporal": cancelled_temporal,
    "continued-as-new": continued_as_new,
}


def _commit() -> str:
    result = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"


async def _save(
    out: Path, name: str, handle: WorkflowHandle[Any, Any], ending: str, description: str
) -> Path:
    history = await handle.fetch_history()
    text = history.to_json()
    if RECORD_KEY in text:
        raise RuntimeError(f"the API key leaked into the history of {name}")
    record = {
        "name": name,
        "workflow_id": handle.id,
        "run_id": handle.run_id,
        "ending": ending,
        "description": description,
        "events": len(history.events),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "recorded_with": {"temporalio": temporalio.__version__, "reelflow": _commit()},
        "history": json.loads(text),
    }
    path = out / f"{name}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


async def _record_one(r: Recorder, out: Path, prefix: str, name: str) -> list[Path]:
    r.simulator.clear_faults()
    job = await SCENARIOS[name](r, name)
    ending = await _end(job)
    r.simulator.clear_faults()
    client = (r.can_reelflow if name == "continued-as-new" else r.reelflow).temporal
    description = (SCENARIOS[name].__doc__ or name).strip()
    latest = client.get_workflow_handle(job.job_id)
    first = client.get_workflow_handle(job.job_id, run_id=job.run_id)
    described = await latest.describe()
    if described.run_id == job.run_id:
        return [await _save(out, prefix + name, first, ending, description)]
    return [
        await _save(out, f"{prefix}{name}-first-run", first, "continued as new", description),
        await _save(out, f"{prefix}{name}-last-run", latest, ending, description),
    ]


async def record(out: Path, names: list[str], prefix: str) -> list[Path]:
    temporal = str(bin_path("temporal"))
    common: dict[str, Any] = {
        "dev_server_existing_path": temporal,
        "data_converter": pydantic_data_converter,
        "search_attributes": ALL_KEYS,
        "dev_server_log_level": "error",
    }
    can_args = [
        "--dynamic-config-value",
        f"limit.historyCount.suggestContinueAsNew={CAN_THRESHOLD}",
    ]
    with tempfile.TemporaryDirectory(prefix="reelflow-record-") as folder:
        scratch = Path(folder)
        env = await WorkflowEnvironment.start_local(**common)
        can_env = await WorkflowEnvironment.start_local(**common, dev_server_extra_args=can_args)
        try:
            with SimulatorProcess(speed=10.0, api_key=RECORD_KEY) as simulator:
                settings = ReelflowSettings(
                    temporal_address=env.client.service_client.config.target_host,
                    openai_base_url=simulator.base_url,
                    openai_api_key=RECORD_KEY,
                    data_dir=scratch / "data",
                    task_queue=f"record-{uuid.uuid4().hex[:8]}",
                )
                reelflow = ReelflowClient(env.client, settings)
                can_reelflow = ReelflowClient(can_env.client, settings)
                recorder = Recorder(reelflow, can_reelflow, simulator, scratch)
                async with (
                    video_worker(env.client, settings),
                    video_worker(can_env.client, settings),
                ):
                    paths = []
                    for name in names:
                        paths += await _record_one(recorder, out, prefix, name)
                        print(f"recorded {name}", flush=True)
                    return paths
        finally:
            await can_env.shutdown()
            await env.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HISTORIES)
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), default=None)
    parser.add_argument("--prefix", default="", help="Prefix of the file names.")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    paths = asyncio.run(record(args.out, args.only or list(SCENARIOS), args.prefix))
    for path in paths:
        print(path)
    sys.stdout.flush()
    os._exit(0)  # skip interpreter finalisation: native threads of the SDK can crash it


if __name__ == "__main__":
    main()
