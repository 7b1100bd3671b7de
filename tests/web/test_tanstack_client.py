"""TanStack AI's ``VideoGenerationClient`` (from npm, unchanged) drives ``reelflow serve``.

Starts the server as a real subprocess (auth on, so the client's headers and the signed
result URLs are exercised) and runs ``node --test`` in ``tests/web/node``. Needs
``npm ci`` there first (``.ci/run`` does it); skipped only when ``node`` is not installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from tests.web.conftest import API_TOKEN
from tests.web.servers import ServeProcess, serve_env

pytestmark = pytest.mark.asyncio(loop_scope="session")

NODE_DIR = Path(__file__).parent / "node"
NODE_TIMEOUT_SECONDS = 240


@pytest_asyncio.fixture(loop_scope="session")
async def server(
    settings: ReelflowSettings, reelflow: ReelflowClient, tmp_path: Path
) -> AsyncIterator[ServeProcess]:
    process = ServeProcess(serve_env(settings, api_token=API_TOKEN), tmp_path)
    await process.start()
    try:
        yield process
    finally:
        process.stop()


async def test_tanstack_video_client_against_reelflow_serve(
    server: ServeProcess, settings: ReelflowSettings, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the TanStack client test needs Node.js 20+")
    if not (NODE_DIR / "node_modules" / "@tanstack" / "ai-client").is_dir():
        pytest.fail(f"TanStack packages missing: run `npm ci --prefix {NODE_DIR}` first")

    # The restart test in Node starts (and kills) servers of its own on ports it picks.
    serve_argv = [sys.executable, *server.argv[1:]]
    port_at = serve_argv.index("--port")
    del serve_argv[port_at : port_at + 2]
    env = {
        **os.environ,
        **serve_env(settings, api_token=API_TOKEN),
        "REELFLOW_URL": server.url,
        "REELFLOW_TOKEN": API_TOKEN,
        "REELFLOW_SERVE_ARGV": json.dumps(serve_argv),
        "REELFLOW_LOG_DIR": str(tmp_path),
    }
    process = await asyncio.create_subprocess_exec(
        node,
        "--test",
        "--test-reporter=spec",
        "video-client.test.mjs",
        cwd=NODE_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), NODE_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    report = output.decode(errors="replace")
    print(report)
    assert process.returncode == 0, f"node --test failed:\n{report}\n{server.process.log_tail()}"
    assert re.search(r"\bfail 0\b", report) and re.search(r"\bskipped 0\b", report), report
