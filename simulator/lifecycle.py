"""Job timing: when a job starts, and what status and progress it shows at a given moment.

Nothing ticks: each job holds its planned times and its status is derived from the clock when
read. A job runs `duration` seconds from `start_at`; with a concurrency cap, `schedule` assigns
start times so that at most `cap` jobs run at once (a job holds its slot until its outcome).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from simulator.state import RenderRecord, VideoRecord

QUEUED = "queued"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
FAILED = "failed"
TERMINAL = frozenset({COMPLETED, FAILED})
RENDER_FAILED_CODE = "internal_error"


@dataclass(frozen=True)
class JobView:
    """The externally visible state of a job at one moment."""

    status: str
    progress: int
    completed_at: float | None = None
    expires_at: float | None = None
    error: dict[str, str] | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


def run_duration(seconds: int, seconds_per_video_second: float, speed: float) -> float:
    return seconds_per_video_second * seconds / speed


def derive_view(record: VideoRecord, render: RenderRecord | None, now: float) -> JobView:
    """Status of `record` at `now`. `render` is its media record (None: not rendered yet)."""
    start = record.start_at
    if start is None or now < start:
        return JobView(QUEUED, 0)
    end = record.end_at
    assert end is not None
    failure = record.failure
    if failure is not None:
        if now >= end:
            error = {"code": failure.code, "message": failure.message}
            return JobView(FAILED, failure.at_progress, error=error)
        return JobView(IN_PROGRESS, _progress(start, record.duration, now))
    if render is not None and render.error is not None:
        error = {"code": RENDER_FAILED_CODE, "message": f"Video rendering failed: {render.error}"}
        return JobView(FAILED, _progress(start, record.duration, min(now, end)), error=error)
    if now < end:
        return JobView(IN_PROGRESS, _progress(start, record.duration, now))
    if render is None or render.ready_at is None:
        return JobView(IN_PROGRESS, 99)  # run time is over, but the media are not there yet
    completed_at = max(end, render.ready_at)
    expires_at = completed_at + record.expires_after
    if record.expired_at is not None:
        expires_at = min(expires_at, record.expired_at)
    return JobView(COMPLETED, 100, completed_at=completed_at, expires_at=expires_at)


def _progress(start: float, duration: float, now: float) -> int:
    if duration <= 0:
        return 99
    return max(0, min(99, int(100 * (now - start) / duration)))


def schedule(records: Iterable[VideoRecord], cap: int, now: float) -> list[VideoRecord]:
    """(Re)assign start times of jobs not yet started at `now`; return the changed records.

    Without a cap a job starts when its queue delay is over. With a cap, jobs wait in creation
    order for the earliest slot that frees (a slot frees at a running job's outcome time).
    """
    live = [r for r in records if r.deleted_at is None]
    waiting = [r for r in live if r.start_at is None or r.start_at > now]
    changed: list[VideoRecord] = []
    if cap <= 0:
        for record in waiting:
            start = max(record.ready_at, now)
            if record.start_at != start:
                record.start_at = start
                changed.append(record)
        return changed
    running_ends = sorted(end for r in live if (end := _running_end(r, now)) is not None)
    slots = running_ends[-cap:] if len(running_ends) >= cap else running_ends
    slots = slots + [now] * (cap - len(slots))
    heapq.heapify(slots)
    for record in sorted(waiting, key=lambda r: r.seq):
        start = max(heapq.heappop(slots), record.ready_at, now)
        if record.start_at != start:
            record.start_at = start
            changed.append(record)
        end = record.end_at
        assert end is not None
        heapq.heappush(slots, end)
    return changed


def _running_end(record: VideoRecord, now: float) -> float | None:
    """When a job that is running at `now` frees its slot; None if it is not running."""
    end = record.end_at
    if record.start_at is None or record.start_at > now or end is None or end <= now:
        return None
    return end


def rescale(records: Iterable[VideoRecord], ratio: float, now: float) -> list[VideoRecord]:
    """Stretch the remaining time of unfinished jobs by `ratio` (a speed change).

    A running job keeps its progress fraction; waiting jobs are rescheduled by the caller.
    """
    changed: list[VideoRecord] = []
    for record in records:
        end = record.end_at
        if record.deleted_at is not None or (end is not None and end <= now):
            continue
        record.duration *= ratio
        if record.ready_at > now:
            record.ready_at = now + (record.ready_at - now) * ratio
        if record.start_at is not None and record.start_at <= now:
            record.start_at = now - (now - record.start_at) * ratio
        else:
            record.start_at = None
        changed.append(record)
    return changed


def video_object(record: VideoRecord, view: JobView) -> dict[str, Any]:
    """The Video object of the spec, every key present."""
    return {
        "id": record.id,
        "object": "video",
        "model": record.model,
        "status": view.status,
        "progress": view.progress,
        "created_at": int(record.created_at),
        "completed_at": None if view.completed_at is None else int(view.completed_at),
        "expires_at": None if view.expires_at is None else int(view.expires_at),
        "size": record.size,
        "seconds": str(record.seconds),
        "prompt": record.prompt,
        "remixed_from_video_id": record.remixed_from_video_id,
        "error": view.error,
    }
