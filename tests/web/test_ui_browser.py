"""A real browser on the Temporal Web UI page of a running job.

Headless Chromium (Debian's ``chromium`` package, driven by the ``playwright`` package, no browser
download) opens the dev server's UI while a job is processing, waits for the job's summary and
live details to render (the UI is a single-page app: a bare ``--screenshot`` captures a blank
page) and takes a screenshot. ``REELFLOW_UPDATE_SCREENSHOT=1`` also writes it to
``docs/ui-job.png`` (the README's picture); otherwise it stays in the test's temp directory, so
running the suite leaves the work tree clean.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.processes import bin_path
from starter.worker import video_worker
from tests.conftest import TEST_API_KEY
from tests.support.polling import eventually
from tests.support.simulator import SimulatorProcess, free_port
from workflows.search_attributes import ALL_KEYS

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "ui-job.png"
PROMPT = "A golden retriever surfs a turquoise wave at sunset, slow motion, spray in the light"


@dataclass
class UiStack:
    reelflow: ReelflowClient
    ui_url: str


@pytest.fixture(scope="module")
def slow_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    """A simulator slow enough (a 12 s video takes ~24 s) to find the job still processing."""
    db = tmp_path_factory.mktemp("slow-simulator") / "simulator.db"
    with SimulatorProcess(speed=0.5, db=db, api_key=TEST_API_KEY) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ui_stack(
    settings: ReelflowSettings, slow_simulator: SimulatorProcess
) -> AsyncIterator[UiStack]:
    """Its own dev server with the Web UI on a free port, and a worker on it."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")
    ui_port = free_port()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(bin_path("temporal")),
        data_converter=pydantic_data_converter,
        search_attributes=ALL_KEYS,
        ui=True,
        ui_port=ui_port,
        dev_server_log_level="error",
    )
    ui_url = f"http://127.0.0.1:{ui_port}"
    own = settings.model_copy(
        update={
            "temporal_address": env.client.service_client.config.target_host,
            "temporal_ui_url": ui_url,
            "openai_base_url": slow_simulator.base_url,
        }
    )
    try:
        async with video_worker(env.client, own):
            yield UiStack(ReelflowClient(env.client, own), ui_url)
    finally:
        await env.shutdown()


async def rendered_markdown(page: Page) -> str:
    """The text of the UI's Markdown panes (summary, details, current details: one iframe each).

    Typographic quotes are made straight again, so the text compares with what was sent.
    """
    texts = []
    for frame in page.main_frame.child_frames:
        try:
            texts.append(await frame.inner_text("body"))
        except PlaywrightError:  # a pane still loading
            continue
    return "\n".join(texts).replace("\u201c", '"').replace("\u201d", '"')


async def test_ui_page_of_a_running_job_shows_its_summary(
    ui_stack: UiStack, tmp_path: Path
) -> None:
    reelflow = ui_stack.reelflow
    job = await reelflow.generate_video(PROMPT, seconds=12, polling_interval=1)
    job_id = job.job_id
    status = await eventually(
        job.status, lambda s: s.status == "processing" and s.progress >= 5, what="processing"
    )
    summary = f'sora-2 · 1280x720 · 12s · "{PROMPT}"'
    history_url = reelflow.settings.workflow_ui_url(job_id, job.run_id)
    screenshot = tmp_path / "ui-job.png"

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 960})
            # Event history: the started event shows the summary, each step its own summary.
            await page.goto(history_url)
            for text in (summary, "create video job", "poll status (attempt 1)", "wait 1s"):
                await page.get_by_text(text, exact=True).first.wait_for(timeout=30_000)
            history = await page.inner_text("body")

            # User Metadata: summary, details and the live current details, as Markdown.
            await page.goto(history_url.removesuffix("/history") + "/user-metadata")
            metadata = await eventually(
                lambda: rendered_markdown(page),
                lambda text: summary in text and f"{status.provider_job_id}" in text,
                timeout=30,
                interval=0.2,
                what="summary, details and current details rendered",
            )
            await page.screenshot(path=str(screenshot))
        finally:
            await browser.close()

    assert job_id in history and "RUNNING" in history
    assert "Video request" in metadata and PROMPT in metadata
    assert "processing" in metadata and "polls so far:" in metadata
    for text in (history, metadata):
        assert TEST_API_KEY not in text
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("REELFLOW_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(screenshot, DOCS_SCREENSHOT)

    await job.cancel("screenshot taken")
    await eventually(job.status, lambda s: s.is_terminal, what="the job to end")
