"""The stored video served so a ``<video>`` element can seek: lengths, ranges, 416."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from starter.config import ReelflowSettings

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def stored(api_url: str, settings: ReelflowSettings) -> tuple[str, bytes]:
    """(content URL, the stored file's bytes) of one finished video."""
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        response = await http.post(
            "/api/video/generate", json={"prompt": "a river", "pollingInterval": 200}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    path = Path(settings.videos_dir) / body["jobId"] / "video.mp4"
    return body["url"], path.read_bytes()


async def test_the_whole_file(http: httpx.AsyncClient, stored: tuple[str, bytes]) -> None:
    url, data = stored
    response = await http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(data)
    assert response.content == data and data[4:8] == b"ftyp"
    head = await http.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(data)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, -1), ("bytes=-500", -500, -1)],
)
async def test_ranges_are_served_as_206(
    http: httpx.AsyncClient, stored: tuple[str, bytes], header: str, first: int, last: int
) -> None:
    url, data = stored
    start = first % len(data)
    end = last % len(data)
    response = await http.get(url, headers={"Range": header})
    assert response.status_code == 206
    assert response.content == data[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
    assert int(response.headers["content-length"]) == end - start + 1


async def test_a_seek_to_the_middle(http: httpx.AsyncClient, stored: tuple[str, bytes]) -> None:
    url, data = stored
    middle = len(data) // 2
    response = await http.get(url, headers={"Range": f"bytes={middle}-{middle + 4095}"})
    assert response.status_code == 206 and response.content == data[middle : middle + 4096]


async def test_ranges_past_the_end_are_416(
    http: httpx.AsyncClient, stored: tuple[str, bytes]
) -> None:
    url, data = stored
    for header in (f"bytes={len(data)}-", f"bytes={len(data) + 10}-{len(data) + 20}"):
        response = await http.get(url, headers={"Range": header})
        assert response.status_code == 416, header
        assert response.headers["content-range"] == f"bytes */{len(data)}"


async def test_the_thumbnail_variant(http: httpx.AsyncClient, stored: tuple[str, bytes]) -> None:
    url, _ = stored
    response = await http.get(url, params={"variant": "thumbnail"})
    assert response.status_code == 200 and response.headers["content-type"] == "image/webp"
    assert (await http.get(url, params={"variant": "../secret"})).status_code == 422
