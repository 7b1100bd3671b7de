"""Scenario 9: recorded histories replay against the current workflow code.

Each file in ``histories/`` is a real run (see ``record_histories.py``): completed, failed in
each way, timed out, cancelled both ways, continued as new. Replaying them with today's
``VideoGenerationWorkflow`` fails on any change that would break a running job of that shape,
so such a change fails CI unless it is guarded by ``workflow.patched``. The ``v0-`` files were
recorded before the ``poll-failure-continues`` patch and must keep replaying.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from starter.worker import worker_interceptors
from workflows.contract import VideoJobInput, VideoResult
from workflows.video_generation import WORKFLOW_NAME, VideoGenerationWorkflow

HISTORIES = Path(__file__).resolve().parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))
REQUIRED_SHAPES = (
    "completed",
    "failed-moderation",
    "failed-create",
    "failed-provider-job-lost",
    "completed-after-poll-errors",
    "timed-out",
    "cancelled-signal",
    "cancelled-temporal",
    "continued-as-new-first-run",
    "continued-as-new-last-run",
)


def load(path: Path) -> tuple[dict[str, Any], WorkflowHistory]:
    record: dict[str, Any] = json.loads(path.read_text())
    return record, WorkflowHistory.from_json(record["workflow_id"], record["history"])


def replayer(*workflows: type) -> Replayer:
    return Replayer(
        workflows=list(workflows),
        data_converter=pydantic_data_converter,
        interceptors=worker_interceptors(),
    )


def test_every_ending_is_recorded() -> None:
    names = {path.stem for path in FILES}
    missing = [shape for shape in REQUIRED_SHAPES if shape not in names]
    assert not missing, f"record them: tests/replay/record_histories.py --only …: {missing}"
    assert any(name.startswith("v0-") for name in names), "keep the pre-patch histories"


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
async def test_history_replays_on_current_code(path: Path) -> None:
    record, history = load(path)
    assert len(history.events) == record["events"], "a truncated history file"
    result = await replayer(VideoGenerationWorkflow).replay_workflow(history)
    assert result.replay_failure is None


@workflow.defn(name=WORKFLOW_NAME, sandboxed=False)
class ReorderedWorkflow:
    """What a careless edit looks like: it waits before creating the provider job."""

    @workflow.run
    async def run(self, job: VideoJobInput) -> VideoResult:
        await workflow.sleep(timedelta(seconds=1))
        raise RuntimeError("never reached in a replay")


@pytest.mark.asyncio(loop_scope="session")
async def test_a_breaking_change_fails_the_replay() -> None:
    _, history = load(HISTORIES / "completed.json")
    with pytest.raises(workflow.NondeterminismError):
        await replayer(ReorderedWorkflow).replay_workflow(history)
