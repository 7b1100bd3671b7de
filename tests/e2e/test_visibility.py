"""What a person sees of a job in the Temporal UI, read back through the Temporal API.

The UI shows a job's static summary and details, its current details, the summaries of its
activities and timers and its search attributes; each is checked here at two points of one run
(while processing, and after completion), then the visibility queries behind ``reelflow list``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import TypedSearchAttributes
from temporalio.converter import DataConverter

from starter.client import ReelflowClient
from tests.conftest import TEST_API_KEY
from tests.e2e.test_cli import reelflow_cli
from tests.support.polling import eventually
from workflows import search_attributes as sa

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROMPT = "A golden retriever surfs a turquoise wave at sunset, slow motion"
SUMMARY = f'sora-2 · 1280x720 · 12s · "{PROMPT}"'

UPSERT = EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES


async def current_details(handle: WorkflowHandle[Any, Any]) -> str:
    """The workflow's current details, read the way the UI reads them (a built-in query)."""
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def event_summaries(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The summaries of activities, local activities (markers) and timers, in history order."""
    converter = DataConverter.default.payload_converter
    summaries = []
    async for event in handle.fetch_history_events():
        if event.event_id > 1 and event.user_metadata.HasField("summary"):
            summaries.append(converter.from_payload(event.user_metadata.summary, str))
    return summaries


async def upsert_count(handle: WorkflowHandle[Any, Any]) -> int:
    return sum([event.event_type == UPSERT async for event in handle.fetch_history_events()])


def attributes(description: WorkflowExecutionDescription) -> dict[str, object]:
    found: TypedSearchAttributes = description.typed_search_attributes
    return {key.name: found.get(key) for key in sa.ALL_KEYS}


async def test_ui_fields_while_processing_and_after_completion(
    reelflow: ReelflowClient, job_id: str
) -> None:
    job = await reelflow.generate_video(PROMPT, seconds=12, job_id=job_id, polling_interval=0.2)
    handle = reelflow.temporal.get_workflow_handle(job_id)

    # -- while processing --------------------------------------------------------------------
    async def description_and_summaries() -> tuple[WorkflowExecutionDescription, list[str]]:
        return await handle.describe(), await event_summaries(handle)

    running, so_far = await eventually(
        description_and_summaries,
        lambda seen: (
            attributes(seen[0])["VideoStatus"] == "processing"
            and "poll status (attempt 1)" in seen[1]
        ),
        what="VideoStatus = processing after a first poll",
    )
    summary = await running.static_summary()
    details = await running.static_details()
    assert summary == SUMMARY and len(summary.encode()) <= 200
    assert details is not None
    assert details.startswith("### Video request")
    assert "| model | `sora-2` |" in details and "| seconds | 12 |" in details
    assert f"> {PROMPT}" in details

    status = await job.status()
    live = await current_details(handle)
    assert live.startswith("**processing** `")
    assert re.search(r"`[█░]{20}` \d+%", live), live
    assert f"- provider job: `{status.provider_job_id}`" in live
    assert "- polls so far: " in live

    seen = attributes(running)
    assert seen["VideoModel"] == "sora-2"
    assert seen["VideoProviderJobId"] == status.provider_job_id
    assert seen["VideoProgress"] in (0, 25, 50, 75), "progress is upserted in quartiles"

    assert so_far[:3] == ["create video job", "wait 0.2s", "poll status (attempt 1)"]

    # -- after completion --------------------------------------------------------------------
    result = await job.result()
    done = await handle.describe()
    assert done.status == WorkflowExecutionStatus.COMPLETED
    assert await done.static_summary() == SUMMARY
    assert attributes(done) == {
        "VideoStatus": "completed",
        "VideoProgress": 100,
        "VideoModel": "sora-2",
        "VideoProviderJobId": result.provider_job_id,
    }

    final = await current_details(handle)
    assert final.startswith("**completed** `████████████████████` 100%")
    assert f"- stored: {result.bytes / 1_000_000:.1f} MB at `{result.path}`" in final

    summaries = await event_summaries(handle)
    polls = [s for s in summaries if s.startswith("poll status")]
    assert polls == [f"poll status (attempt {n})" for n in range(1, len(polls) + 1)]
    assert summaries[0] == "create video job"
    assert summaries[-1] == "download 1280x720 · 12s video"
    assert set(summaries) - set(polls) == {
        "create video job",
        "wait 0.2s",
        "download 1280x720 · 12s video",
    }

    # Search attributes change a handful of times (state, quartiles, provider id), never per poll.
    assert await upsert_count(handle) <= 7

    for text in (summary, details, live, final, *summaries):
        assert TEST_API_KEY not in text


async def test_jobs_are_found_by_state_model_and_provider_job(
    reelflow: ReelflowClient, job_id: str
) -> None:
    job = await reelflow.generate_video(
        "a quiet harbour at dawn", job_id=job_id, polling_interval=0.2
    )
    result = await job.result()

    async def ids(query: str) -> list[str]:
        return [e.id async for e in reelflow.temporal.list_workflows(query)]

    mine = f"WorkflowId = '{job_id}'"
    await eventually(
        lambda: ids(f"VideoStatus = 'completed' AND VideoModel = 'sora-2' AND {mine}"),
        lambda found: found == [job_id],
        what="the job in the visibility store as completed",
    )
    assert await ids(f"VideoProviderJobId = '{result.provider_job_id}'") == [job_id]
    assert await ids(f"VideoProgress = 100 AND {mine}") == [job_id]
    assert await ids(f"VideoStatus = 'processing' AND {mine}") == []

    listed = await reelflow_cli(
        reelflow.settings, "list", "--status", "completed", "--model", "sora-2", "--limit", "500"
    )
    assert listed.code == 0, listed.err
    row = next(line for line in listed.out.splitlines() if job_id in line)
    assert "completed" in row and "100%" in row and result.provider_job_id in row
    none = await reelflow_cli(reelflow.settings, "list", "--status", "processing", "--model", "x")
    assert none.code == 0 and job_id not in none.out and "0 job(s)" in none.out

    status = await reelflow_cli(reelflow.settings, "status", job_id)
    assert status.code == 0, status.err
    assert reelflow.settings.workflow_ui_url(job_id) in status.out
