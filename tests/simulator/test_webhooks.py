"""Signed `video.completed` / `video.failed` events, retries and duplicates."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.simulator.helpers import create
from tests.support.simulator import SimulatorProcess, wait_until

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


class Receiver:
    """A tiny webhook endpoint on loopback that records deliveries and can fail some."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= 1 if failing else 0
                    if not failing:
                        receiver.deliveries.append((dict(self.headers.items()), body))
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events_for(self, video_id: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
        with self.lock:
            found = []
            for headers, body in self.deliveries:
                event = json.loads(body)
                if event["data"]["id"] == video_id:
                    found.append((headers, event))
            return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(sim: SimulatorProcess) -> Iterator[Receiver]:
    receiver = Receiver()
    sim.configure(webhook_url=receiver.url, webhook_secret=SECRET, webhook_backoff=0.05)
    yield receiver
    sim.configure(webhook_url=None, webhook_secret=None, webhook_duplicate_probability=0.0)
    receiver.close()


def test_completed_event_is_signed(receiver: Receiver, api: httpx.Client) -> None:
    video = create(api)
    events = wait_until(lambda: receiver.events_for(video["id"]), timeout=20, message="event")
    headers, event = events[0]
    verified = Webhook(SECRET).verify(json.dumps(event, separators=(",", ":")), headers)
    assert verified["type"] == "video.completed"
    assert verified["object"] == "event"
    assert verified["id"].startswith("evt_") and verified["id"] == headers["webhook-id"]
    assert verified["data"] == {"id": video["id"]}
    assert isinstance(verified["created_at"], int)


def test_raw_body_verifies(receiver: Receiver, api: httpx.Client) -> None:
    video = create(api, "raw body check #moderation")
    wait_until(lambda: receiver.events_for(video["id"]), timeout=20, message="event")
    with receiver.lock:
        raw = [(h, b) for h, b in receiver.deliveries if video["id"].encode() in b]
    headers, body = raw[0]
    event = Webhook(SECRET).verify(body, headers)
    assert event["type"] == "video.failed"
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(body.replace(b"failed", b"complet"), headers)


def test_duplicates_share_the_webhook_id(
    sim: SimulatorProcess, receiver: Receiver, api: httpx.Client
) -> None:
    sim.configure(webhook_duplicate_probability=1.0)
    video = create(api)
    events = wait_until(
        lambda: (found := receiver.events_for(video["id"])) and len(found) >= 2 and found,
        timeout=20,
        message="two deliveries",
    )
    assert events[0][0]["webhook-id"] == events[1][0]["webhook-id"]
    assert events[0][1] == events[1][1]


def test_failed_deliveries_are_retried(receiver: Receiver, api: httpx.Client) -> None:
    receiver.fail_next = 2
    video = create(api)
    events = wait_until(lambda: receiver.events_for(video["id"]), timeout=20, message="retry")
    assert len(events) == 1
    assert receiver.fail_next == 0
