"""What the chaos scenarios share: starting jobs, waiting for outcomes, checking no job was lost
or paid twice, and a one-line summary per scenario for ``docs/reliability.md``."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from temporalio.service import RPCError

from activities.media_probe import check_mp4_boxes
from starter.client import ReelflowClient, VideoJob
from starter.errors import JobNotFoundError, VideoJobError
from tests.support.polling import eventually
from tests.support.simulator import SimulatorProcess
from workflows.contract import VideoJobStatus, VideoResult

Outcome = VideoResult | VideoJobError


def new_job_id(prefix: str) -> str:
    return f"chaos-{prefix}-{uuid.uuid4().hex[:10]}"


async def start_jobs(
    reelflow: ReelflowClient, prefix: str, count: int, **request: Any
) -> list[VideoJob]:
    """Start ``count`` jobs at once (prompt defaults to one naming the scenario)."""
    request.setdefault("prompt", f"chaos {prefix}: a lighthouse in a storm")
    request.setdefault("polling_interval", 0.3)
    return list(
        await asyncio.gather(
            *(reelflow.generate_video(job_id=new_job_id(prefix), **request) for _ in range(count))
        )
    )


async def outcome(job: VideoJob, *, timeout: float) -> Outcome:
    """The job's result or its error, riding out a Temporal server that is briefly away."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"job {job.job_id} did not end within {timeout:g}s (lost?)")
        try:
            return await asyncio.wait_for(job.result(), timeout=remaining)
        except VideoJobError as exc:
            return exc
        except (RPCError, JobNotFoundError, RuntimeError):
            await asyncio.sleep(0.5)  # the server restarts: ask again until the deadline
        except TimeoutError:
            continue


async def outcomes(jobs: Iterable[VideoJob], *, timeout: float) -> dict[str, Outcome]:
    jobs = list(jobs)
    ends = await asyncio.gather(*(outcome(job, timeout=timeout) for job in jobs))
    return {job.job_id: end for job, end in zip(jobs, ends, strict=True)}


async def status_when(
    job: VideoJob, condition: Callable[[VideoJobStatus], bool], *, timeout: float, what: str
) -> VideoJobStatus:
    """Query the job until ``condition`` holds (query errors count as 'not yet')."""
    deadline = time.monotonic() + timeout
    last: VideoJobStatus | Exception | None = None
    while time.monotonic() < deadline:
        try:
            last = await job.status()
            if condition(last):
                return last
        except Exception as exc:  # the server or the worker may be down right now
            last = exc
        await asyncio.sleep(0.05)
    raise AssertionError(f"{job.job_id}: timed out after {timeout:g}s waiting for {what}: {last!r}")


def keys_of(simulator: SimulatorProcess, job_id: str) -> dict[str, dict[str, Any]]:
    """The simulator's idempotency entries created by this job (key ``reelflow:{job_id}:…``)."""
    keys: dict[str, dict[str, Any]] = simulator.counters()["idempotency_keys"]
    return {key: entry for key, entry in keys.items() if key.startswith(f"reelflow:{job_id}:")}


def provider_videos(simulator: SimulatorProcess, job_ids: Iterable[str]) -> dict[str, list[str]]:
    """For each job, the distinct provider videos its idempotency keys point at."""
    keys: dict[str, dict[str, Any]] = simulator.counters()["idempotency_keys"]
    found: dict[str, list[str]] = {}
    for job_id in job_ids:
        prefix = f"reelflow:{job_id}:"
        videos = {entry["video_id"] for key, entry in keys.items() if key.startswith(prefix)}
        found[job_id] = sorted(videos)
    return found


def assert_one_video_per_job(simulator: SimulatorProcess, job_ids: Iterable[str]) -> int:
    """Every job paid for exactly one provider video; return the duplicates found (0)."""
    videos = provider_videos(simulator, job_ids)
    duplicates = sum(max(0, len(ids) - 1) for ids in videos.values())
    missing = [job_id for job_id, ids in videos.items() if not ids]
    assert duplicates == 0, f"duplicate paid jobs: {videos}"
    assert not missing, f"jobs without a provider video: {missing}"
    every = [video for ids in videos.values() for video in ids]
    assert len(every) == len(set(every)), "two jobs share one provider video"
    return duplicates


def assert_stored(result: VideoResult) -> None:
    """The video is complete at its final path and no temp file is left next to it."""
    path = Path(result.path)
    data = path.read_bytes()
    assert len(data) == result.bytes, f"{path}: {len(data)} bytes on disk, {result.bytes} expected"
    assert hashlib.sha256(data).hexdigest() == result.sha256
    assert data[4:8] == b"ftyp", f"{path} is not an MP4"
    check_mp4_boxes(path)  # not cut, not padded
    if result.thumbnail_path:
        thumbnail = Path(result.thumbnail_path)
        image = thumbnail.read_bytes()
        if image[:4] == b"RIFF":  # WebP: the RIFF size covers the whole file
            assert int.from_bytes(image[4:8], "little") + 8 == len(image), f"{thumbnail} is cut"
        with Image.open(thumbnail) as decoded:
            decoded.load()
    leftovers = sorted(p.name for p in path.parent.glob("*.part"))
    assert not leftovers, f"temp files left next to {path}: {leftovers}"


def completed(ends: dict[str, Outcome]) -> dict[str, VideoResult]:
    """Assert every job completed (no lost job, no failure); return the results."""
    failed = {job_id: end for job_id, end in ends.items() if not isinstance(end, VideoResult)}
    assert not failed, f"{len(failed)} of {len(ends)} jobs did not complete: {failed}"
    return {job_id: end for job_id, end in ends.items() if isinstance(end, VideoResult)}


class FinalPathWatcher:
    """Watches final video paths from a thread: every size ever visible there is recorded, so a
    test can prove that no partial file was ever observable at a final path."""

    def __init__(self, videos_dir: Path, interval: float = 0.01) -> None:
        self.videos_dir = videos_dir
        self.interval = interval
        self.seen: dict[str, set[int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="final-path-watcher", daemon=True)

    def watch(self, job_id: str) -> None:
        with self._lock:
            self.seen.setdefault(job_id, set())

    def __enter__(self) -> FinalPathWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                job_ids = list(self.seen)
            for job_id in job_ids:
                try:
                    size = (self.videos_dir / job_id / "video.mp4").stat().st_size
                except OSError:
                    continue
                with self._lock:
                    self.seen[job_id].add(size)
            self._stop.wait(self.interval)

    def assert_never_partial(self, results: dict[str, VideoResult]) -> None:
        with self._lock:
            for job_id, sizes in self.seen.items():
                expected = results[job_id].bytes
                assert sizes <= {expected}, f"{job_id}: sizes seen at the final path {sizes}"


@dataclass
class ScenarioRecord:
    """One row of the reliability table."""

    scenario: str
    jobs: int
    faults: str
    outcome: str
    duplicates: int = 0
    lost: int = 0
    seconds: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        extra = " ".join(f"{key}={value}" for key, value in self.notes.items())
        return (
            f"{self.scenario} | jobs={self.jobs} | faults={self.faults} | {self.outcome} | "
            f"duplicates={self.duplicates} | lost={self.lost} | {self.seconds:.1f}s {extra}"
        ).rstrip()


@dataclass
class ChaosReport:
    records: list[ScenarioRecord] = field(default_factory=list)

    def add(self, record: ScenarioRecord) -> None:
        self.records.append(record)
        print(f"\nCHAOS {record.line()}")


def faults_injected(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Faults injected between two ``counters()`` snapshots, by kind."""
    old: dict[str, int] = before.get("faults_injected", {})
    new: dict[str, int] = after.get("faults_injected", {})
    return {kind: n - old.get(kind, 0) for kind, n in new.items() if n > old.get(kind, 0)}


def calls(simulator: SimulatorProcess, endpoint: str) -> int:
    """How many calls the simulator counted on ``endpoint`` (counted when a request arrives)."""
    count: int = simulator.counters()[f"{endpoint}_calls"]
    return count


async def until_calls(
    simulator: SimulatorProcess, endpoint: str, at_least: int, *, timeout: float = 30.0
) -> int:
    """Wait until ``endpoint`` has seen ``at_least`` calls in total; return the count."""
    return await eventually(
        lambda: asyncio.to_thread(calls, simulator, endpoint),
        lambda count: count >= at_least,
        timeout=timeout,
        interval=0.02,
        what=f"{at_least} {endpoint} calls",
    )
