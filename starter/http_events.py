"""The events of TanStack AI's video stream, and the offsets that make it resumable.

Every event carries an ``id:`` offset computed from the job's state alone, never from server
memory: a restarted server that is asked to resume after offset N derives the same numbers and
sends exactly the events after N. The scheme (documented in ``docs/http-api.md``):

====================  ===================================================================
offset                event
====================  ===================================================================
0                     ``RUN_STARTED``
1                     ``CUSTOM video:job:created``
2 + 101·stage + p     ``CUSTOM video:status`` with progress p; stage 0 pending,
                      1 processing, 2 ended (completed, failed, cancelled): 2 to 304
1000                  ``CUSTOM generation:result``
1001                  ``RUN_FINISHED`` or ``RUN_ERROR``
====================  ===================================================================

Progress never goes backwards and the stage only moves forward, so status offsets rise with
the job; a status whose offset is not above the last one sent is simply not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflows.contract import VideoJobStatus

RUN_STARTED_OFFSET = 0
JOB_CREATED_OFFSET = 1
STATUS_BASE_OFFSET = 2
STAGE_WIDTH = 101
RESULT_OFFSET = 1000
END_OFFSET = 1001
BEFORE_FIRST = -1
"""The offset a client that saw nothing resumes from (``offset=-1`` in ``joinRun``)."""

_STAGES = {"pending": 0, "processing": 1}
_ENDED_STAGE = 2


@dataclass(frozen=True)
class RunIds:
    """The ids one stream reports: the caller's run and thread, and reelflow's job."""

    run_id: str
    thread_id: str
    job_id: str


@dataclass(frozen=True)
class StreamEvent:
    """One SSE event: its resumable offset and the AG-UI JSON payload."""

    offset: int
    payload: dict[str, Any]


def status_offset(status: VideoJobStatus) -> int:
    """The offset of the ``video:status`` event for this state (see the module table)."""
    stage = _STAGES.get(status.status, _ENDED_STAGE)
    return STATUS_BASE_OFFSET + stage * STAGE_WIDTH + status.progress


def wire_status(status: VideoJobStatus) -> str:
    """TanStack's status vocabulary has no ``cancelled``: a cancelled job reports ``failed``."""
    return "failed" if status.status == "cancelled" else status.status


def millis(moment: datetime) -> int:
    """AG-UI timestamps are milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def run_started(ids: RunIds, at: datetime) -> StreamEvent:
    payload = {
        "type": "RUN_STARTED",
        "runId": ids.run_id,
        "threadId": ids.thread_id,
        "timestamp": millis(at),
    }
    return StreamEvent(RUN_STARTED_OFFSET, payload)


def job_created(ids: RunIds, at: datetime) -> StreamEvent:
    return StreamEvent(JOB_CREATED_OFFSET, _custom("video:job:created", {"jobId": ids.job_id}, at))


def video_status(ids: RunIds, status: VideoJobStatus) -> StreamEvent:
    """``video:status``; ``error`` (a message, as in TanStack) only when there is one."""
    value: dict[str, Any] = {
        "jobId": ids.job_id,
        "status": wire_status(status),
        "progress": status.progress,
    }
    if status.error is not None:
        value["error"] = status.error.message
    return StreamEvent(status_offset(status), _custom("video:status", value, status.updated_at))


def generation_result(
    ids: RunIds, url: str, expires_at: datetime | None, at: datetime
) -> StreamEvent:
    value = {
        "jobId": ids.job_id,
        "status": "completed",
        "url": url,
        "expiresAt": expires_at.isoformat() if expires_at else None,
    }
    return StreamEvent(RESULT_OFFSET, _custom("generation:result", value, at))


def run_finished(ids: RunIds, at: datetime) -> StreamEvent:
    payload = {
        "type": "RUN_FINISHED",
        "runId": ids.run_id,
        "threadId": ids.thread_id,
        "finishReason": "stop",
        "timestamp": millis(at),
    }
    return StreamEvent(END_OFFSET, payload)


def run_error(ids: RunIds, code: str, message: str, at: datetime) -> StreamEvent:
    payload = {
        "type": "RUN_ERROR",
        "runId": ids.run_id,
        "threadId": ids.thread_id,
        "message": message,
        "code": code,
        "timestamp": millis(at),
    }
    return StreamEvent(END_OFFSET, payload)


def _custom(name: str, value: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {"type": "CUSTOM", "name": name, "value": value, "timestamp": millis(at)}
