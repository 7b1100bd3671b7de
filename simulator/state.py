"""The job store: records in memory, optionally written through to a SQLite file.

Reads never touch SQLite (status must be cheap); every mutation of a video, an idempotency
key or a render is written at once, call counters are flushed periodically and at shutdown.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simulator.faults import ENDPOINTS


@dataclass
class JobFailure:
    """The planned failure of a job: it fails with `code` once it reaches `at_progress`."""

    code: str
    message: str
    at_progress: int


@dataclass
class VideoRecord:
    """One video job. Times are unix seconds (floats) so progress survives a restart."""

    id: str
    seq: int
    model: str
    size: str
    seconds: int
    prompt: str
    created_at: float
    ready_at: float  # earliest start: created_at + queue delay
    duration: float  # run time from start to completion
    start_at: float | None = None  # None while waiting for a concurrency slot
    failure: JobFailure | None = None
    media_key: str | None = None
    remixed_from_video_id: str | None = None
    idempotency_key: str | None = None
    expires_after: float = 3600.0
    expired_at: float | None = None  # set by `/_sim/videos/{id}/expire`
    deleted_at: float | None = None
    notified: bool = False  # webhook event emitted

    @property
    def end_at(self) -> float | None:
        """When the job reaches its outcome (completion or planned failure)."""
        if self.start_at is None:
            return None
        fraction = self.failure.at_progress / 100 if self.failure else 1.0
        return self.start_at + self.duration * fraction

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> VideoRecord:
        data = json.loads(text)
        failure = data.pop("failure")
        return cls(**data, failure=JobFailure(**failure) if failure else None)


@dataclass
class RenderRecord:
    """Media for one (prompt, size, seconds); shared by every job with that key."""

    key: str
    ready_at: float | None = None
    video: str | None = None
    thumbnail: str | None = None
    spritesheet: str | None = None
    error: str | None = None


@dataclass
class IdempotencyEntry:
    key: str
    video_id: str
    fingerprint: str
    created_at: float
    calls: int = 1


@dataclass
class Counters:
    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENDPOINTS, 0))
    faults_injected: dict[str, int] = field(default_factory=dict)


class SqlitePersistence:
    """Write-through persistence of the store in one SQLite file."""

    TABLES = ("videos", "idempotency", "renders", "meta")

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for table in self.TABLES:
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, data TEXT)"
            )

    def put(self, table: str, key: str, data: str) -> None:
        self._db.execute(f"INSERT OR REPLACE INTO {table} (key, data) VALUES (?, ?)", (key, data))

    def load(self, table: str) -> list[str]:
        return [row[0] for row in self._db.execute(f"SELECT data FROM {table}")]

    def clear(self) -> None:
        self._db.execute("BEGIN")
        for table in self.TABLES:
            self._db.execute(f"DELETE FROM {table}")
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


class Store:
    """All simulator state. Single-threaded: used from the event loop only."""

    def __init__(self, db_path: Path | None = None) -> None:
        self.videos: dict[str, VideoRecord] = {}
        self.ordered: list[VideoRecord] = []  # by seq, deleted ones included
        self.idempotency: dict[str, IdempotencyEntry] = {}
        self.renders: dict[str, RenderRecord] = {}
        self.counters = Counters()
        self._counters_dirty = False
        self._db = SqlitePersistence(db_path) if db_path else None
        if self._db:
            self._load(self._db)

    @property
    def persistent(self) -> bool:
        return self._db is not None

    def _load(self, db: SqlitePersistence) -> None:
        records = sorted((VideoRecord.from_json(t) for t in db.load("videos")), key=lambda r: r.seq)
        for record in records:
            self.videos[record.id] = record
        self.ordered = records
        for text in db.load("idempotency"):
            entry = IdempotencyEntry(**json.loads(text))
            self.idempotency[entry.key] = entry
        for text in db.load("renders"):
            render = RenderRecord(**json.loads(text))
            self.renders[render.key] = render
        for text in db.load("meta"):
            data: dict[str, Any] = json.loads(text)
            self.counters.calls.update(data.get("calls", {}))
            self.counters.faults_injected.update(data.get("faults_injected", {}))

    def next_seq(self) -> int:
        return self.ordered[-1].seq + 1 if self.ordered else 1

    def add_video(self, record: VideoRecord) -> None:
        self.videos[record.id] = record
        self.ordered.append(record)
        self.save_video(record)

    def save_video(self, record: VideoRecord) -> None:
        if self._db:
            self._db.put("videos", record.id, record.to_json())

    def save_idempotency(self, entry: IdempotencyEntry) -> None:
        self.idempotency[entry.key] = entry
        if self._db:
            self._db.put("idempotency", entry.key, json.dumps(asdict(entry)))

    def save_render(self, render: RenderRecord) -> None:
        self.renders[render.key] = render
        if self._db:
            self._db.put("renders", render.key, json.dumps(asdict(render)))

    def count_call(self, endpoint: str) -> None:
        self.counters.calls[endpoint] = self.counters.calls.get(endpoint, 0) + 1
        self._counters_dirty = True

    def count_fault(self, kind: str) -> None:
        faults = self.counters.faults_injected
        faults[kind] = faults.get(kind, 0) + 1
        self._counters_dirty = True

    def flush_counters(self) -> None:
        if self._db and self._counters_dirty:
            self._db.put("meta", "counters", json.dumps(asdict(self.counters)))
        self._counters_dirty = False

    def live(self) -> list[VideoRecord]:
        return [r for r in self.ordered if r.deleted_at is None]

    def deleted_ids(self) -> list[str]:
        deleted = [r for r in self.ordered if r.deleted_at is not None]
        return [r.id for r in sorted(deleted, key=lambda r: r.deleted_at or 0.0)]

    def reset(self) -> None:
        self.videos.clear()
        self.ordered.clear()
        self.idempotency.clear()
        self.renders.clear()
        self.counters = Counters()
        self._counters_dirty = False
        if self._db:
            self._db.clear()

    def close(self) -> None:
        self.flush_counters()
        if self._db:
            self._db.close()
