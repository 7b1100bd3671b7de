"""A byte-for-byte TCP proxy in front of the simulator that timestamps every HTTP exchange.

The simulator counts calls but keeps no per-call log with times, so scenario 4 puts this proxy
between the worker and the simulator to measure the gap between a 429 and the retry of the same
call. It forwards raw bytes (a dropped or truncated upstream connection is dropped or truncated
for the client too) and only reads the heads: request heads are found by their
``Content-Length`` (reelflow's client never sends chunked bodies), a response head is whatever
the upstream sends first after a request. It runs its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass

from starter.processes import free_port

HEAD_END = b"\r\n\r\n"


@dataclass
class Exchange:
    """One request and (if any arrived) the head of its response."""

    connection: int
    method: str
    target: str
    sent_at: float
    idempotency_key: str | None = None
    status: int | None = None
    answered_at: float | None = None
    retry_after: float | None = None

    @property
    def call(self) -> tuple[str, str, str | None]:
        """What identifies 'the same call' when it is retried."""
        return self.method, self.target, self.idempotency_key


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


class RecordingProxy:
    """``with RecordingProxy(upstream_port) as proxy``: listen on ``proxy.port``, log exchanges."""

    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream_port = upstream_port
        self.host = host
        self.port = free_port()
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recording-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("recording proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, self.host, self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._connections += 1
        connection = self._connections
        try:
            upstream_r, upstream_w = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            client_w.close()
            return
        pending: list[Exchange] = []
        upward = asyncio.create_task(self._requests(client_r, upstream_w, connection, pending))
        downward = asyncio.create_task(self._responses(upstream_r, client_w, pending))
        await asyncio.wait({upward, downward}, return_when=asyncio.FIRST_COMPLETED)
        for task in (upward, downward):
            task.cancel()
        for writer in (client_w, upstream_w):
            writer.close()

    async def _requests(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: int,
        pending: list[Exchange],
    ) -> None:
        buffer = b""
        body_left = 0
        while True:
            data = await reader.read(65536)
            if not data:
                return
            writer.write(data)
            await writer.drain()
            buffer += data
            while buffer:
                if body_left:
                    skipped = min(body_left, len(buffer))
                    buffer, body_left = buffer[skipped:], body_left - skipped
                    continue
                end = buffer.find(HEAD_END)
                if end < 0:
                    break
                head, buffer = buffer[:end], buffer[end + len(HEAD_END) :]
                start_line, headers = _headers(head)
                method, target, *_ = start_line.split(" ")
                exchange = Exchange(
                    connection,
                    method,
                    target,
                    time.monotonic(),
                    idempotency_key=headers.get("idempotency-key"),
                )
                body_left = int(headers.get("content-length", "0") or 0)
                with self._lock:
                    self.exchanges.append(exchange)
                pending.append(exchange)

    async def _responses(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pending: list[Exchange]
    ) -> None:
        buffer = b""
        while True:
            data = await reader.read(65536)
            if not data:
                return
            # Read the head before forwarding: the client sends its next request only after
            # it has this response, so any bytes without a waiting request are body bytes.
            waiting = next((e for e in pending if e.status is None), None)
            if waiting is not None:
                buffer += data
                end = buffer.find(HEAD_END)
                if end >= 0:
                    start_line, headers = _headers(buffer[:end])
                    buffer = b""
                    with self._lock:
                        waiting.status = int(start_line.split(" ")[1])
                        waiting.answered_at = time.monotonic()
                        waiting.retry_after = _retry_after(headers)
                    pending.remove(waiting)
            writer.write(data)
            await writer.drain()


def _retry_after(headers: dict[str, str]) -> float | None:
    """The delay the client is asked to wait, as reelflow's client reads it (ms first)."""
    with contextlib.suppress(ValueError):
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    return None
