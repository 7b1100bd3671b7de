"""Fixtures of the HTTP API tests: the app served by uvicorn on loopback, auth off and on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from pydantic import SecretStr

from starter.client import ReelflowClient
from starter.config import ReelflowSettings
from starter.http_app import create_app
from tests.web.servers import running_app

API_TOKEN = "rf-test-token-9f8e7d6c5b4a"
ALLOWED_ORIGIN = "http://app.example"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api_url(settings: ReelflowSettings, reelflow: ReelflowClient) -> AsyncIterator[str]:
    """Auth off, CORS for one origin, a small body limit, fast keep-alives."""
    app_settings = settings.model_copy(
        update={"cors_origins": ALLOWED_ORIGIN, "max_body_bytes": 64 * 1024}
    )
    app = create_app(app_settings, reelflow, ping_interval=0.3, watch_interval=0.05)
    async with running_app(app) as url:
        yield url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def secured_api_url(
    settings: ReelflowSettings, reelflow: ReelflowClient
) -> AsyncIterator[str]:
    """The same API with ``REELFLOW_API_TOKEN`` set."""
    app_settings = settings.model_copy(update={"api_token": SecretStr(API_TOKEN)})
    async with running_app(create_app(app_settings, reelflow, watch_interval=0.05)) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        yield client
