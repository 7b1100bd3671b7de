"""Webhook events `video.completed` / `video.failed`, signed the Standard Webhooks way.

While webhooks are configured, one light periodic checker looks at the jobs not yet notified
and, when one reaches a final status, delivers its event: retried with backoff on non-2xx or
connection errors, and sent twice (same `webhook-id`) with `webhook_duplicate_probability`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from simulator.lifecycle import COMPLETED
from simulator.service import VideoService
from simulator.state import VideoRecord

log = logging.getLogger("simulator.webhooks")


def build_event(video_id: str, status: str, now: float) -> dict[str, Any]:
    return {
        "id": "evt_" + secrets.token_hex(16),
        "object": "event",
        "created_at": int(now),
        "type": "video.completed" if status == COMPLETED else "video.failed",
        "data": {"id": video_id},
    }


def signed_headers(secret: str, event_id: str, payload: str) -> dict[str, str]:
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(event_id, now, payload)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


class WebhookNotifier:
    def __init__(self, service: VideoService) -> None:
        self._service = service
        self._pending: set[str] = set()
        self._checker: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._rng = random.Random()
        self.delivered = 0
        service.on_created.append(self._track)

    @property
    def _settings_ready(self) -> bool:
        return self._service.config.webhooks_enabled()

    def _track(self, record: VideoRecord) -> None:
        if self._settings_ready:
            self._pending.add(record.id)
            self.ensure_running()

    def ensure_running(self) -> None:
        """Start the checker if webhooks are configured and it is not running."""
        if not self._settings_ready or (self._checker and not self._checker.done()):
            return
        now = time.time()
        for record in self._service.store.live():
            if not record.notified and not self._service.view(record, now).terminal:
                self._pending.add(record.id)
        self._checker = asyncio.get_running_loop().create_task(self._check_loop())

    async def _check_loop(self) -> None:
        interval = self._service.config.webhook_check_interval
        while self._settings_ready:
            self.check_once()
            await asyncio.sleep(interval)

    def check_once(self) -> None:
        now = time.time()
        store = self._service.store
        for video_id in list(self._pending):
            record = store.videos.get(video_id)
            if record is None or record.deleted_at is not None or record.notified:
                self._pending.discard(video_id)
                continue
            view = self._service.view(record, now)
            if not view.terminal:
                continue
            self._pending.discard(video_id)
            record.notified = True
            store.save_video(record)
            event = build_event(video_id, view.status, now)
            task = asyncio.get_running_loop().create_task(self._deliver(event))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, event: dict[str, Any]) -> None:
        config = self._service.config
        copies = 2 if self._rng.random() < config.webhook_duplicate_probability else 1
        payload = json.dumps(event, separators=(",", ":"))
        for _ in range(copies):
            await self._deliver_once(event["id"], payload)

    async def _deliver_once(self, event_id: str, payload: str) -> None:
        config = self._service.config
        delay = config.webhook_backoff
        for attempt in range(1, config.webhook_max_attempts + 1):
            url, secret = config.webhook_url, config.webhook_secret
            if not url or not secret:
                return
            try:
                response = await self._http().post(
                    url, content=payload, headers=signed_headers(secret, event_id, payload)
                )
                if response.is_success:
                    self.delivered += 1
                    return
                log.warning(
                    "webhook %s attempt %d: HTTP %d", event_id, attempt, response.status_code
                )
            except httpx.HTTPError as exc:
                log.warning("webhook %s attempt %d: %s", event_id, attempt, exc)
            if attempt < config.webhook_max_attempts:
                await asyncio.sleep(delay)
                delay *= 2
        log.error(
            "webhook %s not delivered after %d attempts", event_id, config.webhook_max_attempts
        )

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._service.config.webhook_timeout)
        return self._client

    def reset(self) -> None:
        self._pending.clear()

    async def stop(self) -> None:
        tasks = [*self._deliveries, *([self._checker] if self._checker else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
