"""The Videos API operations over the store: what each endpoint does, free of HTTP."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator.config import SimulatorConfig
from simulator.errors import ApiError, invalid_value, video_not_found
from simulator.faults import ENDPOINTS
from simulator.lifecycle import (
    COMPLETED,
    JobView,
    derive_view,
    rescale,
    run_duration,
    schedule,
    video_object,
)
from simulator.rendering import Renderer, cache_key
from simulator.state import IdempotencyEntry, JobFailure, Store, VideoRecord
from simulator.validation import CreateRequest, ListQuery, validate_prompt

VARIANTS = {
    "video": "video/mp4",
    "thumbnail": "image/webp",
    "spritesheet": "image/jpeg",
}


def new_video_id() -> str:
    return "video_" + secrets.token_hex(16)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class VideoService:
    def __init__(
        self,
        config: SimulatorConfig,
        store: Store,
        renderer: Renderer,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.renderer = renderer
        self.clock = clock
        self.on_created: list[Callable[[VideoRecord], None]] = []

    # -- reading -------------------------------------------------------------------------

    def view(self, record: VideoRecord, now: float | None = None) -> JobView:
        render = self.store.renders.get(record.media_key) if record.media_key else None
        return derive_view(record, render, self.clock() if now is None else now)

    def video(self, record: VideoRecord, now: float | None = None) -> dict[str, Any]:
        return video_object(record, self.view(record, now))

    def live_record(self, video_id: str) -> VideoRecord:
        record = self.store.videos.get(video_id)
        if record is None or record.deleted_at is not None:
            raise video_not_found(video_id)
        return record

    def retrieve(self, video_id: str) -> dict[str, Any]:
        return self.video(self.live_record(video_id))

    def list(self, query: ListQuery) -> dict[str, Any]:
        records = self.store.live()
        if query.order == "desc":
            records.reverse()
        if query.after is not None:
            cursor = self.store.videos.get(query.after)
            if cursor is None:
                raise invalid_value(
                    "after", f"Invalid value for 'after': no video '{query.after}'."
                )
            if query.order == "desc":
                records = [r for r in records if r.seq < cursor.seq]
            else:
                records = [r for r in records if r.seq > cursor.seq]
        page = records[: query.limit]
        now = self.clock()
        return {
            "object": "list",
            "data": [self.video(r, now) for r in page],
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
            "has_more": len(records) > len(page),
        }

    def content(self, video_id: str, variant: str) -> tuple[Path, str]:
        """The file and media type of one asset of a completed, unexpired video."""
        if variant not in VARIANTS:
            raise invalid_value(
                "variant",
                f"Invalid value: '{variant}'. Supported values are: "
                "'video', 'thumbnail', and 'spritesheet'.",
            )
        record = self.live_record(video_id)
        now = self.clock()
        view = self.view(record, now)
        if view.status != COMPLETED:
            raise ApiError(
                400,
                f"Video '{video_id}' is not ready: its status is '{view.status}'. "
                "Content is available once the status is 'completed'.",
                param="video_id",
                code="video_not_ready",
            )
        assert view.expires_at is not None
        if now >= view.expires_at:
            raise ApiError(
                410,
                f"The video assets expired at {_iso(view.expires_at)} "
                f"(unix {int(view.expires_at)}) and can no longer be downloaded.",
                param="video_id",
                code="video_expired",
            )
        render = self.store.renders[record.media_key or ""]
        path = Path(getattr(render, variant) or "")
        if not path.is_file():
            raise ApiError(404, f"The {variant} asset of video '{video_id}' is missing.")
        return path, VARIANTS[variant]

    # -- writing -------------------------------------------------------------------------

    def create(self, request: CreateRequest, idempotency_key: str | None) -> dict[str, Any]:
        return self._create_or_reuse(request, idempotency_key, remixed_from=None)

    def remix(
        self, video_id: str, body: dict[str, Any], idempotency_key: str | None
    ) -> dict[str, Any]:
        source = self.live_record(video_id)
        prompt = validate_prompt(body.get("prompt"))
        status = self.view(source).status
        if status != COMPLETED:
            raise ApiError(
                400,
                f"Video '{video_id}' cannot be remixed: its status is '{status}'. "
                "Only completed videos can be remixed.",
                param="video_id",
                code="video_not_ready",
            )
        request = CreateRequest(
            prompt=prompt, model=source.model, size=source.size, seconds=source.seconds
        )
        return self._create_or_reuse(request, idempotency_key, remixed_from=source.id)

    def _create_or_reuse(
        self, request: CreateRequest, key: str | None, remixed_from: str | None
    ) -> dict[str, Any]:
        fingerprint = _fingerprint(request, remixed_from)
        if key:
            existing = self._idempotent_replay(key, fingerprint)
            if existing is not None:
                return self.video(existing)
        record = self._new_record(request, key, remixed_from)
        if key:
            entry = IdempotencyEntry(key, record.id, fingerprint, record.created_at)
            self.store.save_idempotency(entry)
        for listener in self.on_created:
            listener(record)
        return self.video(record)

    def _idempotent_replay(self, key: str, fingerprint: str) -> VideoRecord | None:
        entry = self.store.idempotency.get(key)
        if entry is None or self.clock() - entry.created_at >= self.config.idempotency_ttl:
            return None
        record = self.store.videos.get(entry.video_id)
        if record is None:
            return None
        entry.calls += 1
        self.store.save_idempotency(entry)
        if entry.fingerprint != fingerprint:
            raise ApiError(
                409,
                f"Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                code="idempotency_key_conflict",
            )
        return record

    def _new_record(
        self, request: CreateRequest, key: str | None, remixed_from: str | None
    ) -> VideoRecord:
        config = self.config
        now = self.clock()
        failure = self._planned_failure(request.prompt)
        record = VideoRecord(
            id=new_video_id(),
            seq=self.store.next_seq(),
            model=request.model,
            size=request.size,
            seconds=request.seconds,
            prompt=request.prompt,
            created_at=now,
            ready_at=now + config.queue_delay / config.speed,
            duration=run_duration(request.seconds, config.seconds_per_video_second, config.speed),
            failure=failure,
            remixed_from_video_id=remixed_from,
            idempotency_key=key or None,
            expires_after=config.expires_after,
        )
        if failure is None:
            record.media_key = cache_key(
                request.prompt, request.width, request.height, record.seconds
            )
        if config.concurrency <= 0:
            record.start_at = record.ready_at
            self.store.add_video(record)
        else:
            self.store.add_video(record)
            self._reschedule(now)
        if record.media_key is not None:
            self.renderer.ensure(
                record.media_key, request.prompt, request.width, request.height, request.seconds
            )
        return record

    def _planned_failure(self, prompt: str) -> JobFailure | None:
        for rule in self.config.outcome_rules:
            if rule.contains in prompt:
                return JobFailure(rule.outcome, rule.error_message(), rule.at_progress)
        return None

    def delete(self, video_id: str) -> dict[str, Any]:
        record = self.live_record(video_id)
        now = self.clock()
        record.deleted_at = now
        self.store.save_video(record)
        if self.config.concurrency > 0:
            self._reschedule(now)
        return {"id": record.id, "object": "video.deleted", "deleted": True}

    def _reschedule(self, now: float) -> None:
        for changed in schedule(self.store.ordered, self.config.concurrency, now):
            self.store.save_video(changed)

    # -- simulator control ---------------------------------------------------------------

    def apply_config(self, changes: dict[str, Any]) -> None:
        """Apply run-time setting changes; a speed change stretches unfinished jobs."""
        old_speed = self.config.speed
        for name, value in changes.items():
            setattr(self.config, name, value)
        now = self.clock()
        if self.config.speed != old_speed:
            for record in rescale(self.store.ordered, old_speed / self.config.speed, now):
                self.store.save_video(record)
        if "speed" in changes or "concurrency" in changes:
            self._reschedule(now)

    def resume(self) -> None:
        """After loading persisted state: reschedule and restart renders that were cut off."""
        self._reschedule(self.clock())
        for record in self.store.live():
            if record.media_key and record.media_key not in self.store.renders:
                width, height = (int(v) for v in record.size.split("x"))
                self.renderer.ensure(record.media_key, record.prompt, width, height, record.seconds)

    def expire(self, video_id: str) -> dict[str, Any]:
        record = self.store.videos.get(video_id)
        if record is None:
            raise video_not_found(video_id)
        view = self.view(record)
        if view.status != COMPLETED:
            raise ApiError(
                409,
                f"Video '{video_id}' is '{view.status}'; only completed videos can expire.",
                code="video_not_completed",
            )
        record.expired_at = self.clock()
        self.store.save_video(record)
        return self.internal(video_id)

    def internal(self, video_id: str) -> dict[str, Any]:
        """The whole internal record (deleted ones too), for tests and debugging."""
        record = self.store.videos.get(video_id)
        if record is None:
            raise video_not_found(video_id)
        render = self.store.renders.get(record.media_key) if record.media_key else None
        failure = record.failure
        return {
            **self.video(record),
            "deleted": record.deleted_at is not None,
            "deleted_at": record.deleted_at,
            "idempotency_key": record.idempotency_key,
            "start_at": record.start_at,
            "end_at": record.end_at,
            "planned_failure": None if failure is None else asdict(failure),
            "media_key": record.media_key,
            "media_ready": render is not None and render.ready_at is not None,
            "render_error": None if render is None else render.error,
            "webhook_notified": record.notified,
        }

    def counters(self) -> dict[str, Any]:
        calls = self.store.counters.calls
        return {
            **{f"{endpoint}_calls": calls.get(endpoint, 0) for endpoint in ENDPOINTS},
            "videos_created": len(self.store.ordered),
            "faults_injected": dict(self.store.counters.faults_injected),
            "idempotency_keys": {
                key: {"calls": entry.calls, "video_id": entry.video_id}
                for key, entry in self.store.idempotency.items()
            },
            "deleted_ids": self.store.deleted_ids(),
        }


def _fingerprint(request: CreateRequest, remixed_from: str | None) -> str:
    if remixed_from is None:
        return request.fingerprint()
    return hashlib.sha256(json.dumps(["remix", remixed_from, request.prompt]).encode()).hexdigest()
