"""Renders media off the event loop, once per (prompt, size, seconds).

Rendering is CPU-bound: by default it runs in a small process pool so that it never competes
with request handling for the GIL (`render_mode="thread"` keeps it in-process). Identical
requests share one render via `simulator.media.media_cache_key`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Literal

from simulator.state import RenderRecord, Store

log = logging.getLogger("simulator.rendering")

RenderedPaths = tuple[str, str, str]


def render_to_paths(
    prompt: str, width: int, height: int, seconds: int, out_dir: str, fps: int
) -> RenderedPaths:
    """Run in a worker: render (or reuse) the media and return their paths."""
    from simulator.media import render_media

    media = render_media(prompt, width, height, seconds, Path(out_dir), fps=fps)
    return str(media.video), str(media.thumbnail), str(media.spritesheet)


def cache_key(prompt: str, width: int, height: int, seconds: int) -> str:
    """The media module's cache key; a local hash only if that module is unavailable."""
    try:
        from simulator.media import media_cache_key
    except ImportError:
        text = json.dumps([prompt, width, height, seconds])
        return "k" + hashlib.sha256(text.encode()).hexdigest()[:32]
    return media_cache_key(prompt, width, height, seconds)


def _warm_up() -> None:
    """Import the media stack in a fresh worker before the first job needs it."""
    import simulator.media  # noqa: F401


def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: a render worker must not outlive a killed simulator."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class Renderer:
    """Schedules renders and records their outcome in the store."""

    def __init__(
        self,
        store: Store,
        media_dir: Path,
        *,
        workers: int,
        mode: Literal["process", "thread"],
        fps: int,
        on_ready: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._media_dir = media_dir
        self._workers = workers
        self._mode = mode
        self._fps = fps
        self._on_ready = on_ready
        self._executor: concurrent.futures.Executor | None = None
        self._inflight: dict[str, asyncio.Task[None]] = {}

    def start(self) -> None:
        self._media_dir.mkdir(parents=True, exist_ok=True)
        cache_key("warm-up", 16, 16, 4)  # import the media stack now, not on the first create
        self._executor = self._new_executor()
        self._executor.submit(_warm_up)

    def _new_executor(self) -> concurrent.futures.Executor:
        if self._mode == "thread":
            return concurrent.futures.ThreadPoolExecutor(self._workers, thread_name_prefix="render")
        return concurrent.futures.ProcessPoolExecutor(
            self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )

    def ensure(self, key: str, prompt: str, width: int, height: int, seconds: int) -> None:
        """Start rendering `key` unless it was rendered (or failed: final) or is rendering."""
        if key in self._store.renders or key in self._inflight:
            return
        task = asyncio.get_running_loop().create_task(
            self._render(key, prompt, width, height, seconds), name=f"render-{key}"
        )
        self._inflight[key] = task

    async def _render(self, key: str, prompt: str, width: int, height: int, seconds: int) -> None:
        out_dir = str(self._media_dir / key)
        try:
            paths = await self._run(prompt, width, height, seconds, out_dir)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed render fails its jobs, never the server
            log.exception("render %s failed", key)
            self._store.save_render(RenderRecord(key, error=f"{type(exc).__name__}: {exc}"))
        else:
            video, thumbnail, spritesheet = paths
            self._store.save_render(RenderRecord(key, time.time(), video, thumbnail, spritesheet))
        finally:
            self._inflight.pop(key, None)
        if self._on_ready:
            self._on_ready(key)

    async def _run(
        self, prompt: str, width: int, height: int, seconds: int, out_dir: str
    ) -> RenderedPaths:
        loop = asyncio.get_running_loop()
        args = (prompt, width, height, seconds, out_dir, self._fps)
        for attempt in (1, 2):
            executor = self._executor
            assert executor is not None, "Renderer.start() was not called"
            try:
                return await loop.run_in_executor(executor, render_to_paths, *args)
            except BrokenProcessPool:
                if attempt == 2:
                    raise
                log.warning("render pool broke; starting a new one")
                if self._executor is executor:
                    executor.shutdown(wait=False, cancel_futures=True)
                    self._executor = self._new_executor()
        raise AssertionError("unreachable")

    async def stop(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        self._inflight.clear()
        executor, self._executor = self._executor, None
        if executor is not None:  # waiting lets the pool release its semaphores cleanly
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
